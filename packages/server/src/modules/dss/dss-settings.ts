import { Invalid } from '../../errors.js';
import type { UserPatchInput } from '../users/user.service.js';
import type { User } from '../users/user.model.js';
import { parseReadVersion, READ_VERSION_FIELD, type ReadVersion } from './read-version.js';

/** Fields a DSS settings object may carry; unknown fields are refused so nothing is silently dropped. */
const KNOWN_FIELDS = new Set([
  'login',
  'displayName',
  'email',
  'groups',
  'userProfile',
  'enabled',
  'sourceType',
  'userProperties',
  'adminProperties',
  'preferences',
  'secrets',
  'credentials',
  'creationDate',
  READ_VERSION_FIELD,
]);

export interface DssSettingsInput {
  patch: UserPatchInput;
  secrets: { name: unknown; value: unknown }[] | undefined;
  /** DSS's `credentials` dict as sent (plugin credentials, as markers or new values); undefined: absent. */
  credentials: Record<string, unknown> | undefined;
  /** What the client's GET saw; absent when the body was not read from Coffer. */
  readVersion: ReadVersion | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a DSS user-settings body into a user patch and a secrets list, checking every type first. */
export function parseDssSettings(body: unknown, target: User): DssSettingsInput {
  if (!isObject(body)) throw new Invalid('the body must be a JSON object of user settings');
  if ('password' in body) {
    throw new Invalid(
      'passwords are not set through user settings; use PUT /api/v1/admin/users/{login}/password or PUT /api/v1/me/password',
    );
  }
  for (const k of Object.keys(body))
    if (!KNOWN_FIELDS.has(k)) throw new Invalid(`unknown settings field ${JSON.stringify(k)}`);
  const str = (k: string): string | undefined => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new Invalid(`${k} must be a string`);
    return v;
  };
  const obj = (k: string): Record<string, unknown> | undefined => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) throw new Invalid(`${k} must be a JSON object`);
    return v;
  };
  const login = str('login');
  if (login !== undefined && login !== target.login) throw new Invalid('login cannot be changed');
  const sourceType = str('sourceType');
  if (sourceType !== undefined && sourceType !== target.sourceType)
    throw new Invalid('sourceType cannot be changed');
  let groups: string[] | undefined;
  if (body.groups !== undefined && body.groups !== null) {
    if (!Array.isArray(body.groups) || body.groups.some((g) => typeof g !== 'string'))
      throw new Invalid('groups must be a list of strings');
    groups = body.groups as string[];
  }
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean')
    throw new Invalid('enabled must be true or false');
  // Checked against what is stored by the plugin credentials service: only plugin credentials exist.
  const credentials = obj('credentials');
  let secrets: DssSettingsInput['secrets'];
  if (body.secrets !== undefined && body.secrets !== null) {
    if (!Array.isArray(body.secrets)) throw new Invalid('secrets must be a list of {name, value} objects');
    secrets = body.secrets.map((s, i) => {
      if (!isObject(s)) throw new Invalid(`secrets[${i}] must be an object with name and value`);
      for (const k of Object.keys(s)) {
        if (!['name', 'value', 'secret'].includes(k))
          throw new Invalid(`secrets[${i}] has an unknown field ${JSON.stringify(k)}`);
      }
      return { name: s.name, value: s.value };
    });
  }
  return {
    patch: {
      displayName: str('displayName'),
      email: str('email'),
      groups,
      userProfile: str('userProfile'),
      enabled: body.enabled as boolean | undefined,
      userProperties: obj('userProperties'),
      adminProperties: obj('adminProperties'),
      preferences: obj('preferences'),
    },
    secrets,
    credentials,
    readVersion: parseReadVersion(body[READ_VERSION_FIELD]),
  };
}
