import type { Store } from '../../store/store.js';
import { isAdminCaller, type Caller } from '../auth/caller.js';
import type { SecretService } from '../secrets/secret.service.js';
import type { User } from '../users/user.model.js';
import type { UserService } from '../users/user.service.js';
import { parseDssSettings } from './dss-settings.js';

export type DssSettingsService = ReturnType<typeof createDssSettingsService>;

/**
 * The DSS user-settings object: profile fields plus the secrets list, read and written whole by the
 * DSS clients. Reads carry markers, never values; a save is checked in full and applied in one
 * transaction, so a bad entry anywhere leaves everything as it was.
 */
export function createDssSettingsService(deps: { store: Store; users: UserService; secrets: SecretService }) {
  const { store, users, secrets } = deps;

  async function view(caller: Caller, target: User) {
    const markers = await secrets.markers(caller, target);
    return {
      login: target.login,
      displayName: target.displayName,
      email: target.email,
      groups: [...target.groups],
      userProfile: target.userProfile,
      enabled: target.enabled,
      sourceType: target.sourceType,
      creationDate: target.createdAt,
      userProperties: target.userProperties,
      preferences: target.preferences,
      secrets: markers,
      credentials: {},
      ...(isAdminCaller(caller) ? { adminProperties: target.adminProperties } : {}),
    };
  }

  return {
    async get(caller: Caller, login: string) {
      return view(caller, await users.get(caller, login));
    },

    async save(caller: Caller, login: string, body: unknown) {
      const target = await users.get(caller, login);
      const input = parseDssSettings(body, target);
      const plan = users.planPatch(caller, target, input.patch);
      const entries = input.secrets ? secrets.validateDssEntries(input.secrets) : undefined;
      await store.transaction(async (trx) => {
        await users.applyPatch(trx, caller, target, plan);
        if (entries) await secrets.applyDssEntries(trx, caller, target, entries);
      });
      return view(caller, await users.get(caller, login));
    },
  };
}
