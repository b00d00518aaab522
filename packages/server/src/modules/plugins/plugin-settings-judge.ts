/*
 * A DSS plugin settings save judged against the read it came from (docs/adr/0021, after docs/adr/0015).
 * dataikuapi saves the plugin settings object by read-modify-write: GET it, edit it, POST it whole. A
 * preset another administrator created, changed or deleted between the GET and the POST would otherwise be
 * deleted, undone or brought back by a POST that never saw the change, and deleting a preset deletes
 * every user's credential for it. The save says which read it comes from (its settings revision R), and
 * every preset and the config record the revision and the credential that last wrote them.
 *
 * | The body                       | Stored                                              | Result          |
 * | ------------------------------ | --------------------------------------------------- | --------------- |
 * | sends it as stored             | anything                                            | unchanged       |
 * | sends it changed, or new       | written after R by another credential (or deleted)  | conflict (409)  |
 * | sends it changed, or new       | otherwise                                           | written         |
 * | leaves a preset out            | last written at or before R                         | deleted         |
 * | leaves a preset out            | created after R by another credential               | kept: unseen    |
 * | leaves a preset out            | otherwise (changed after R, or this one's own)      | conflict (409)  |
 *
 * A credential's own writes since R are no conflict: dataikuapi's create_preset saves the same object
 * again, sending its first save back. Pure: the caller reads the rows and applies the outcome.
 */

export interface StoredPart {
  /** JSON text in a canonical form, so equal values compare equal. */
  readonly content: string;
  readonly createdRevision: number;
  readonly updatedRevision: number;
  readonly writtenBy: string | null;
}

export interface Deletion {
  readonly revision: number;
  readonly by: string | null;
}

export interface SettingsSave {
  /** The settings revision the save was read at; undefined for a body not read from Coffer. */
  readonly readRevision: number | undefined;
  /** The credential making the save (null for the operator's CLI). */
  readonly by: string | null;
  readonly config: { readonly sent: string; readonly stored: StoredPart };
  /** By preset key. */
  readonly sentPresets: ReadonlyMap<string, string>;
  readonly storedPresets: ReadonlyMap<string, StoredPart>;
  readonly deletedPresets: ReadonlyMap<string, Deletion>;
}

export interface SettingsVerdict {
  /** What changed after the read and this save would undo or overwrite: each with why. */
  readonly conflicts: { key: string; reason: string }[];
  /** Presets a body not read from Coffer leaves out: not deleted on a guess. */
  readonly leftOutUnread: string[];
  readonly writeConfig: boolean;
  readonly upsert: string[];
  readonly remove: string[];
}

export function judgeSettingsSave(s: SettingsSave): SettingsVerdict {
  const R = s.readRevision;
  const others = (by: string | null) => by === null || by !== s.by;
  const after = (revision: number) => R !== undefined && revision > R;
  const conflicts: { key: string; reason: string }[] = [];
  const upsert: string[] = [];
  const remove: string[] = [];
  const leftOutUnread: string[] = [];

  let writeConfig = false;
  if (s.config.sent !== s.config.stored.content) {
    if (after(s.config.stored.updatedRevision) && others(s.config.stored.writtenBy))
      conflicts.push({ key: 'config', reason: 'was changed after these settings were read' });
    else writeConfig = true;
  }

  for (const [key, sent] of s.sentPresets) {
    const stored = s.storedPresets.get(key);
    if (stored) {
      if (sent === stored.content) continue;
      if (after(stored.updatedRevision) && others(stored.writtenBy))
        conflicts.push({ key, reason: 'was changed after these settings were read' });
      else upsert.push(key);
    } else {
      const deleted = s.deletedPresets.get(key);
      if (deleted && after(deleted.revision) && others(deleted.by))
        conflicts.push({ key, reason: 'was deleted after these settings were read' });
      else upsert.push(key);
    }
  }

  for (const [key, stored] of s.storedPresets) {
    if (s.sentPresets.has(key)) continue;
    if (R === undefined) leftOutUnread.push(key);
    else if (!after(stored.updatedRevision)) remove.push(key);
    else if (after(stored.createdRevision) && others(stored.writtenBy)) continue;
    else
      conflicts.push({
        key,
        reason: `was ${after(stored.createdRevision) ? 'created' : 'changed'} after these settings were read`,
      });
  }

  return { conflicts, leftOutUnread, writeConfig, upsert, remove };
}
