import type { Clock } from '../../clock.js';
import { digestOf, type Keyring } from '../../crypto/index.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../../errors.js';
import type { Db, Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { requireOwnCredential, type Caller } from '../auth/caller.js';
import { currentDataKey, dataKeysByVersion } from '../secrets/data-key.repo.js';
import { MARKER_PREFIX } from '../secrets/secret.service.js';
import { claimCredentialsRevision, credentialsRevisionOf } from '../users/user.repo.js';
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

/** One entry of DSS's `credentials` dict as Coffer shows it: the type and markers, never a value. */
type DssEntry = Record<string, string>;

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
  async function openAll(userId: string, rows: repo.CredentialRow[], from: Db = db) {
    if (rows.length === 0) return [];
    const keys = await dataKeysByVersion(from, userId);
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
  async function markersOf(
    db: Db,
    userId: string,
    asked?: Awaited<ReturnType<typeof requests>>,
  ): Promise<Map<string, { row: repo.CredentialRow; type: CredentialType; entry: DssEntry }>> {
    const [wanted, mine] = await Promise.all([asked ?? requests(db), repo.credentialsOf(db, userId)]);
    const out = new Map<string, { row: repo.CredentialRow; type: CredentialType; entry: DssEntry }>();
    for (const m of mine) {
      const w = wanted.find((x) => sameKey(m, x.place));
      if (!w) continue;
      const marker = `${MARKER_PREFIX}${digestOf(Buffer.from(m.ciphertext).toString('base64')).slice(0, 32)}`;
      out.set(dssCredentialKey(w.place), {
        row: m,
        type: w.type,
        entry:
          w.type === 'BASIC'
            ? { type: 'BASIC', user: marker, password: marker }
            : { type: w.type, password: marker },
      });
    }
    return out;
  }

  /**
   * Seals and stores one credential at a credentials revision (`created_revision` is kept by the upsert
   * when the credential exists already).
   */
  async function write(
    trx: Db,
    userId: string,
    k: repo.CredentialKey,
    plaintext: string,
    stamp: { revision: number; written_by: string | null },
  ): Promise<void> {
    const sealed = await seal(trx, userId, k, plaintext);
    await repo.upsertCredential(trx, {
      user_id: userId,
      ...k,
      ...sealed,
      updated_at: clock.now(),
      created_revision: stamp.revision,
      ...stamp,
    });
  }

  /** Takes the user's row and counts one more write of their credentials; answers its revision. */
  async function claimRevision(trx: Db, userId: string, caller: Caller) {
    const revision = await claimCredentialsRevision(trx, userId);
    return { revision, written_by: caller.kind === 'user' ? caller.credentialId : null };
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
        await write(trx, me.user.id, k, plaintext, await claimRevision(trx, me.user.id, caller));
        await audit.record(trx, caller, [{ action: 'plugin_credential.set', detail: { ...c } }]);
      });
    },

    async delete(caller: Caller, c: CredentialPlace): Promise<void> {
      const me = requireOwnCredential(caller, 'deleting your plugin credentials');
      await store.transaction(async (trx) => {
        await claimRevision(trx, me.user.id, caller);
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

    /** The DSS settings view of a user's credentials: the revision read first, then the markers. */
    async dssView(userId: string): Promise<{ revision: number; entries: Record<string, DssEntry> }> {
      const revision = await credentialsRevisionOf(db, userId);
      const markers = await markersOf(db, userId);
      return { revision, entries: Object.fromEntries([...markers].map(([k, m]) => [k, m.entry])) };
    },

    /** Checks the shape of a DSS `credentials` dict before any transaction: keys and entries. */
    checkDssEntries(entries: Record<string, unknown>): Record<string, Record<string, unknown>> {
      for (const [key, entry] of Object.entries(entries)) {
        placeOfDssKey(key);
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
          throw new Invalid(`credentials[${key}] must be an object with type and password`);
      }
      return entries as Record<string, Record<string, unknown>>;
    },

    /**
     * Applies the `credentials` dict of a DSS settings save inside its transaction, which holds the
     * user's row, judged against the credentials revision its read saw (docs/adr/0015), as secrets are:
     * - a marker keeps the stored value, whatever it is now: a marker is never a value, and one the
     *   value was replaced or deleted since keeps what that later write left;
     * - a plain value is new, unless another credential wrote this one since the read: a conflict;
     * - a stored credential left out is deleted if the read saw it as it is. One another credential
     *   created since is kept (the read never saw it); one written since is a conflict. Without a read
     *   revision, leaving one out is refused rather than taken as a deletion.
     * Only their owner, with a credential of their own, changes them: an administrator's save of a
     * user's settings must hand them back unchanged.
     */
    async applyDssEntries(
      trx: Db,
      caller: Caller,
      target: { id: string },
      entries: Record<string, Record<string, unknown>>,
      readRevision: number | undefined,
    ): Promise<void> {
      const revision = await credentialsRevisionOf(trx, target.id);
      const read = readRevision ?? revision;
      if (read > revision)
        throw new Invalid('cofferReadVersion is newer than the stored settings; send back what GET returned');
      const credential = caller.kind === 'user' ? caller.credentialId : undefined;
      const wanted = await requests(trx);
      const stored = await markersOf(trx, target.id, wanted);
      const isMarker = (x: unknown) => typeof x === 'string' && x.startsWith(MARKER_PREFIX);
      const refuseOthers = (key: string) => {
        if (caller.kind !== 'user' || caller.user.id !== target.id)
          throw new Forbidden(
            `credentials[${key}]: plugin credentials are their owner's alone; an administrator cannot set or remove them`,
          );
        requireOwnCredential(caller, `credentials[${key}]: changing a plugin credential`);
      };
      const sets: { place: CredentialPlace; plaintext: string }[] = [];
      const deletes: { key: string; row: repo.CredentialRow }[] = [];
      const conflicts: string[] = [];
      const leftOut: string[] = [];
      for (const [key, e] of Object.entries(entries)) {
        const have = stored.get(key);
        const request = wanted.find((w) => dssCredentialKey(w.place) === key);
        const basic = (request?.type ?? have?.type ?? ('user' in e ? 'BASIC' : 'SINGLE_FIELD')) === 'BASIC';
        const fields = basic ? [e.user, e.password] : [e.password ?? e.value];
        if (fields.every(isMarker)) continue;
        if (!request) throw new NotFound(`credentials[${key}]: no preset asks for this credential`);
        if (have && have.row.revision > read && have.row.written_by !== credential) {
          conflicts.push(key);
          continue;
        }
        refuseOthers(key);
        let value: CredentialValue;
        if (request.type === 'BASIC') {
          // One field sent as its marker keeps that field: a password changed alone keeps its user.
          const kept = fields.some(isMarker) ? await keptBasic(key, have) : undefined;
          value = {
            user: isMarker(e.user) ? kept!.user : String(e.user ?? ''),
            password: isMarker(e.password) ? kept!.password : String(e.password ?? ''),
          };
        } else value = { value: typeof e.password === 'string' ? e.password : String(e.value ?? '') };
        sets.push({ place: request.place, plaintext: plaintextOf(request.type, value, request.place) });
      }
      for (const [key, have] of stored) {
        if (key in entries) continue;
        const mine = have.row.written_by === credential;
        if (have.row.created_revision > read && !mine) continue;
        if (have.row.revision > read) conflicts.push(key);
        else if (readRevision === undefined) leftOut.push(key);
        else {
          refuseOthers(key);
          deletes.push({ key, row: have.row });
        }
      }
      if (conflicts.length > 0)
        throw new Conflict(
          `plugin ${conflicts.length === 1 ? 'credential' : 'credentials'} ${conflicts.join('; ')} changed after these settings were read; nothing was saved. Read the settings again and repeat your change.`,
          { credentials: conflicts },
        );
      if (leftOut.length > 0)
        throw new Invalid(
          `this save leaves out stored plugin ${leftOut.length === 1 ? 'credential' : 'credentials'} ${leftOut.join('; ')} but does not say which settings it read (cofferReadVersion); nothing was saved. Send back the object GET returned, with cofferReadVersion as it was.`,
        );
      if (sets.length === 0 && deletes.length === 0) return;
      const stamp = await claimRevision(trx, target.id, caller);
      for (const s of sets) {
        await write(trx, target.id, keyOf(s.place), s.plaintext, stamp);
        await audit.record(trx, caller, [{ action: 'plugin_credential.set', detail: { ...s.place } }]);
      }
      for (const d of deletes) {
        await repo.deleteCredential(trx, target.id, d.row);
        const place = placeOfDssKey(d.key);
        await audit.record(trx, caller, [{ action: 'plugin_credential.deleted', detail: { ...place } }]);
      }

      /** The stored user and password a BASIC entry keeps where it sends a marker (the owner's own save). */
      async function keptBasic(key: string, have: { row: repo.CredentialRow } | undefined) {
        if (!have)
          throw new Invalid(
            `credentials[${key}]: a field is sent as the marker of a value that is no longer stored; send both the user and the password`,
          );
        const [opened] = await openAll(target.id, [have.row], trx);
        return decode(opened!.text) as { user: string; password: string };
      }
    },
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
