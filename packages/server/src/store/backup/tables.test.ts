import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { openStore } from '../store.js';
import { BACKED_UP, LEFT_OUT } from './tables.js';

it('every table of the schema is either backed up or deliberately left out', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-tables-'));
  const store = await openStore({ dataDir: dir });
  try {
    const tables = (await store.db.introspection.getTables()).map((t) => t.name).sort();
    const decided = [...BACKED_UP.map((t) => t.table), ...LEFT_OUT].sort();
    expect(decided).toEqual(tables);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
