import { execFileSync, spawnSync } from 'node:child_process';
import { CLI } from '../helpers/coffer-process.js';

/*
 * An ordinary Unix account to run a whole Coffer server as, the way a laptop or VM install runs it:
 * the case where code and server share an account and only the sandbox stands between a recipe and
 * the master key. Made with useradd when the suite runs as root (as on CI); a suite that already runs
 * as an ordinary account covers that case with its in-process servers.
 */

export const TEST_ACCOUNT = 'coffer-test-server';

export interface TestAccount {
  name: string;
  uid: number;
  gid: number;
}

export function testAccount(): TestAccount | { missing: string } {
  if (process.getuid?.() !== 0) return { missing: 'the suite does not run as root' };
  const find = () => {
    const r = spawnSync('getent', ['passwd', TEST_ACCOUNT], { encoding: 'utf8' });
    const [, , uid, gid] = r.stdout.trim().split(':');
    return r.status === 0 ? { name: TEST_ACCOUNT, uid: Number(uid), gid: Number(gid) } : undefined;
  };
  let account = find();
  if (!account) {
    // Two test files may race to make it: whoever loses finds it made.
    spawnSync('useradd', ['--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', TEST_ACCOUNT]);
    account = find();
  }
  if (!account) return { missing: `useradd ${TEST_ACCOUNT} failed` };
  // The account must be able to read the built server (a checkout under a private home cannot be).
  try {
    execFileSync(process.execPath, ['-e', `require('fs').readFileSync(${JSON.stringify(CLI)})`], {
      uid: account.uid,
      gid: account.gid,
      stdio: 'pipe',
    });
  } catch {
    return { missing: `${TEST_ACCOUNT} cannot read ${CLI}: the checkout must be readable by other accounts` };
  }
  return account;
}
