import { chownSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { makeTempDir, runCli, startServe } from '../helpers/coffer-process.js';
import type { Api } from './jobs.js';
import { testAccount, type TestAccount } from './test-account.js';
import { httpRequest, TestServer, type TestUser } from './test-server.js';

/*
 * Where the attack suites (sandbox-attacks, notebook-attacks, plugin-attacks) run: the server in this process (as root
 * on CI: each user's code under an account of its own), and, when the suite runs as root, a real
 * `coffer serve` run by an ordinary account made with useradd, the laptop case where the server, its
 * master key and the code's outer account are one and only the sandbox keeps them apart.
 */

/** A server and its users, by login (`d.alice`, `d.bob`). */
export type Deployment<L extends string> = {
  api: Api;
  url: string;
  dataDir: string;
  workRoot: string;
  serverPid: number;
  close(): Promise<void>;
} & Record<L, TestUser>;

async function inProcess<L extends string>(
  logins: readonly L[],
  env: Record<string, string>,
  admins: readonly L[],
): Promise<Deployment<L>> {
  const workRoot = makeTempDir('coffer-attack-work-');
  const server = await TestServer.start({ COFFER_JOB_WORK_DIR: workRoot, ...env });
  const users = {} as Record<L, TestUser>;
  for (const login of logins)
    users[login] = await server.createUser(login, { admin: admins.includes(login) });
  return {
    api: server,
    url: server.url,
    dataDir: server.dataDir,
    workRoot,
    serverPid: process.pid,
    close: () => server.close(),
    ...users,
  };
}

/** `coffer serve` run by an ordinary account that owns its data, master key, work root and sandboxes. */
async function asOrdinaryAccount<L extends string>(
  account: TestAccount,
  logins: readonly L[],
  extra: Record<string, string>,
  admins: readonly L[],
): Promise<Deployment<L>> {
  const base = makeTempDir('coffer-attack-account-');
  const dataDir = path.join(base, 'data');
  const workRoot = path.join(base, 'work');
  const as = { uid: account.uid, gid: account.gid };
  for (const dir of [base, dataDir, workRoot]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, as.uid, as.gid);
  }
  const env = { COFFER_DATA_DIR: dataDir, COFFER_JOB_WORK_DIR: workRoot, ...extra };
  // One after the other: the first command makes the database.
  const users = {} as Record<L, TestUser>;
  for (const login of logins) {
    const password = `pw-${login}-0123456789`;
    const created = await runCli(['users', 'create', login, ...(admins.includes(login) ? ['--admin'] : [])], {
      env,
      as,
      input: `${password}\n`,
    });
    const issued = await runCli(['api-keys', 'create', login], { env, as });
    expect([created.code, issued.code], created.stderr + issued.stderr).toEqual([0, 0]);
    users[login] = { login, password, key: issued.stdout.trim() };
  }
  const served = await startServe(env, { as });
  return {
    api: { request: (method, urlPath, opts) => httpRequest(served.url, method, urlPath, opts) },
    url: served.url,
    dataDir,
    workRoot,
    serverPid: served.child.pid!,
    close: async () => void (await served.stop()),
    ...users,
  };
}

/**
 * The deployments a suite runs against, for `describe.each`. As root the ordinary account is made
 * with useradd; root could have made it, so on CI its absence fails the suite instead of skipping.
 */
export function attackDeployments<L extends string>(
  suite: string,
  logins: readonly L[],
  env: Record<string, string> = {},
  /** Which of `logins` are administrators (a plugin is installed by one). */
  admins: readonly L[] = [],
): [string, () => Promise<Deployment<L>>][] {
  const account = testAccount();
  const out: [string, () => Promise<Deployment<L>>][] = [
    [
      process.getuid?.() === 0 ? 'server as root' : 'server as an ordinary account',
      () => inProcess(logins, env, admins),
    ],
  ];
  if ('uid' in account)
    out.push([
      'server as an ordinary account (useradd)',
      () => asOrdinaryAccount(account, logins, env, admins),
    ]);
  else if (process.getuid?.() === 0) {
    if (process.env.CI) throw new Error(`the ordinary-account ${suite} cannot run: ${account.missing}`);
    console.warn(
      `\n!!! ${suite} as an ordinary account are SKIPPED: ${account.missing} (on CI this fails)\n`,
    );
  }
  return out;
}
