import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Coffer's end of the coffer-only network: a Unix socket that sandboxes get bound in (a socket file
 * crosses network namespaces; TCP does not), carrying each connection to Coffer's own listening
 * address, beside the relay script that runs inside (sandbox-relay.ts).
 */

export interface CofferRelay {
  /** The directory bound into sandboxes: the socket and the script. */
  readonly dir: string;
  readonly socket: string;
  readonly script: string;
  close(): Promise<void>;
}

const SOCKET = 'coffer.sock';
const SCRIPT = 'sandbox-relay.js';

export async function startCofferRelay(
  workRoot: string,
  target: () => { host: string; port: number },
): Promise<CofferRelay> {
  mkdirSync(workRoot, { recursive: true, mode: 0o711 });
  const dir = mkdtempSync(path.join(workRoot, 'relay-'));
  chmodSync(dir, 0o755);
  copyFileSync(fileURLToPath(new URL(`./${SCRIPT}`, import.meta.url)), path.join(dir, SCRIPT));
  chmodSync(path.join(dir, SCRIPT), 0o644);
  const open = new Set<net.Socket>();
  const server = net.createServer((code) => {
    open.add(code);
    code.on('close', () => open.delete(code));
    const t = target();
    const coffer = net.connect(t.port, t.host.replace(/^\[(.*)\]$/, '$1'));
    const end = () => {
      code.destroy();
      coffer.destroy();
    };
    code.on('error', end).on('close', end);
    coffer.on('error', end).on('close', end);
    code.pipe(coffer).pipe(code);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path.join(dir, SOCKET), () => resolve());
  });
  // Every account's code may connect: what it reaches is Coffer's API, which asks for credentials.
  chmodSync(path.join(dir, SOCKET), 0o666);
  return {
    dir,
    socket: SOCKET,
    script: SCRIPT,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
