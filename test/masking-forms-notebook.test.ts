/*
 * Issue 13's forms, through real notebook kernels: the table of test/support/masking-forms.ts, as
 * test/masking-forms.test.ts runs it through job logs. One kernel per language that has one (Python,
 * R: there is no JavaScript kernel). The printing snippets run as one cell, between markers; each
 * notebook-only form (a last expression, a display, an uncaught error) runs as a cell of its own. What
 * a client receives over the kernel's WebSocket — every string of every message the cell brings:
 * streams, execute results, display data, errors — must hold no readable copy of any value.
 */
import { describe, expect, it } from 'vitest';
import { jupyterCall, openKernel, type Channels, type Msg } from './support/kernel-session.js';
import {
  cellFor,
  type KernelLanguage,
  MASKING_FORMS,
  problemsOf,
  programFor,
  sectionsOf,
  useMaskingUser,
} from './support/masking-forms.js';

const KERNELS: KernelLanguage[] = ['python', 'r'];
/** A cell that does not answer in this time lost a message on the way (or its kernel hangs). */
const CELL_TIMEOUT_MS = 30_000;

/** Every string of a message's content (keys too), as a client reads them: one per line. */
function shown(messages: readonly Msg[]): string {
  const strings: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') strings.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) {
        strings.push(k);
        walk(x);
      }
  };
  for (const m of messages) walk(m.content);
  return strings.join('\n');
}

describe('masking holds for the forms code prints values in, in notebook outputs', () => {
  const suite = useMaskingUser('MASKNB');

  it.each(KERNELS)(
    '%s kernel: no form leaves a value readable',
    async (language) => {
      const { server, user } = suite();
      const made = await server.request('PUT', `/api/v1/projects/MASKNB/notebooks/forms-${language}`, {
        key: user.key,
        body: { language },
      });
      expect(made.status, made.text).toBe(201);
      const { channels, sessionId } = await openKernel(
        server.url,
        user.key,
        `MASKNB/forms-${language}.ipynb`,
      );
      try {
        const problems: string[] = [];
        // The cell's messages once it has answered (or what came, when a message was lost on the way).
        const run = async (code: string): Promise<Msg[]> => {
          const { reply } = await executeOrSay(channels, code);
          return channels.messages.filter((m) => m.parent_header?.msg_id === reply.parent_header?.msg_id);
        };

        const printed = MASKING_FORMS.filter((f) => f[language] !== undefined);
        const streams = (await run(programFor(language, printed, { notebook: true }))).filter(
          (m) => m.msg_type === 'stream',
        );
        const sections = sectionsOf(streams.map((m) => m.content!.text).join(''));
        for (const form of printed) {
          const out = sections.get(form.name);
          if (out === undefined) problems.push(`${form.name}: no output`);
          else problems.push(...problemsOf(form, out));
        }

        for (const form of MASKING_FORMS.filter((f) => f.cell?.[language] !== undefined)) {
          const messages = await run(cellFor(language, form));
          problems.push(...problemsOf(form, shown(messages)));
        }
        expect(problems).toEqual([]);
      } finally {
        channels.ws.close();
        await jupyterCall(server.url, user.key, 'DELETE', `/jupyter/api/sessions/${sessionId}`);
      }
    },
    240_000,
  );
});

/** Runs a cell; a cell that never answers fails the test with what did come for it. */
async function executeOrSay(channels: Channels, code: string) {
  try {
    return await channels.execute(code, CELL_TIMEOUT_MS);
  } catch (e) {
    throw new Error(
      `a cell did not answer (a message of the kernel lost on the way?): ${(e as Error).message.slice(0, 2000)}`,
    );
  }
}
