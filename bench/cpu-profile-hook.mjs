// Loaded with `node --import bench/cpu-profile-hook.mjs …` into a server that bench/profile.mjs profiles.
// SIGUSR2 starts the V8 CPU profiler (then writes <BENCH_CPU_PROFILE>.started); the next SIGUSR2 stops
// it and writes the profile to BENCH_CPU_PROFILE (a .cpuprofile JSON, as `node --cpu-prof` writes).
// Unlike --cpu-prof, only the load window is profiled: no start-up, no set-up requests. The number of
// HTTP requests that arrived in the window is written to <BENCH_CPU_PROFILE>.requests.

import { subscribe } from 'node:diagnostics_channel';
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.BENCH_CPU_PROFILE;
const interval = Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US ?? 250);

if (out) {
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  let running = false;
  let requests = 0;
  subscribe('http.server.request.start', () => {
    if (running) requests++;
  });
  let busy = Promise.resolve();
  process.on('SIGUSR2', () => {
    busy = busy
      .then(async () => {
        if (!running) {
          await post('Profiler.enable');
          await post('Profiler.setSamplingInterval', { interval });
          await post('Profiler.start');
          requests = 0;
          running = true;
          writeFileSync(`${out}.started`, String(Date.now()));
        } else {
          const { profile } = await post('Profiler.stop');
          running = false;
          writeFileSync(`${out}.requests`, String(requests));
          // Written whole, then renamed: the profiler polls for the final name.
          writeFileSync(`${out}.tmp`, JSON.stringify(profile));
          renameSync(`${out}.tmp`, out);
        }
      })
      .catch((err) => process.stderr.write(`cpu-profile-hook: ${err.message}\n`));
  });
}
