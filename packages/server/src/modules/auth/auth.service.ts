import type { Clock } from '../../clock.js';
import { newToken, parseToken, tokenMatches, type TokenPrefix } from '../../crypto/index.js';
import { RateLimited, Unauthenticated } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { checkText, line } from '../../text-rules.js';
import type { AuditLog } from '../audit/audit.service.js';
import { toUser, type User } from '../users/user.model.js';
import type { UserService } from '../users/user.service.js';
import type { AuthSource, UserCaller } from './caller.js';
import { findApiKeyWithUser } from './credential.repo.js';
import * as limits from './rate-limit.repo.js';

/*
 * The one place where presented credentials become a caller, one function per kind of credential.
 * Each looks the credential up by id, compares the secret part in constant time, and checks that the
 * credential is live (not revoked, not expired) and its user enabled. Failures name the reason without
 * saying anything about other users.
 */

export interface AuthConfig {
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  loginFailuresPerWindow: number;
  loginWindowMinutes: number;
}

/** Last-used times are written at most this often per key, to keep writes off the hot read path. */
const LAST_USED_GRANULARITY_MS = 60_000;

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  users: UserService;
  config: AuthConfig;
}) {
  const { store, clock, audit, users, config } = deps;
  const db = store.db;

  function parse(token: string, prefix: TokenPrefix, what: string) {
    const p = parseToken(token.trim());
    if (!p || p.prefix !== prefix) throw new Unauthenticated(`${what} is not valid`);
    return p;
  }

  function live(
    what: string,
    row: { revoked_at: number | null; expires_at: number | null; enabled: number },
    now: number,
  ) {
    if (row.revoked_at !== null) throw new Unauthenticated(`${what} has been revoked`);
    if (row.expires_at !== null && Number(row.expires_at) <= now)
      throw new Unauthenticated(`${what} has expired`);
    if (row.enabled !== 1) throw new Unauthenticated('this user account is disabled');
  }

  const caller = (user: User, source: AuthSource, credentialId: string, ip?: string): UserCaller => ({
    kind: 'user',
    user,
    source,
    credentialId,
    ip,
  });

  return {
    async authenticateApiKey(token: string, ip?: string): Promise<UserCaller> {
      const p = parse(token, 'cofk', 'API key');
      const [row] = await findApiKeyWithUser(db, p.id);
      if (!row || !tokenMatches(p.secret, row.secret_hash)) throw new Unauthenticated('API key is not valid');
      const now = clock.now();
      live('API key', row, now);
      if (row.last_used_at === null || now - Number(row.last_used_at) > LAST_USED_GRANULARITY_MS) {
        await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', p.id).execute();
      }
      // One query: the key and its user's row together (users' columns do not clash with the key's).
      const c = caller(toUser(row), 'PERSONAL_API_KEY', p.id, ip);
      return row.delegated === 1 ? { ...c, restriction: 'delegated-key' } : c;
    },

    async authenticateTicket(token: string, ip?: string): Promise<UserCaller> {
      const p = parse(token, 'coft', 'ticket');
      // The ticket's project by id: a project deleted and made again under the same key is not it.
      const row = await db
        .selectFrom('tickets')
        .innerJoin('users', 'users.id', 'tickets.user_id')
        .leftJoin('projects', 'projects.id', 'tickets.project_id')
        .leftJoin('notebooks', 'notebooks.id', 'tickets.notebook_id')
        .select([
          'tickets.secret_hash',
          'tickets.revoked_at',
          'tickets.expires_at',
          'tickets.job_id',
          'projects.key as ticket_project_key',
          'tickets.notebook_id',
          'notebooks.name as ticket_notebook_name',
        ])
        .selectAll('users')
        .where('tickets.id', '=', p.id)
        .executeTakeFirst();
      if (!row || !tokenMatches(p.secret, row.secret_hash)) throw new Unauthenticated('ticket is not valid');
      live('ticket', row, clock.now());
      return {
        ...caller(toUser(row), 'TICKET', p.id, ip),
        ticket: {
          jobId: row.job_id,
          projectKey: row.ticket_project_key,
          // Its name now: a notebook renamed while its kernel runs is read by its new name.
          notebook: row.notebook_id ? { id: row.notebook_id, name: row.ticket_notebook_name } : null,
        },
      };
    },

    /** Resolves a session cookie; returns the caller and the session's CSRF token. */
    async authenticateSession(
      token: string,
      ip?: string,
    ): Promise<{ caller: UserCaller; csrfToken: string }> {
      const p = parse(token, 'cofs', 'session');
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select([
          'sessions.secret_hash',
          'sessions.csrf_token',
          'sessions.revoked_at',
          'sessions.expires_at',
          'sessions.idle_expires_at',
        ])
        .selectAll('users')
        .where('sessions.id', '=', p.id)
        .executeTakeFirst();
      if (!row || !tokenMatches(p.secret, row.secret_hash))
        throw new Unauthenticated('your session is not valid; sign in again');
      const now = clock.now();
      const expires = Math.min(Number(row.expires_at), Number(row.idle_expires_at));
      try {
        live('session', { ...row, expires_at: expires }, now);
      } catch {
        throw new Unauthenticated('your session has ended; sign in again');
      }
      const idleMs = config.sessionIdleMinutes * 60_000;
      // Slide the idle deadline, but write at most once a minute.
      if (Number(row.idle_expires_at) - now < idleMs - 60_000) {
        await db
          .updateTable('sessions')
          .set({ idle_expires_at: now + idleMs })
          .where('id', '=', p.id)
          .execute();
      }
      const user = toUser(row);
      const c = caller(user, 'SESSION', p.id, ip);
      return {
        caller: user.passwordMustChange ? { ...c, restriction: 'password-change-required' } : c,
        csrfToken: row.csrf_token,
      };
    },

    /**
     * Signs a user in with a password. Failures are counted per login and per address in the store; past
     * the limit, attempts are refused before the password is checked.
     */
    async login(
      login: string,
      password: string,
      ip: string,
    ): Promise<{ token: string; csrfToken: string; user: User; expiresAt: number }> {
      // The login is stored in the failure counters and the audit trail, so it follows the text rules.
      checkText('login', login, line(200));
      const windowMs = config.loginWindowMinutes * 60_000;
      const now = clock.now();
      const keys = [`login:${login.toLowerCase()}`, `ip:${ip}`];
      for (const k of keys) {
        const n = await limits.peek(db, k, windowMs, now);
        const max = k.startsWith('ip:') ? config.loginFailuresPerWindow * 5 : config.loginFailuresPerWindow;
        if (n >= max) {
          const retry = Math.ceil((windowMs - (now % windowMs)) / 1000);
          throw new RateLimited(
            `too many failed sign-in attempts; try again in ${Math.ceil(retry / 60)} minute(s)`,
            retry,
          );
        }
      }
      const user = await users.verifyCredentials(login, password);
      if (!user || !user.enabled) {
        await store.transaction(async (trx) => {
          for (const k of keys) await limits.hit(trx, k, windowMs, now);
          await audit.record(trx, null, [
            {
              action: 'login.failed',
              detail: { login, ip, reason: user ? 'disabled' : 'bad credentials' },
            },
          ]);
        });
        throw new Unauthenticated(user ? 'this user account is disabled' : 'login or password is incorrect');
      }
      const t = newToken('cofs');
      const csrf = newToken('cofs').token.split('.')[1]!;
      const expiresAt = now + config.sessionMaxHours * 3_600_000;
      await store.transaction(async (trx) => {
        await trx
          .insertInto('sessions')
          .values({
            id: t.id,
            user_id: user.id,
            secret_hash: t.secretHash,
            csrf_token: csrf,
            created_at: now,
            expires_at: expiresAt,
            idle_expires_at: now + config.sessionIdleMinutes * 60_000,
            revoked_at: null,
          })
          .execute();
        await limits.reset(trx, keys[0]!);
        await audit.record(trx, { kind: 'user', user, source: 'SESSION', credentialId: t.id, ip }, [
          { action: 'login.succeeded', target: user },
        ]);
      });
      return { token: t.token, csrfToken: csrf, user, expiresAt };
    },

    async logout(c: UserCaller): Promise<void> {
      await store.transaction(async (trx) => {
        await trx
          .updateTable('sessions')
          .set({ revoked_at: clock.now() })
          .where('id', '=', c.credentialId)
          .execute();
        await audit.record(trx, c, [{ action: 'logout', target: c.user }]);
      });
    },
  };
}
