// Kernel start to first result, part of `npm run bench` (docs/adr/0020): the time from opening a
// notebook session to the result of `1+1`, in one run:
//   (a) Coffer      POST /jupyter/api/sessions on `coffer serve` (SQLite), then execute_request `1+1`
//                   over the kernel's WebSocket, to its execute_result: the kernel in the sandbox, as its
//                   user, beside its bridge, with its ticket, the messages masked;
//   (b) bare        Debian's jupyter_client starting the same kernel (python3) here, waiting until it is
//                   ready, and running `1+1` to its execute_result: the same kernel with no Coffer.
// The two run in turn, BENCH_KERNEL_RUNS (8) rounds after one warm-up; medians, and the ratio a/b.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  basicAuth,
  callJson,
  median,
  cleanup,
  createUserAndKey,
  installCleanupHandlers,
  intFromEnv,
  machineFacts,
  makeTempDir,
  phase,
  startCoffer,
  stopCoffer,
} from './lib.mjs';

installCleanupHandlers();

/** (a): ms from the session call to the result of 1+1 over the kernel's WebSocket; then closes it. */
async function timeCoffer({ url, key }) {
  const started = performance.now();
  const session = await callJson(url, key, 'POST', '/jupyter/api/sessions', { path: 'BENCH/bench.ipynb' });
  const ws = new WebSocket(
    `${url.replace(/^http/, 'ws')}/jupyter/api/kernels/${session.kernel.id}/channels`,
    {
      headers: { authorization: basicAuth(key) },
    },
  );
  const id = randomUUID();
  const took = await new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.parent_header?.msg_id === id && m.msg_type === 'execute_result')
        resolve(performance.now() - started);
    });
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          channel: 'shell',
          header: {
            msg_id: id,
            session: 'bench',
            username: 'bench',
            msg_type: 'execute_request',
            version: '5.3',
            date: '',
          },
          parent_header: {},
          metadata: {},
          content: {
            code: '1+1',
            silent: false,
            store_history: false,
            user_expressions: {},
            allow_stdin: false,
          },
        }),
      ),
    );
  });
  ws.close();
  await callJson(url, key, 'DELETE', `/jupyter/api/sessions/${session.id}`);
  return took;
}

/** (b): the same kernel started and asked 1+1 with Debian's jupyter_client alone; ms it took. */
const BARE = `
import time, jupyter_client
t = time.monotonic()
km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
msg_id = kc.execute("1+1")
while True:
    m = kc.get_iopub_msg(timeout=60)
    if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_result":
        break
print((time.monotonic() - t) * 1000)
kc.stop_channels(); km.shutdown_kernel(now=True)
`;
function timeBare(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', BARE], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', HOME: dir, PYDEVD_DISABLE_FILE_VALIDATION: '1', LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`bare kernel: exit ${code}`)),
    );
  });
}

async function main() {
  const runs = intFromEnv('BENCH_KERNEL_RUNS', 8, 2, 100);
  const facts = machineFacts();
  const dataDir = makeTempDir('coffer-bench-kernels-');
  const env = { COFFER_JOB_WORK_DIR: makeTempDir('coffer-bench-kernels-work-'), COFFER_LOG_LEVEL: 'warn' };
  const key = await createUserAndKey(dataDir, 'bench', env);
  const server = await startCoffer({ dataDir, env, label: 'coffer serve (kernels)' });
  await callJson(server.url, key, 'POST', '/api/v1/projects', { key: 'BENCH', name: 'Bench' });
  await callJson(server.url, key, 'PUT', '/api/v1/projects/BENCH/notebooks/bench', { language: 'python' });
  const bareDir = makeTempDir('coffer-bench-kernels-bare-');
  phase(`1 warm-up round, then ${runs} rounds of (a) Coffer and (b) bare jupyter_client`);
  const as = [];
  const bs = [];
  for (let round = -1; round < runs; round++) {
    const a = await timeCoffer({ url: server.url, key });
    const b = await timeBare(bareDir);
    if (round < 0) continue;
    as.push(a);
    bs.push(b);
  }
  await stopCoffer(server);
  const a = median(as);
  const b = median(bs);
  console.log(
    `\nKernel start to first result — ${facts.cpus}, ${facts.memory}, Node ${facts.node}, load ${facts.loadavg}`,
  );
  console.log(`| target (ms from open to the result of 1+1)          | median |    min |    max |`);
  console.log(`| --------------------------------------------------- | -----: | -----: | -----: |`);
  const row = (label, xs) =>
    `| ${label.padEnd(51)} | ${median(xs).toFixed(0).padStart(6)} | ${Math.min(...xs)
      .toFixed(0)
      .padStart(6)} | ${Math.max(...xs)
      .toFixed(0)
      .padStart(6)} |`;
  console.log(row('(a) Coffer session, sandboxed kernel, WebSocket', as));
  console.log(row('(b) bare jupyter_client, same kernel', bs));
  console.log(`\na/b = ${(a / b).toFixed(2)}; Coffer adds ${(a - b).toFixed(0)} ms (medians)`);
}

main()
  .catch((err) => {
    console.error(`kernel benchmark failed: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
  })
  .finally(cleanup);
