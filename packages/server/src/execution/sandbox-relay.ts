import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import net from 'node:net';

/*
 * Runs inside a sandbox that has no network but loopback (COFFER_SANDBOX_NETWORK=coffer-only): listens
 * on 127.0.0.1:PORT, where code expects Coffer, carries each connection to Coffer's socket (bound into
 * the sandbox), and runs the code as its child, exiting as it exits. It is the sandbox's only way out,
 * and it leads to Coffer alone. Usage: node sandbox-relay.js PORT SOCKET -- COMMAND [ARGS...]
 */

const [port, socket, separator, command, ...args] = process.argv.slice(2);
if (!port || !socket || separator !== '--' || !command) {
  process.stderr.write('usage: sandbox-relay PORT SOCKET -- COMMAND [ARGS...]\n');
  process.exit(64);
}

const relay = net.createServer((client) => {
  const coffer = net.connect(socket);
  const end = () => {
    client.destroy();
    coffer.destroy();
  };
  client.on('error', end).on('close', end);
  coffer.on('error', end).on('close', end);
  client.pipe(coffer).pipe(client);
});

relay.listen(Number(port), '127.0.0.1', () => {
  const child = spawn(command, args, { stdio: 'inherit' });
  child.on('error', (e) => {
    process.stderr.write(`could not start ${command}: ${e.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) =>
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
  );
});
