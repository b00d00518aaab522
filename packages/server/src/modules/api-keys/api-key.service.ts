import type { Clock } from '../../clock.js';
import { newToken } from '../../crypto/index.js';
import { Invalid, NotFound } from '../../errors.js';
import type { ApiKeyRow } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { checkText, line, multiline } from '../../text-rules.js';
import type { AuditLog } from '../audit/audit.service.js';
import {
  beyondTicket,
  isAdminCaller,
  requireAdmin,
  requireOwnCredential,
  withheldFromTicket,
  type Caller,
} from '../auth/caller.js';
import type { UserService } from '../users/user.service.js';

export interface ApiKeyInfo {
  id: string;
  user: string;
  label: string;
  description: string;
  createdOn: number;
  createdBy: string;
  lastUsedOn: number | null;
  expiresOn: number | null;
  revoked: boolean;
  /** Created for the user by an administrator: it cannot read secret values. */
  delegated: boolean;
  /** Last four characters of the key, to recognise it; the key itself is shown only once. */
  last4: string;
}

/** A label names a key in one line; a description may say more, over several lines. */
const LABEL = line(200);
const DESCRIPTION = multiline(2000);

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

export function createApiKeyService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  users: UserService;
}) {
  const { store, clock, audit, users } = deps;

  type Row = ApiKeyRow & { login: string };
  const toInfo = (r: Row): ApiKeyInfo => ({
    id: r.id,
    user: r.login,
    label: r.label,
    description: r.description,
    createdOn: Number(r.created_at),
    createdBy: r.created_by,
    lastUsedOn: r.last_used_at === null ? null : Number(r.last_used_at),
    expiresOn: r.expires_at === null ? null : Number(r.expires_at),
    revoked: r.revoked_at !== null,
    delegated: r.delegated === 1,
    last4: r.last4,
  });

  const base = () =>
    store.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .selectAll('api_keys')
      .select('users.login');

  /** A key the caller may manage: their own, or any for an administrator. Others are NotFound. */
  async function loadManageable(caller: Caller, id: string): Promise<Row> {
    const row = await base().where('api_keys.id', '=', id).executeTakeFirst();
    const own = row && caller.kind === 'user' && row.user_id === caller.user.id;
    // Whether or not the key exists, so an administrator's job learns nothing by asking.
    if (!own) {
      const withheld = withheldFromTicket(caller, "manage another user's API keys");
      if (withheld) throw withheld;
    }
    if (!row || row.revoked_at !== null || (!own && !isAdminCaller(caller))) {
      throw new NotFound(`API key ${JSON.stringify(id)} does not exist`);
    }
    return row;
  }

  function checkExpiry(expiresOn: number | null | undefined): number | null {
    if (expiresOn === undefined || expiresOn === null) return null;
    if (!Number.isSafeInteger(expiresOn) || expiresOn <= clock.now()) {
      throw new Invalid('expiresOn must be a time in the future, in epoch milliseconds');
    }
    return expiresOn;
  }

  return {
    /**
     * Creates a personal API key for the caller, or (administrators) for another user. The key is in the
     * result once; only its hash is stored.
     */
    async create(
      caller: Caller,
      input: {
        forLogin?: string | undefined;
        label?: string | undefined;
        description?: string | undefined;
        expiresOn?: number | null | undefined;
      },
    ): Promise<{ key: string; info: ApiKeyInfo }> {
      let owner;
      // A key an administrator makes for someone else is delegated: it never reads that user's values.
      // The operator (CLI) is not restricted: it holds the master key already.
      let delegated = false;
      if (caller.kind === 'user') {
        // The auth hook refuses tickets on the routes that get here; this keeps the service shut too.
        if (caller.source === 'TICKET') throw beyondTicket('create lasting API keys', caller.ticket);
        requireOwnCredential(caller, 'creating an API key');
      }
      if (input.forLogin !== undefined && !(caller.kind === 'user' && caller.user.login === input.forLogin)) {
        requireAdmin(caller);
        owner = await users.loadByLogin(store.db, input.forLogin);
        delegated = caller.kind === 'user';
      } else if (caller.kind === 'user') {
        owner = caller.user;
      } else {
        throw new Invalid('say which user the key is for');
      }
      if (!owner.enabled) throw new Invalid(`user ${JSON.stringify(owner.login)} is disabled`);
      const label = checkText('label', input.label ?? '', LABEL);
      const description = checkText('description', input.description ?? '', DESCRIPTION);
      const expires = checkExpiry(input.expiresOn);
      const t = newToken('cofk');
      const now = clock.now();
      const createdBy = caller.kind === 'user' ? caller.user.login : 'coffer-cli';
      await store.transaction(async (trx) => {
        await trx
          .insertInto('api_keys')
          .values({
            id: t.id,
            user_id: owner.id,
            secret_hash: t.secretHash,
            last4: t.last4,
            label,
            description,
            created_at: now,
            created_by: createdBy,
            last_used_at: null,
            expires_at: expires,
            revoked_at: null,
            delegated: delegated ? 1 : 0,
          })
          .execute();
        await audit.record(trx, caller, [
          { action: 'api_key.created', target: owner, detail: { keyId: t.id, label } },
        ]);
      });
      const row = await base().where('api_keys.id', '=', t.id).executeTakeFirstOrThrow();
      return { key: t.token, info: toInfo(row) };
    },

    /** The caller's own live keys. */
    async listOwn(caller: Caller): Promise<ApiKeyInfo[]> {
      if (caller.kind !== 'user') return [];
      const rows = await base()
        .where('api_keys.user_id', '=', caller.user.id)
        .where('api_keys.revoked_at', 'is', null)
        .orderBy('api_keys.created_at')
        .orderBy('api_keys.id')
        .execute();
      return rows.map(toInfo);
    },

    /** Every user's live personal keys (administrators). */
    async listAll(caller: Caller): Promise<ApiKeyInfo[]> {
      requireAdmin(caller);
      const rows = await base()
        .where('api_keys.revoked_at', 'is', null)
        .orderBy('api_keys.created_at')
        .orderBy('api_keys.id')
        .execute();
      return rows.map(toInfo);
    },

    async get(caller: Caller, id: string): Promise<ApiKeyInfo> {
      return toInfo(await loadManageable(caller, id));
    },

    async update(
      caller: Caller,
      id: string,
      patch: { label?: string | undefined; description?: string | undefined },
    ): Promise<ApiKeyInfo> {
      const row = await loadManageable(caller, id);
      const label = patch.label !== undefined ? checkText('label', patch.label, LABEL) : row.label;
      const description =
        patch.description !== undefined
          ? checkText('description', patch.description, DESCRIPTION)
          : row.description;
      await store.transaction(async (trx) => {
        await trx.updateTable('api_keys').set({ label, description }).where('id', '=', id).execute();
        await audit.record(trx, caller, [
          { action: 'api_key.updated', target: { id: row.user_id, login: row.login }, detail: { keyId: id } },
        ]);
      });
      return toInfo(await base().where('api_keys.id', '=', id).executeTakeFirstOrThrow());
    },

    /** Revokes a key at once: the next request made with it is refused. */
    async revoke(caller: Caller, id: string): Promise<void> {
      const row = await loadManageable(caller, id);
      await store.transaction(async (trx) => {
        await trx.updateTable('api_keys').set({ revoked_at: clock.now() }).where('id', '=', id).execute();
        await audit.record(trx, caller, [
          { action: 'api_key.revoked', target: { id: row.user_id, login: row.login }, detail: { keyId: id } },
        ]);
      });
    },
  };
}
