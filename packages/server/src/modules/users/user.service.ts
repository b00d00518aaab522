import type { Clock } from '../../clock.js';
import { deleteCredentialsOfUser } from '../plugins/plugin.repo.js';
import { hashPassword, newId, verifyPassword, type Keyring } from '../../crypto/index.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../../errors.js';
import { onUniqueViolation } from '../../store/conflicts.js';
import type { Db, Store } from '../../store/store.js';
import { checkJsonText, checkText, line } from '../../text-rules.js';
import type { AuditEvent, AuditLog } from '../audit/audit.service.js';
import { isAdminCaller, requireAdmin, requireUser, withheldFromTicket, type Caller } from '../auth/caller.js';
import { revokeAllCredentials, revokeSessions } from '../auth/credential.repo.js';
import { currentDataKey, insertDataKey } from '../secrets/data-key.repo.js';
import { listSecretMeta } from '../secrets/secret.repo.js';
import { ADMIN_GROUP, toUser, type User } from './user.model.js';
import * as repo from './user.repo.js';
import { checkGroups, checkLogin, checkPassword, checkSourceType, checkStringMap } from './user.rules.js';

export interface NewUserInput {
  login: string;
  password?: string | undefined;
  displayName?: string | undefined;
  email?: string | undefined;
  groups?: string[] | undefined;
  userProfile?: string | undefined;
  sourceType?: string | undefined;
}

export interface UserPatchInput {
  displayName?: string | undefined;
  email?: string | undefined;
  groups?: string[] | undefined;
  userProfile?: string | undefined;
  enabled?: boolean | undefined;
  userProperties?: Record<string, unknown> | undefined;
  adminProperties?: Record<string, unknown> | undefined;
  preferences?: Record<string, unknown> | undefined;
}

export type UserService = ReturnType<typeof createUserService>;

/** The text rules of a user's own fields, shared by creation and every change. */
const DISPLAY_NAME = line(200);
const EMAIL = line(320);
const USER_PROFILE = line(80);

