import type { Clock } from '../../clock.js';
import { digestOf, type Keyring } from '../../crypto/index.js';
import { Forbidden, Invalid, NotFound } from '../../errors.js';
import type { Db, Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { requireOwnCredential, type Caller } from '../auth/caller.js';
import { currentDataKey, dataKeysByVersion } from '../secrets/data-key.repo.js';
import { MARKER_PREFIX } from '../secrets/secret.service.js';
import type { ParamDesc, PluginManifest } from './plugin.model.js';
import * as repo from './plugin.repo.js';

/*
 * Each user's own values for the credentials that presets ask for (CREDENTIAL_REQUEST and PASSWORD
 * parameters of a parameter set): sealed under the user's data key like secrets, bound to the user and
 * to the exact plugin, parameter set, preset and parameter, never shown again once entered, and opened
 * only for a run of that user's own code. Nobody else, administrators included, has a way to read one.
 */

export type CredentialType = 'SINGLE_FIELD' | 'BASIC' | 'PASSWORD';

export interface CredentialPlace {
  plugin: string;
  parameterSet: string;
  preset: string;
  param: string;
}

export type CredentialValue = { value: string } | { user: string; password: string };

/** What a run receives for one credential: a string (SINGLE_FIELD, PASSWORD) or DSS's BASIC dict. */
export type OpenedCredential = string | { user: string; password: string };

const MAX_VALUE_CHARS = 64 * 1024;

const sealName = repo.credentialSealName;

/** DSS's key for a plugin credential in user settings: the JSON list without its brackets. */
export function dssCredentialKey(k: CredentialPlace): string {
  return JSON.stringify(['PLUGIN', k.plugin, k.parameterSet, k.preset, k.param])
    .slice(1, -1)
    .replaceAll('","', '", "');
}

/** The place a DSS credentials key names; only plugin credentials ("PLUGIN", …) exist in Coffer. */
function placeOfDssKey(key: string): CredentialPlace {
  let parts: unknown;
  try {
    parts = JSON.parse(`[${key}]`);
  } catch {
    parts = undefined;
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 5 ||
    parts[0] !== 'PLUGIN' ||
    !parts.every((p) => typeof p === 'string')
  )
    throw new Invalid(
      `credentials[${key}]: Coffer keeps only plugin credentials ("PLUGIN", "<plugin>", "<parameter set>", "<preset>", "<param>"); connection credentials are not supported, store them as secrets instead`,
    );
  const [, plugin, parameterSet, preset, param] = parts as string[];
  return { plugin: plugin!, parameterSet: parameterSet!, preset: preset!, param: param! };
}

/** The kind of value a parameter of a parameter set asks each user for, if it asks for one. */
export function credentialTypeOf(p: ParamDesc): CredentialType | undefined {
  if (p.type === 'PASSWORD') return 'PASSWORD';
  if (p.type === 'CREDENTIAL_REQUEST') return p.credentialRequestType ?? 'SINGLE_FIELD';
  return undefined;
}

export type PluginCredentialService = ReturnType<typeof createPluginCredentialService>;

export function createPluginCredentialService(deps: {
  store: Store;
  keyring: Keyring;
  clock: Clock;
  audit: AuditLog;
}) {
  const { store, keyring, clock, audit } = deps;
  const db = store.db;

  /** Every credential that presets ask users for, with the parameter that asks. */
  async function requests(db: Db) {
    const plugins = new Map((await repo.listPlugins(db)).map((p) => [p.id, p]));
    const out: {
      place: CredentialPlace;
      type: CredentialType;
      param: ParamDesc;
      manifest: PluginManifest;
      setLabel: string;
    }[] = [];
    for (const preset of await repo.allPresets(db)) {
      const plugin = plugins.get(preset.plugin_id);
      const set = plugin?.manifest.parameterSets.find((s) => s.id === preset.parameter_set);
      if (!plugin || !set) continue;
      for (const param of set.params) {
        const type = credentialTypeOf(param);
        if (type)
          out.push({
            place: { plugin: plugin.id, parameterSet: set.id, preset: preset.name, param: param.name },
            type,
            param,
            manifest: plugin.manifest,
            setLabel: set.label,
          });
      }
    }
    return out;
  }

  const keyOf = (c: CredentialPlace): repo.CredentialKey => ({
    plugin_id: c.plugin,
    parameter_set: c.parameterSet,
    preset: c.preset,
    param: c.param,
  });
  const sameKey = (r: repo.CredentialKey, c: CredentialPlace) =>
    r.plugin_id === c.plugin &&
    r.parameter_set === c.parameterSet &&
    r.preset === c.preset &&
    r.param === c.param;

  async function requestAt(db: Db, c: CredentialPlace) {
    const found = (await requests(db)).find((r) => sameKey(keyOf(r.place), c));
    if (!found)
      throw new NotFound(
        `no preset asks for credential ${c.param} of ${c.plugin} / ${c.parameterSet} / ${c.preset}`,
      );
    return found;
  }

  function plaintextOf(type: CredentialType, v: CredentialValue, c: CredentialPlace): string {
    const what = `credential ${c.param} of preset ${c.parameterSet} / ${c.preset}`;
    const text = (x: unknown, field: string) => {
      if (typeof x !== 'string' || x.length === 0) throw new Invalid(`${what}: enter the ${field}`);
      if (x.length > MAX_VALUE_CHARS)
        throw new Invalid(`${what}: the ${field} is longer than ${MAX_VALUE_CHARS} characters`);
      return x;
    };
    if (type === 'BASIC') {
      if (!('user' in v)) throw new Invalid(`${what} asks for a user and a password`);
      return BASIC + JSON.stringify({ user: text(v.user, 'user'), password: text(v.password, 'password') });
    }
    if (!('value' in v)) throw new Invalid(`${what} asks for a single value`);
    return SINGLE + text(v.value, 'value');
  }

  async function seal(trx: Db, userId: string, k: repo.CredentialKey, plaintext: string) {
    const dk = await currentDataKey(trx, userId);
    if (!dk) throw new Error(`user ${userId} has no data key`);
    const dataKey = keyring.unwrapDataKey(userId, dk.version, dk.wrapped);
    return { ciphertext: keyring.seal(dataKey, sealName(k), plaintext), key_version: dk.version };
  }

  /** Opens a user's credentials (one read of their keys); for their own runs only. */
  async function openAll(userId: string, rows: repo.CredentialRow[]) {
    if (rows.length === 0) return [];
    const keys = await dataKeysByVersion(db, userId);
    return rows.map((r) => {
      const k = keys.get(r.key_version);
      if (!k)
        throw new Error(`a credential of user ${userId} needs data key ${r.key_version}, which is missing`);
      const text = keyring.open(
        keyring.unwrapDataKey(userId, k.version, k.wrapped),
        sealName(r),
        r.ciphertext,
      );
      return { row: r, text };
    });
  }

  /** DSS settings view: one marker per entered credential, under DSS's key; never a value. */
  async function dssMarkers(userId: string): Promise<Record<string, Record<string, string>>> {
    const [wanted, mine] = await Promise.all([requests(db), repo.credentialsOf(db, userId)]);
    const out: Record<string, Record<string, string>> = {};
    for (const m of mine) {
      const w = wanted.find((x) => sameKey(m, x.place));
      if (!w) continue;
      const marker = `${MARKER_PREFIX}${digestOf(Buffer.from(m.ciphertext).toString('base64')).slice(0, 32)}`;
      out[dssCredentialKey(w.place)] =
        w.type === 'BASIC'
          ? { type: 'BASIC', user: marker, password: marker }
          : { type: w.type, password: marker };
    }
    return out;
  }

  return {
    /** The credentials presets ask the caller for, and which they have entered. Never a value. */
    async list(caller: Caller) {
      const me = requireOwnCredential(caller, 'reading your plugin credentials');
      const [wanted, mine] = await Promise.all([requests(db), repo.credentialsOf(db, me.user.id)]);
      return wanted.map((w) => {
        const have = mine.find((m) => sameKey(m, w.place));
        return {
          plugin: w.place.plugin,
          pluginLabel: w.manifest.label,
          parameterSet: w.place.parameterSet,
          parameterSetLabel: w.setLabel,
          preset: w.place.preset,
          param: w.place.param,
          paramLabel: w.param.label,
          type: w.type,
          set: have !== undefined,
          updatedAt: have ? Number(have.updated_at) : null,
        };
      });
    },

    /** Enters or replaces the caller's own value for one credential. */
    async set(caller: Caller, c: CredentialPlace, value: CredentialValue): Promise<void> {
      const me = requireOwnCredential(caller, 'entering your plugin credentials');
      const { type } = await requestAt(db, c);
      const plaintext = plaintextOf(type, value, c);
      const k = keyOf(c);
      await store.transaction(async (trx) => {
        const sealed = await seal(trx, me.user.id, k, plaintext);
        await repo.upsertCredential(trx, { user_id: me.user.id, ...k, ...sealed, updated_at: clock.now() });
        await audit.record(trx, caller, [{ action: 'plugin_credential.set', detail: { ...c } }]);
      });
    },

    async delete(caller: Caller, c: CredentialPlace): Promise<void> {
      const me = requireOwnCredential(caller, 'deleting your plugin credentials');
      await store.transaction(async (trx) => {
        if (!(await repo.deleteCredential(trx, me.user.id, keyOf(c))))
          throw new NotFound(
            `you have no credential ${c.param} for ${c.plugin} / ${c.parameterSet} / ${c.preset}`,
          );
        await audit.record(trx, caller, [{ action: 'plugin_credential.deleted', detail: { ...c } }]);
      });
    },

    /** Which of a plugin's credentials a user has entered (no value opened). */
    async entered(userId: string, pluginId: string): Promise<repo.CredentialKey[]> {
      return repo.credentialsOf(db, userId, pluginId);
    },

    /**
     * A user's credentials for one plugin, opened, for a run of that user's own code: they live in the
     * run's closure and its process, and nowhere else.
     */
    async openForRun(
      userId: string,
      pluginId: string,
    ): Promise<{ key: repo.CredentialKey; value: OpenedCredential }[]> {
      const opened = await openAll(userId, await repo.credentialsOf(db, userId, pluginId));
      return opened.map(({ row, text }) => ({
        key: row,
        value: decode(text),
      }));
    },

    /** Every value of a user's credentials, for masking what their code prints. */
    async valuesForMasking(userId: string): Promise<string[]> {
      const opened = await openAll(userId, await repo.credentialsOf(db, userId));
      return opened.flatMap(({ text }) => {
        const v = decode(text);
        return typeof v === 'string' ? [v] : [v.password, v.user];
      });
    },

    /**
     * Checks the `credentials` dict of a DSS settings save against what is stored (dssMarkers): an entry
     * equal to its marker keeps the value, any other is a new value, a stored one left out is deleted.
     * Only plugin credentials exist; and only their owner changes them (an administrator's save of a
     * user's settings must hand them back unchanged). Answers the plan that applyDssPlan carries out.
     */
    async planDssEntries(caller: Caller, target: { id: string }, entries: Record<string, unknown>) {
      const current = await dssMarkers(target.id);
      const wanted = await requests(db);
      const own = caller.kind === 'user' && caller.user.id === target.id;
      const sets: { place: CredentialPlace; plaintext: string }[] = [];
      const deletes: CredentialPlace[] = [];
      const refuseOthers = (what: string) => {
        if (!own)
          throw new Forbidden(
            `credentials[${what}]: plugin credentials are their owner's alone; an administrator cannot set or remove them`,
          );
      };
      for (const [key, entry] of Object.entries(entries)) {
        const place = placeOfDssKey(key);
        if (JSON.stringify(current[key]) === JSON.stringify(entry)) continue;
        refuseOthers(key);
        const request = wanted.find((w) => dssCredentialKey(w.place) === dssCredentialKey(place));
        if (!request) throw new NotFound(`credentials[${key}]: no preset asks for this credential`);
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
          throw new Invalid(`credentials[${key}] must be an object with type and password`);
        const e = entry as Record<string, unknown>;
        const value: CredentialValue =
          request.type === 'BASIC'
            ? { user: String(e.user ?? ''), password: String(e.password ?? '') }
            : { value: typeof e.password === 'string' ? e.password : String(e.value ?? '') };
        sets.push({ place: request.place, plaintext: plaintextOf(request.type, value, request.place) });
      }
      for (const key of Object.keys(current))
        if (!(key in entries)) {
          refuseOthers(key);
          deletes.push(placeOfDssKey(key));
        }
      return { sets, deletes };
    },

    /** Carries out a plan of planDssEntries in the settings save's transaction. */
    async applyDssPlan(
      trx: Db,
      caller: Caller,
      target: { id: string },
      plan: { sets: { place: CredentialPlace; plaintext: string }[]; deletes: CredentialPlace[] },
    ): Promise<void> {
      for (const s of plan.sets) {
        const k = keyOf(s.place);
        const sealed = await seal(trx, target.id, k, s.plaintext);
        await repo.upsertCredential(trx, { user_id: target.id, ...k, ...sealed, updated_at: clock.now() });
        await audit.record(trx, caller, [{ action: 'plugin_credential.set', detail: { ...s.place } }]);
      }
      for (const d of plan.deletes) {
        await repo.deleteCredential(trx, target.id, keyOf(d));
        await audit.record(trx, caller, [{ action: 'plugin_credential.deleted', detail: { ...d } }]);
      }
    },

    dssMarkers,
  };
}

/*
 * What is sealed: the kind, then the value, so a single value that looks like JSON is never taken for
 * a user and password.
 */
const SINGLE = 'S\u0000';
const BASIC = 'B\u0000';

function decode(text: string): OpenedCredential {
  if (text.startsWith(BASIC))
    return JSON.parse(text.slice(BASIC.length)) as { user: string; password: string };
  return text.slice(SINGLE.length);
}
