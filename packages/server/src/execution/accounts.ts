import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import type { Account } from './sandbox.js';
import { allocateUid } from './sandbox-account.repo.js';

/*
 * Which Unix account a user's code runs as. A server running as root never runs code as root nor as
 * its own account: each Coffer user gets an account of their own, either a uid allocated once from a
 * range that no real account uses (the default: nothing to set up, like systemd's dynamic users), or
 * an existing account named by a pattern on the login (DSS's user mapping, e.g. `dss-{login}`). A
 * server running as an ordinary account cannot change account; its sandboxes keep users apart.
 */

/** Accounts below this are the system's own (Debian's UID_MIN): services, daemons, databases. */
const FIRST_ORDINARY_UID = 1000;
const NOBODY = 65534;

export interface AccountsConfig {
  readonly uidRange: { readonly min: number; readonly max: number };
  /** `{login}` stands for the Coffer login, e.g. `coffer-{login}`. */
  readonly pattern: string | undefined;
}

export interface AccountPolicy {
  /** Where accounts come from, for the logs, /readyz and the admin page. */
  readonly description: string;
  /** The account for this user's code; undefined means the server's own (not root). */
  accountFor(user: { id: string; login: string }): Promise<Account | undefined>;
  /** An account that runs no one's code, for checking that a sandbox can be made. */
  readonly probeAccount: Account | undefined;
}

export class AccountError extends Error {}

/**
 * Checks the settings against the machine, once at start: a range that holds a real account (whose
 * files code could then touch) or a pattern on a server that cannot change account is refused.
 */
export function createAccountPolicy(deps: {
  store: Store;
  clock: Clock;
  config: AccountsConfig;
  serverUid: number;
}): AccountPolicy {
  const { store, clock, config, serverUid } = deps;
  const probeAccount = probeAccountFor(config, serverUid);
  if (serverUid !== 0) {
    return {
      description: 'the server’s own account (it does not run as root); sandboxes keep users apart',
      accountFor: async () => undefined,
      probeAccount: undefined,
    };
  }
  if (config.pattern !== undefined) {
    const pattern = config.pattern;
    const known = new Map<string, Account>();
    return {
      description: `the existing account named ${pattern} for each user`,
      probeAccount,
      async accountFor(user) {
        const name = pattern.replaceAll('{login}', user.login);
        const cached = known.get(name);
        if (cached) return cached;
        const account = await lookupAccount(name);
        if (!account)
          throw new AccountError(
            `no Unix account ${JSON.stringify(name)} for user ${user.login} (COFFER_SANDBOX_ACCOUNT_PATTERN=${pattern}): create it, or change the pattern`,
          );
        if (account.uid < FIRST_ORDINARY_UID || account.gid === 0 || account.uid === NOBODY)
          throw new AccountError(
            `the Unix account ${JSON.stringify(name)} (uid ${account.uid}) is a system account: user code never runs as one`,
          );
        known.set(name, account);
        return account;
      },
    };
  }

  const { min, max } = config.uidRange;
  // A user's uid never changes, so it is kept once known (no secret in it).
  const known = new Map<string, number>();
  return {
    description: `an account of their own per user, uids ${min}–${max}`,
    probeAccount,
    async accountFor(user) {
      let uid = known.get(user.id);
      if (uid === undefined) {
        uid = await allocateUid(store.db, user.id, { min, max }, clock.now());
        if (uid === undefined)
          throw new AccountError(
            `every uid of COFFER_SANDBOX_UIDS (${min}-${max}) is taken: widen the range`,
          );
        known.set(user.id, uid);
      }
      return { uid, gid: uid };
    },
  };
}

/**
 * The account a test sandbox runs as, once the settings are checked against the machine (the checks
 * of createAccountPolicy, without a store: `coffer doctor` makes them too). Throws AccountError.
 */
export function probeAccountFor(config: AccountsConfig, serverUid: number): Account | undefined {
  if (serverUid !== 0) {
    if (config.pattern !== undefined)
      throw new AccountError(
        'COFFER_SANDBOX_ACCOUNT_PATTERN needs the server to run as root: an ordinary account cannot start code as another',
      );
    return undefined;
  }
  if (config.pattern === undefined) checkRangeIsFree(config.uidRange.min, config.uidRange.max);
  return { uid: NOBODY, gid: NOBODY };
}

/** A range must hold no account of this machine, nor a range handed to containers (/etc/subuid). */
function checkRangeIsFree(min: number, max: number): void {
  if (min < FIRST_ORDINARY_UID)
    throw new AccountError(`COFFER_SANDBOX_UIDS must start at ${FIRST_ORDINARY_UID} or above`);
  for (const file of ['/etc/passwd', '/etc/group']) {
    for (const line of readLines(file)) {
      const [name, , id] = line.split(':');
      const n = Number(id);
      if (name && Number.isInteger(n) && n >= min && n <= max)
        throw new AccountError(
          `COFFER_SANDBOX_UIDS (${min}-${max}) holds ${name} (${file}, id ${n}): user code would share its files; choose a range no account uses`,
        );
    }
  }
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    for (const line of readLines(file)) {
      const [owner, start, count] = line.split(':');
      const lo = Number(start);
      const hi = lo + Number(count) - 1;
      if (owner && Number.isInteger(lo) && Number.isInteger(hi) && lo <= max && hi >= min)
        throw new AccountError(
          `COFFER_SANDBOX_UIDS (${min}-${max}) overlaps ${owner}'s subordinate ids ${lo}-${hi} in ${file}: choose a range no one uses`,
        );
    }
  }
}

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** An account by name through the system's name service (so directory accounts count too). */
function lookupAccount(name: string): Promise<Account | undefined> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      const [, , uid, gid] = stdout.trim().split(':');
      const u = Number(uid);
      const g = Number(gid);
      resolve(Number.isInteger(u) && Number.isInteger(g) ? { uid: u, gid: g } : undefined);
    });
  });
}
