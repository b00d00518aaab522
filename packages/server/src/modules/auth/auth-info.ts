import { Type } from 'typebox';
import { parseQueryBool } from '../../http/dss-wire.js';
import type { SecretService } from '../secrets/secret.service.js';
import { requireUser, type Caller } from './caller.js';

export const AuthInfo = Type.Object({
  authIdentifier: Type.String(),
  authSource: Type.String(),
  via: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
  userProfile: Type.String(),
  associatedDSSUser: Type.String(),
  secrets: Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.String() }))),
});

/**
 * Who the caller is, in the DSS shape; with secrets, the caller's own decrypted values. This (and its
 * DSS twin) is the only way a value leaves the server.
 */
export async function describeCaller(caller: Caller, secrets: SecretService, withSecrets: boolean) {
  const c = requireUser(caller);
  const info = {
    authIdentifier: c.user.login,
    authSource: c.source,
    via: [] as string[],
    groups: [...c.user.groups],
    userProfile: c.user.userProfile,
    associatedDSSUser: c.user.login,
  };
  if (!withSecrets) return info;
  return { ...info, secrets: await secrets.revealForOwnerCode(c) };
}

/** The auth-info call as both APIs serve it: `withSecrets` read as the DSS clients send it. */
export function authInfoFor(
  caller: Caller,
  query: { withSecrets?: string | undefined },
  secrets: SecretService,
) {
  return describeCaller(caller, secrets, parseQueryBool(query.withSecrets, 'withSecrets', false));
}
