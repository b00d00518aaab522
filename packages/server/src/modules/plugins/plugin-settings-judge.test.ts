import { describe, expect, it } from 'vitest';
import { judgeSettingsSave, type SettingsSave, type StoredPart } from './plugin-settings-judge.js';

const R = 10;
const ME = 'key-me';
const OTHER = 'key-other';
const part = (content: string, created: number, updated: number, by: string | null): StoredPart => ({
  content,
  createdRevision: created,
  updatedRevision: updated,
  writtenBy: by,
});

/** A save read at R that sends back config `{}` and preset `a` as stored, unless told otherwise. */
function save(over: Partial<SettingsSave> = {}): SettingsSave {
  return {
    readRevision: R,
    by: ME,
    config: { sent: '{}', stored: part('{}', 0, 3, OTHER) },
    sentPresets: new Map([['a', 'A']]),
    storedPresets: new Map([['a', part('A', 1, 5, OTHER)]]),
    deletedPresets: new Map(),
    ...over,
  };
}

describe('a plugin settings save judged against its read', () => {
  it('sent back as read: nothing to write, nothing in conflict', () => {
    expect(judgeSettingsSave(save())).toEqual({
      conflicts: [],
      leftOutUnread: [],
      writeConfig: false,
      upsert: [],
      remove: [],
    });
  });

  it('a preset changed in the body and untouched since the read is written', () => {
    expect(judgeSettingsSave(save({ sentPresets: new Map([['a', 'A2']]) })).upsert).toEqual(['a']);
  });

  it('a preset another credential changed after the read, sent changed: conflict, nothing written', () => {
    const v = judgeSettingsSave(
      save({
        sentPresets: new Map([['a', 'A2']]),
        storedPresets: new Map([['a', part('A-theirs', 1, R + 1, OTHER)]]),
      }),
    );
    expect(v.conflicts).toEqual([{ key: 'a', reason: 'was changed after these settings were read' }]);
    expect(v.upsert).toEqual([]);
  });

  it("the same credential's own write after the read is not a conflict (create_preset saves twice)", () => {
    const v = judgeSettingsSave(
      save({
        sentPresets: new Map([
          ['a', 'A'],
          ['b', 'B2'],
        ]),
        storedPresets: new Map([
          ['a', part('A', 1, 5, OTHER)],
          ['b', part('B', R + 1, R + 1, ME)],
        ]),
      }),
    );
    expect(v).toMatchObject({ conflicts: [], upsert: ['b'] });
  });

  it('left out: deleted when untouched since the read, kept when another created it after', () => {
    const v = judgeSettingsSave(
      save({
        sentPresets: new Map(),
        storedPresets: new Map([
          ['old', part('O', 1, R, OTHER)],
          ['new', part('N', R + 1, R + 1, OTHER)],
        ]),
      }),
    );
    expect(v).toMatchObject({ conflicts: [], remove: ['old'], upsert: [] });
  });

  it('left out after another changed it, or after this credential created it: conflict', () => {
    const v = judgeSettingsSave(
      save({
        sentPresets: new Map(),
        storedPresets: new Map([
          ['changed', part('C', 1, R + 2, OTHER)],
          ['mine', part('M', R + 1, R + 1, ME)],
        ]),
      }),
    );
    expect(v.conflicts.map((c) => c.key)).toEqual(['changed', 'mine']);
  });

  it('sent back after another deleted it: conflict, not brought back; deleted before the read: created', () => {
    const later = judgeSettingsSave(
      save({ storedPresets: new Map(), deletedPresets: new Map([['a', { revision: R + 1, by: OTHER }]]) }),
    );
    expect(later.conflicts).toEqual([{ key: 'a', reason: 'was deleted after these settings were read' }]);
    const earlier = judgeSettingsSave(
      save({ storedPresets: new Map(), deletedPresets: new Map([['a', { revision: R - 1, by: OTHER }]]) }),
    );
    expect(earlier).toMatchObject({ conflicts: [], upsert: ['a'] });
  });

  it('the config: written when untouched since the read, a conflict when another changed it', () => {
    expect(
      judgeSettingsSave(save({ config: { sent: '{"x":1}', stored: part('{}', 0, 3, OTHER) } })).writeConfig,
    ).toBe(true);
    const v = judgeSettingsSave(
      save({ config: { sent: '{"x":1}', stored: part('{"x":2}', 0, R + 1, OTHER) } }),
    );
    expect(v).toMatchObject({ writeConfig: false, conflicts: [{ key: 'config' }] });
  });

  it('a body not read from Coffer deletes nothing on a guess: presets it leaves out are named', () => {
    const v = judgeSettingsSave(save({ readRevision: undefined, sentPresets: new Map() }));
    expect(v).toMatchObject({ leftOutUnread: ['a'], remove: [] });
  });
});
