/*
 * Issue 13's forms, through real job logs: one recipe per language prints each value in every form
 * of test/support/masking-forms.ts (what repr, tracebacks, serialisers, URL encoders, base64 and
 * truncating displays print), and the job's log must hold no readable copy of any of them (the
 * definition is `readableCopies`). The same table will run through notebook outputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecipe } from './support/jobs.js';
import {
  MASKING_FORMS,
  MASKING_VALUES,
  type MaskingLanguage,
  type MaskingValueKey,
  programFor,
  readableCopies,
  secretNameOf,
  sectionsOf,
} from './support/masking-forms.js';
import { TestServer, type TestUser } from './support/test-server.js';

const LANGUAGES: MaskingLanguage[] = ['python', 'r', 'javascript'];

describe('masking holds for the forms code prints values in, in job logs', () => {
  let server: TestServer;
  let user: TestUser;
  let workRoot: string;

  beforeAll(async () => {
    workRoot = mkdtempSync(path.join(tmpdir(), 'coffer-masking-forms-'));
    server = await TestServer.start({ COFFER_JOB_WORK_DIR: workRoot });
    user = await server.createUser('masked');
    for (const [key, value] of Object.entries(MASKING_VALUES)) {
      const put = await server.request('PUT', `/api/v1/me/secrets/${secretNameOf(key as MaskingValueKey)}`, {
        key: user.key,
        body: { value },
      });
      expect(put.status, put.text).toBe(201);
    }
    const p = await server.request('POST', '/api/v1/projects', {
      key: user.key,
      body: { key: 'MASK', name: 'Mask' },
    });
    expect(p.status, p.text).toBe(201);
  });
  afterAll(async () => {
    await server.close();
    rmSync(workRoot, { recursive: true, force: true });
  });

  it.each(LANGUAGES)('%s: no form leaves a value readable', async (language) => {
    const forms = MASKING_FORMS.filter((f) => f[language] !== undefined);
    const job = await runRecipe(
      server,
      user,
      'MASK',
      `forms-${language}`,
      language,
      programFor(language, forms),
      {
        timeoutSeconds: 120,
      },
    );
    expect(job.state, job.log).toBe('succeeded');
    const sections = sectionsOf(job.log);
    const problems: string[] = [];
    for (const form of forms) {
      const out = sections.get(form.name);
      if (out === undefined) {
        problems.push(`${form.name}: no output`);
        continue;
      }
      // Every form prints its value: no mask means the value never reached the code.
      if (!out.includes('*****')) problems.push(`${form.name}: nothing masked in ${JSON.stringify(out)}`);
      const readable = readableCopies(out, MASKING_VALUES[form.value]);
      if (readable.length)
        problems.push(
          `${form.name}: readable as ${readable.slice(0, 3).join(', ')} in ${JSON.stringify(out)}`,
        );
      for (const kept of form.keeps ?? [])
        if (!out.includes(kept)) problems.push(`${form.name}: ${JSON.stringify(kept)} was masked too`);
    }
    expect(problems).toEqual([]);
  });
});
