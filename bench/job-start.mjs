// Job start overhead, the fourth part of `npm run bench`: the time from the run call to the recipe's
// first output line, against the bare interpreter start, in one run:
//   (a) a job       POST …/recipes/print/run on `coffer serve` (SQLite), the recipe `print(1)` in Python,
//                   sandboxed (bubblewrap, the runner's own account when run as root, limits): from just
//                   before the call to the `at` stamp of its first stdout chunk (the server's clock, the
//                   same machine's), read back from the job's log;
//   (b) unsandboxed the same with COFFER_SANDBOX=off, so the sandbox's own share shows;
//   (c) bare        `python3 -c 'print(1)'` spawned here, to its first byte on stdout.
// The three are measured in turn (a, b, c, a, b, c, …) so that a busy moment of the machine falls on all
// of them; medians of BENCH_JOB_RUNS (25) after 3 warm-up rounds. Prints the ratio a/c and the
// milliseconds the job adds over the bare interpreter, against the target of under 25 ms added.

import { spawn } from 'node:child_process';
import {
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

const TARGET_ADDED_MS = 25;
const PYTHON = '/usr/bin/python3';
installCleanupHandlers();

/** Starts a server with one user, one project and the `print(1)` recipe. */
async function jobServer(label, env) {
  const dataDir = makeTempDir('coffer-bench-jobs-');
  const workDir = makeTempDir('coffer-bench-jobs-work-');
  const all = { COFFER_JOB_WORK_DIR: workDir, COFFER_LOG_LEVEL: 'warn', ...env };
  const key = await createUserAndKey(dataDir, 'bench', all);
  const server = await startCoffer({ dataDir, env: all, label });
  await callJson(server.url, key, 'POST', '/api/v1/projects', { key: 'BENCH', name: 'Bench' });
  await callJson(server.url, key, 'PUT', '/api/v1/projects/BENCH/recipes/print', {
    language: 'python',
    code: 'print(1)\n',
  });
  return { server, key };
}

/** One job: ms from the run call to its first stdout chunk. */
async function timeJob({ server, key }) {
  const started = Date.now();
  const job = await callJson(server.url, key, 'POST', '/api/v1/projects/BENCH/recipes/print/run', {});
  for (;;) {
    const { job: state, chunks } = await callJson(
      server.url,
      key,
      'GET',
      `/api/v1/jobs/${job.id}/log?limit=100`,
    );
    if (!['queued', 'running'].includes(state.state)) {
      if (state.state !== 'succeeded') throw new Error(`the bench job ${state.state}: ${state.error}`);
      const first = chunks.find((c) => c.stream === 'stdout');
      if (!first) throw new Error('the bench job printed nothing');
      return first.at - started;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The bare interpreter: ms from spawn to the first byte on stdout. */
function timeBare() {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(PYTHON, ['-c', 'print(1)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    child.once('error', reject);
  });
}

/** Each target in turn, round after round: the times of each, round by round. */
async function measure(targets, runs) {
  phase(`3 warm-up rounds, then ${runs} rounds of ${targets.map((t) => t.label).join(', ')}`);
  const ms = targets.map(() => []);
  for (let round = -3; round < runs; round++) {
    for (const [i, t] of targets.entries()) {
      const took = await t.once();
      if (round >= 0) ms[i].push(took);
    }
  }
  return ms;
}

const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

async function main() {
  const runs = intFromEnv('BENCH_JOB_RUNS', 25, 3, 1000);
  const facts = machineFacts();
  const sandboxed = await jobServer('coffer serve (sandbox)', {});
  const plain = await jobServer('coffer serve (COFFER_SANDBOX=off)', { COFFER_SANDBOX: 'off' });
  const [as, bs, cs] = await measure(
    [
      { label: '(a) job in the sandbox', once: () => timeJob(sandboxed) },
      { label: '(b) job without the sandbox', once: () => timeJob(plain) },
      { label: '(c) bare interpreter', once: timeBare },
    ],
    runs,
  );
  const [a, b, c] = [as, bs, cs].map(summary);
  // Paired within each round, so a busy moment of the machine cancels out of the difference.
  const added = median(as.map((x, i) => x - cs[i]));
  const bySandbox = median(as.map((x, i) => x - bs[i]));
  await stopCoffer(sandboxed.server);
  await stopCoffer(plain.server);

  const row = (label, m) =>
    `| ${label.padEnd(46)} | ${m.median.toFixed(1).padStart(6)} | ${m.min.toFixed(1).padStart(6)} | ${m.max.toFixed(1).padStart(6)} |`;
  console.log(
    `\nJob start overhead — ${facts.cpus}, ${facts.memory}, Node ${facts.node}, load ${facts.loadavg}`,
  );
  console.log(
    `run as ${process.getuid?.() === 0 ? 'root (each user’s own account)' : 'an ordinary account'}`,
  );
  console.log(`| ${'target (ms to the first output line)'.padEnd(46)} | median |    min |    max |`);
  console.log(`| ${'-'.repeat(46)} | -----: | -----: | -----: |`);
  console.log(row('(a) job, sandboxed (bubblewrap, account, limits)', a));
  console.log(row('(b) job, COFFER_SANDBOX=off', b));
  console.log(row(`(c) bare ${PYTHON} -c 'print(1)'`, c));
  console.log(
    `\na/c = ${(a.median / c.median).toFixed(2)}; the job adds ${added.toFixed(1)} ms over the bare interpreter ` +
      `(the sandbox ${bySandbox.toFixed(1)} ms of it; medians of the differences within each round); target: under ${TARGET_ADDED_MS} ms added — ` +
      `${added < TARGET_ADDED_MS ? 'PASS' : 'NOT MET'}`,
  );
}

main()
  .catch((err) => {
    console.error(`bench: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(cleanup);
