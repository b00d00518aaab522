import { Conflict } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { isAdminCaller, type Caller } from '../auth/caller.js';
import type { SecretService } from '../secrets/secret.service.js';
import type { PluginCredentialService } from '../plugins/plugin-credential.service.js';
import type { User } from '../users/user.model.js';
import { lockUser } from '../users/user.repo.js';
import type { UserService } from '../users/user.service.js';
import { parseDssSettings } from './dss-settings.js';
import {
  formatReadVersion,
  profileDigest,
  profileFieldsInConflict,
  READ_VERSION_FIELD,
} from './read-version.js';

export type DssSettingsService = ReturnType<typeof createDssSettingsService>;

/**
 * The DSS user-settings object: profile fields plus the secrets list, read and written whole by the
 * DSS clients. Reads carry markers, never values, and the version they read; a save is checked in full,
 * then applied in one transaction against what its read saw (docs/adr/0015), so a bad entry anywhere
 * leaves everything as it was and nothing written since the read is undone.
 */
export function createDssSettingsService(deps: {
  store: Store;
  users: UserService;
  secrets: SecretService;
  credentials: Pick<PluginCredentialService, 'dssView' | 'checkDssEntries' | 'applyDssEntries'>;
}) {
  const { store, users, secrets, credentials } = deps;

  async function view(caller: Caller, target: User) {
    const admin = isAdminCaller(caller);
    const markers = await secrets.markers(caller, target);
    const plugin = await credentials.dssView(target.id);
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
      secrets: markers.entries,
      credentials: plugin.entries,
      ...(admin ? { adminProperties: target.adminProperties } : {}),
      [READ_VERSION_FIELD]: formatReadVersion({
        secretsRevision: markers.revision,
        profile: profileDigest(target, admin),
        credentialsRevision: plugin.revision,
      }),
    };
  }

  return {
    async get(caller: Caller, login: string) {
      return view(caller, await users.get(caller, login));
    },

    async save(caller: Caller, login: string, body: unknown) {
      const admin = isAdminCaller(caller);
      const before = await users.get(caller, login);
      const input = parseDssSettings(body, before);
      // Checked before the transaction too, so a bad body is refused without taking the user's row.
      users.planPatch(caller, before, input.patch);
      const entries = input.secrets ? secrets.validateDssEntries(input.secrets) : undefined;
      const credentialEntries = input.credentials
        ? credentials.checkDssEntries(input.credentials)
        : undefined;
      await store.transaction(async (trx) => {
        await lockUser(trx, before.id);
        const target = await users.loadByLogin(trx, login);
        const read = input.readVersion;
        if (read && read.profile !== profileDigest(target, admin)) {
          const fields = profileFieldsInConflict(target, input.patch, admin);
          if (fields.length > 0)
            throw new Conflict(
              `${fields.join(', ')} changed after these settings were read; nothing was saved. Read the settings again and repeat your change.`,
              { fields },
            );
        }
        await users.applyPatch(trx, caller, target, users.planPatch(caller, target, input.patch));
        if (entries) await secrets.applyDssEntries(trx, caller, target, entries, read?.secretsRevision);
        if (credentialEntries)
          await credentials.applyDssEntries(
            trx,
            caller,
            target,
            credentialEntries,
            read?.credentialsRevision,
          );
      });
      return view(caller, await users.get(caller, login));
    },
  };
}
