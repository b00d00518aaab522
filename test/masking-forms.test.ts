/*
 * Issue 13's forms, through real job logs: one recipe per language prints each value in every form
 * of test/support/masking-forms.ts (what repr, tracebacks, serialisers, URL encoders, base64 and
 * truncating displays print), and the job's log must hold no readable copy of any of them (the
 * definition is `readableCopies`). test/masking-forms-notebook.test.ts runs the same table through
 * notebook kernels.
 */
import { describe, expect, it } from 'vitest';
import { runRecipe } from './support/jobs.js';
import {
  MASKING_FORMS,
  type MaskingLanguage,
  problemsOf,
  programFor,
  sectionsOf,
  useMaskingUser,
} from './support/masking-forms.js';

const LANGUAGES: MaskingLanguage[] = ['python', 'r', 'javascript'];

describe('masking holds for the forms code prints values in, in job logs', () => {
  const suite = useMaskingUser('MASK');

  it.each(LANGUAGES)('%s: no form leaves a value readable', async (language) => {
    const { server, user } = suite();
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
      problems.push(...problemsOf(form, out));
    }
    expect(problems).toEqual([]);
  });
});