export function createUserService(deps: { store: Store; keyring: Keyring; clock: Clock; audit: AuditLog }) {
  const { store, keyring, clock, audit } = deps;

  async function loadByLogin(db: Db, login: string): Promise<User> {
    const row = await repo.findUserByLogin(db, login);
    if (!row) throw new NotFound(`user ${JSON.stringify(login)} does not exist`);
    return toUser(row);
  }

  /** Makes a fresh data key for a user and stores it wrapped; returns nothing of the key itself. */
  async function addDataKey(db: Db, userId: string, version: number, now: number): Promise<void> {
    const { wrapped } = keyring.newDataKey(userId, version);
    await insertDataKey(db, {
      user_id: userId,
      version,
      wrapped: wrapped.wrapped,
      master_version: wrapped.masterVersion,
      created_at: now,
    });
  }

  async function assertNotLastAdmin(db: Db, target: User): Promise<void> {
    if (!target.isAdmin || !target.enabled) return;
    const admins = (await repo.listUsers(db)).map(toUser).filter((u) => u.isAdmin && u.enabled);
    if (admins.length <= 1)
      throw new Conflict('this is the last enabled administrator; make another one first');
  }

  /**
   * Validates a patch against the caller's rights and returns the row changes it makes. Users may edit
   * their own name, email, properties and preferences; groups, profile, status and admin properties are
   * the administrator's.
   */
  function planPatch(
    caller: Caller,
    target: User,
    patch: UserPatchInput,
  ): { row: repo.UserPatch; events: AuditEvent[] } {
    const admin = isAdminCaller(caller);
    const self = caller.kind === 'user' && caller.user.id === target.id;
    if (!admin && !self) throw new NotFound(`user ${JSON.stringify(target.login)} does not exist`);
    const row: repo.UserPatch = {};
    const events: AuditEvent[] = [];
    const adminOnly = (field: string, changed: boolean) => {
      if (changed && !admin)
        throw (
          withheldFromTicket(caller, `change ${field}`) ??
          new Forbidden(`only an administrator can change ${field}`)
        );
    };
    if (patch.displayName !== undefined)
      row.display_name = checkText('displayName', patch.displayName, DISPLAY_NAME);
    if (patch.email !== undefined) row.email = checkText('email', patch.email, EMAIL);
    if (patch.userProperties !== undefined)
      row.user_properties = JSON.stringify(checkStringMap('userProperties', patch.userProperties));
    if (patch.preferences !== undefined) {
      const text = JSON.stringify(patch.preferences);
      if (text.length > 64 * 1024) throw new Invalid('preferences must be at most 64 KiB of JSON');
      checkJsonText('preferences', patch.preferences, { keyMax: 200 });
      row.preferences = text;
    }
    if (patch.groups !== undefined) {
      const groups = checkGroups(patch.groups);
      adminOnly('groups', JSON.stringify([...groups].sort()) !== JSON.stringify([...target.groups].sort()));
      row.groups = JSON.stringify(groups);
    }
    if (patch.userProfile !== undefined) {
      adminOnly('userProfile', patch.userProfile !== target.userProfile);
      row.user_profile = checkText('userProfile', patch.userProfile, USER_PROFILE);
    }
    if (patch.adminProperties !== undefined) {
      const props = checkStringMap('adminProperties', patch.adminProperties);
      adminOnly('adminProperties', JSON.stringify(props) !== JSON.stringify(target.adminProperties));
      row.admin_properties = JSON.stringify(props);
    }
    if (patch.enabled !== undefined && patch.enabled !== target.enabled) {
      adminOnly('enabled', true);
      if (self && !patch.enabled) throw new Invalid('you cannot disable your own account');
      row.enabled = patch.enabled ? 1 : 0;
      events.push({ action: patch.enabled ? 'user.enabled' : 'user.disabled', target });
    }
    if (Object.keys(row).length > 0 && events.length === 0)
      events.push({ action: 'user.updated', target, detail: { fields: Object.keys(row) } });
    return { row, events };
  }

  /** Applies a planned patch in the caller's transaction; disabling ends every credential at once. */
  async function applyPatch(
    db: Db,
    caller: Caller,
    target: User,
    plan: { row: repo.UserPatch; events: AuditEvent[] },
  ): Promise<void> {
    const now = clock.now();
    const losesAdmin =
      plan.row.enabled === 0 ||
      (plan.row.groups !== undefined && !(JSON.parse(plan.row.groups) as string[]).includes(ADMIN_GROUP));
    if (losesAdmin) await assertNotLastAdmin(db, target);
    if (Object.keys(plan.row).length > 0) await repo.updateUser(db, target.id, plan.row, now);
    if (plan.row.enabled === 0) await revokeAllCredentials(db, target.id, now);
    await audit.record(db, caller, plan.events);
  }

  return {
    loadByLogin,
    planPatch,
    applyPatch,

    /** Creates a user with a fresh data key. The password is hashed before the transaction opens. */
    async create(caller: Caller, input: NewUserInput): Promise<User> {
      requireAdmin(caller);
      const login = checkLogin(input.login);
      const groups = checkGroups(input.groups ?? []);
      const displayName = checkText('displayName', input.displayName ?? login, DISPLAY_NAME);
      const email = checkText('email', input.email ?? '', EMAIL);
      const userProfile = checkText('userProfile', input.userProfile ?? 'DATA_SCIENTIST', USER_PROFILE);
      const sourceType = checkSourceType(input.sourceType ?? 'LOCAL');
      const passwordHash =
        input.password !== undefined ? await hashPassword(checkPassword(input.password)) : null;
      const now = clock.now();
      const id = newId();
      const exists = () => new Conflict(`user ${JSON.stringify(login)} already exists`);
      // The check answers in sequence; the unique index answers when two creations race (PostgreSQL).
      return onUniqueViolation(exists, () =>
        store.transaction(async (trx) => {
          if (await repo.findUserByLogin(trx, login)) throw exists();
          await repo.insertUser(trx, {
            id,
            login,
            display_name: displayName,
            email,
            groups: JSON.stringify(groups),
            user_profile: userProfile,
            source_type: sourceType,
            enabled: 1,
            password_hash: passwordHash,
            // A password an administrator chose must be replaced by the user before anything else.
            password_must_change: caller.kind === 'user' && passwordHash !== null ? 1 : 0,
            user_properties: '{}',
            admin_properties: '{}',
            preferences: '{}',
            secrets_revision: 0,
            created_at: now,
            updated_at: now,
          });
          await addDataKey(trx, id, 1, now);
          const user = toUser((await repo.findUserById(trx, id))!);
          await audit.record(trx, caller, [{ action: 'user.created', target: user, detail: { groups } }]);
          return user;
        }),
      );
    },

    /** Full user record: the user themself or an administrator. Others get NotFound. */
    async get(caller: Caller, login: string): Promise<User> {
      const user = await loadByLogin(store.db, login);
      if (!isAdminCaller(caller) && !(caller.kind === 'user' && caller.user.id === user.id)) {
        throw new NotFound(`user ${JSON.stringify(login)} does not exist`);
      }
      return user;
    },

    /** The directory (login, name, groups): visible to every signed-in user, as in DSS. */
    async getBasic(_caller: Caller, login: string): Promise<User> {
      return loadByLogin(store.db, login);
    },

    async list(_caller: Caller): Promise<User[]> {
      return (await repo.listUsers(store.db)).map(toUser);
    },

    async groups(_caller: Caller): Promise<string[]> {
      const groups = await repo.listGroups(store.db);
      return groups.includes(ADMIN_GROUP) ? groups : [ADMIN_GROUP, ...groups].sort();
    },

    async update(caller: Caller, login: string, patch: UserPatchInput): Promise<User> {
      const target = await loadByLogin(store.db, login);
      const plan = planPatch(caller, target, patch);
      await store.transaction((trx) => applyPatch(trx, caller, target, plan));
      return loadByLogin(store.db, login);
    },

    /** A user changes their own password; the current one is required. Their other sessions end. */
    async changeOwnPassword(caller: Caller, currentPassword: string, newPassword: string): Promise<void> {
      const me = requireUser(caller);
      checkPassword(newPassword);
      const row = await repo.findUserById(store.db, me.user.id);
      if (!(await verifyPassword(currentPassword, row?.password_hash))) {
        throw new Invalid('the current password is not correct');
      }
      if (currentPassword === newPassword)
        throw new Invalid('the new password must differ from the current one');
      const hash = await hashPassword(newPassword);
      await store.transaction(async (trx) => {
        const now = clock.now();
        await repo.updateUser(trx, me.user.id, { password_hash: hash, password_must_change: 0 }, now);
        await revokeSessions(trx, me.user.id, now, me.source === 'SESSION' ? me.credentialId : undefined);
        await audit.record(trx, caller, [{ action: 'user.password_changed', target: me.user }]);
      });
    },

    /**
     * An administrator resets another user's password: account recovery. An administrator who sets a
     * password could sign in as the user, so the reset destroys the user's data key and secrets, ends
     * every credential, and makes the user choose a password of their own at the next sign-in. The
     * operator (CLI) already holds the master key, so its resets keep the secrets.
     */
    async resetPassword(
      caller: Caller,
      login: string,
      newPassword: string,
    ): Promise<{ secretsDeleted: number }> {
      requireAdmin(caller);
      const target = await loadByLogin(store.db, login);
      if (caller.kind === 'user' && caller.user.id === target.id) {
        throw new Invalid(
          'to change your own password use PUT /api/v1/me/password, which asks for the current one',
        );
      }
      const hash = await hashPassword(checkPassword(newPassword));
      const recovery = caller.kind === 'user';
      const result = await store.transaction(async (trx) => {
        const now = clock.now();
        await repo.updateUser(
          trx,
          target.id,
          { password_hash: hash, password_must_change: recovery ? 1 : 0 },
          now,
        );
        if (!recovery) {
          await revokeSessions(trx, target.id, now);
          await audit.record(trx, caller, [{ action: 'user.password_reset', target }]);
          return { secretsDeleted: 0 };
        }
        // The user's row first, as every save does: a save racing this reset waits, then sees no secrets
        // and the new data key, instead of adding a value sealed under the key deleted here.
        await repo.claimSecretsRevision(trx, target.id, now);
        await revokeAllCredentials(trx, target.id, now);
        const names = (await listSecretMeta(trx, target.id)).map((m) => m.name);
        const last = await currentDataKey(trx, target.id);
        await trx.deleteFrom('secrets').where('user_id', '=', target.id).execute();
        // Sealed under the data keys deleted next: unreadable from now on, so gone with them.
        const credentialsDeleted = await deleteCredentialsOfUser(trx, target.id);
        await trx.deleteFrom('data_keys').where('user_id', '=', target.id).execute();
        await addDataKey(trx, target.id, (last?.version ?? 0) + 1, now);
        await audit.record(trx, caller, [
          {
            action: 'user.password_reset',
            target,
            detail: { secretsDeleted: names.length, pluginCredentialsDeleted: credentialsDeleted },
          },
          ...names.map((name) => ({
            action: 'secret.deleted' as const,
            target,
            secretName: name,
            detail: { reason: 'password reset by an administrator' },
          })),
        ]);
        return { secretsDeleted: names.length };
      });
      keyring.forget(target.id);
      return result;
    },

    /** Deletes a user with their data key, so their secrets are unrecoverable even from a backup. */
    async delete(caller: Caller, login: string, opts: { allowSelfDeletion?: boolean } = {}): Promise<void> {
      requireAdmin(caller);
      const target = await loadByLogin(store.db, login);
      if (caller.kind === 'user' && caller.user.id === target.id && !opts.allowSelfDeletion) {
        throw new Invalid('refusing to delete your own account; pass allowSelfDeletion=true to confirm');
      }
      await store.transaction(async (trx) => {
        await assertNotLastAdmin(trx, target);
        await trx.deleteFrom('secrets').where('user_id', '=', target.id).execute();
        await deleteCredentialsOfUser(trx, target.id);
        await trx.deleteFrom('data_keys').where('user_id', '=', target.id).execute();
        await trx.deleteFrom('sessions').where('user_id', '=', target.id).execute();
        await trx.deleteFrom('tickets').where('user_id', '=', target.id).execute();
        await trx.deleteFrom('api_keys').where('user_id', '=', target.id).execute();
        await repo.deleteUserRow(trx, target.id);
        await audit.record(trx, caller, [{ action: 'user.deleted', target }]);
      });
      keyring.forget(target.id);
    },

    /** Checks a login and password; null when either is wrong (same work either way). */
    async verifyCredentials(login: string, password: string): Promise<User | null> {
      const row = await repo.findUserByLogin(store.db, login);
      const ok = await verifyPassword(password, row?.password_hash);
      return ok && row ? toUser(row) : null;
    },

    async count(): Promise<number> {
      return repo.countUsers(store.db);
    },
  };
}
