/*
 * The kernel bridge (clients/jupyter/coffer_kernel_bridge.py, docs/adr/0020) runs a real Jupyter kernel
 * from Debian and relays its messages as JSON lines: it says when the kernel is ready, carries an
 * execute request in and the kernel's answers out (each naming its channel and its parent), and shuts
 * the kernel down when its input ends. Run here directly; Coffer runs it in the sandbox. No store is
 * involved, so this runs once.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const BRIDGE = path.resolve('clients/jupyter/coffer_kernel_bridge.py');
const PYTHON = '/usr/bin/python3';
/** The kernels jupyter_client finds on this machine (Debian installs python3 and ir). */
const installed: string[] = (() => {
  const r = spawnSync(
    PYTHON,
    [
      '-c',
      'import json; from jupyter_client.kernelspec import KernelSpecManager as M; print(json.dumps(list(M().find_kernel_specs())))',
    ],
    { encoding: 'utf8' },
  );
  try {
    return JSON.parse(r.stdout) as string[];
  } catch {
    return [];
  }
})();
const has = (kernel: string) => installed.includes(kernel);
const CI = Boolean(process.env.CI);
const missing = ['python3', 'ir'].filter((k) => !has(k));
if (missing.length > 0 && !CI)
  console.warn(
    `\n!! Jupyter kernels ${missing.join(', ')} are not installed (python3-ipykernel, r-cran-irkernel): SKIPPING their bridge tests. On CI this fails.\n`,
  );

interface Message {
  channel?: string;
  bridge?: string;
  msg_type?: string;
  parent_header?: { msg_id?: string };
  content?: Record<string, unknown>;
  [k: string]: unknown;
}

class Bridge {
  readonly lines: Message[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.lines.push(JSON.parse(line) as Message);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr.resume();
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  async until(test: (m: Message) => boolean, what: string, timeoutMs = 60_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(test);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${what} in ${JSON.stringify(this.lines).slice(0, 2000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }
  execute(code: string): string {
    const id = randomUUID();
    const msg = {
      header: {
        msg_id: id,
        session: 'test',
        username: 'test',
        msg_type: 'execute_request',
        version: '5.3',
        date: '',
      },
      parent_header: {},
      metadata: {},
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false },
    };
    this.child.stdin.write(`${JSON.stringify({ channel: 'shell', msg })}\n`);
    return id;
  }
}

describe('the kernel bridge', () => {
  let dir: string | undefined;
  let bridge: Bridge | undefined;
  afterEach(() => {
    bridge?.child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const start = (kernel: string) => {
    dir = mkdtempSync(path.join(tmpdir(), 'coffer-bridge-'));
    bridge = new Bridge(
      spawn(PYTHON, [BRIDGE, kernel], {
        cwd: dir,
        env: { PATH: '/usr/bin:/bin', HOME: dir, TMPDIR: dir, LANG: 'C.UTF-8' },
      }),
    );
    return bridge;
  };

  for (const [kernel, code, shown] of [
    ['python3', '1 + 1', '2'],
    ['ir', '1 + 1', '[1] 2'],
  ] as const) {
    it.skipIf(missing.includes(kernel) && !CI)(
      `runs a ${kernel} kernel: ready, an execution's answers by channel and parent, shut down at end of input`,
      async () => {
        const b = start(kernel);
        const ready = await b.until((m) => m.bridge === 'ready', 'ready line');
        expect(ready.kernel_info).toMatchObject({ status: 'ok' });
        const id = b.execute(
          `print("hello from ${kernel}"); ${code}`.replace('; ', kernel === 'ir' ? '\n' : '; '),
        );
        const ofIt = (m: Message) => m.parent_header?.msg_id === id;
        // IRkernel shows a value as display_data, ipykernel as execute_result.
        const result = await b.until(
          (m) => ofIt(m) && ['execute_result', 'display_data'].includes(m.msg_type!),
          'the value',
        );
        expect(result.channel).toBe('iopub');
        expect((result.content!.data as Record<string, string>)['text/plain']).toBe(shown);
        const stream = await b.until((m) => ofIt(m) && m.msg_type === 'stream', 'stream');
        expect(stream.content!.text).toContain(`hello from ${kernel}`);
        const reply = await b.until((m) => ofIt(m) && m.msg_type === 'execute_reply', 'execute_reply');
        expect(reply.channel).toBe('shell');
        expect(reply.content!.status).toBe('ok');
        b.child.stdin.end();
        expect(await b.exited).toBe(0);
      },
      90_000,
    );
  }

  it.skipIf(missing.includes('python3') && !CI)(
    'says so, and keeps the kernel, when a line is not a message',
    async () => {
      const b = start('python3');
      await b.until((m) => m.bridge === 'ready', 'ready line');
      b.child.stdin.write('not json\n');
      await b.until((m) => m.bridge === 'bad-input', 'bad-input line');
      const id = b.execute('40 + 2');
      const result = await b.until(
        (m) => m.parent_header?.msg_id === id && m.msg_type === 'execute_result',
        'execute_result',
      );
      expect((result.content!.data as Record<string, string>)['text/plain']).toBe('42');
    },
    90_000,
  );
});
