import { canonicalJson } from '../../canonical-json.js';
import { sha256Digest } from '../../crypto/digest.js';
import { Invalid } from '../../errors.js';
import type { UserPatchInput } from '../users/user.service.js';
import type { User } from '../users/user.model.js';

/*
 * The DSS clients save settings by read-modify-write: GET the whole object, edit it, PUT it back. What
 * the PUT leaves out or sends unchanged only means something relative to what its GET saw, so the GET
 * carries `cofferReadVersion` and the unmodified clients send it back with the rest (docs/adr/0015).
 * It holds the user's secrets revision, a digest of the profile as the caller was shown it, and the
 * user's plugin credentials revision (added later: a version without it still parses, and then says
 * nothing of what was read of the credentials).
 */

export const READ_VERSION_FIELD = 'cofferReadVersion';

export interface ReadVersion {
  /** The user's secrets revision, read before the list of secrets was. */
  readonly secretsRevision: number;
  /** A digest of the profile fields the caller was shown. */
  readonly profile: string;
  /** The user's plugin credentials revision, read before their markers were; absent in older versions. */
  readonly credentialsRevision?: number | undefined;
}

const FORMAT = /^(\d{1,15})\.([0-9a-f]{16})(?:\.(\d{1,15}))?$/;

export function formatReadVersion(v: ReadVersion): string {
  const credentials = v.credentialsRevision === undefined ? '' : `.${v.credentialsRevision}`;
  return `${v.secretsRevision}.${v.profile}${credentials}`;
}

export function parseReadVersion(raw: unknown): ReadVersion | undefined {
  if (raw === undefined || raw === null) return undefined;
  const m = typeof raw === 'string' ? FORMAT.exec(raw) : null;
  if (!m)
    throw new Invalid(
      `${READ_VERSION_FIELD} must be sent back exactly as the settings were read (GET current-user or admin/users/{login})`,
    );
  return {
    secretsRevision: Number(m[1]),
    profile: m[2]!,
    credentialsRevision: m[3] === undefined ? undefined : Number(m[3]),
  };
}

/** The editable profile fields as a caller sees them: administrators also see adminProperties. */
function profileOf(user: User, admin: boolean): Required<UserPatchInput> {
  return {
    displayName: user.displayName,
    email: user.email,
    groups: [...user.groups].sort(),
    userProfile: user.userProfile,
    enabled: user.enabled,
    userProperties: user.userProperties,
    // Left out of a user's digest: they are not shown these, and a digest would let them test guesses.
    adminProperties: admin ? user.adminProperties : {},
    preferences: user.preferences,
  };
}

export function profileDigest(user: User, admin: boolean): string {
  const d = sha256Digest();
  d.update(canonicalJson(profileOf(user, admin)));
  return d.hex().slice(0, 16);
}

/**
 * The fields a save would change whose stored value is no longer the one its GET showed. Only asked
 * when the profile changed since that GET: a field sent unchanged then may be an older value that
 * would undo someone else's change, and a field sent changed may overwrite it.
 */
export function profileFieldsInConflict(current: User, patch: UserPatchInput, admin: boolean): string[] {
  const now = profileOf(current, admin);
  const sent: UserPatchInput = { ...patch, groups: patch.groups && [...patch.groups].sort() };
  return (Object.keys(now) as (keyof UserPatchInput)[]).filter(
    (k) => sent[k] !== undefined && canonicalJson(sent[k]) !== canonicalJson(now[k]),
  );
}
