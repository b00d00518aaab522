import { Invalid } from '../../errors.js';
import type { ProjectRole, RecipeLanguage } from '../../store/schema.js';
import { checkText, multiline } from '../../text-rules.js';

export const ROLES: readonly ProjectRole[] = ['owner', 'contributor', 'reader'];
export const LANGUAGES: readonly RecipeLanguage[] = ['python', 'r', 'javascript'];
export const MAX_CODE_BYTES = 256 * 1024;

/** Project keys are identifiers in URLs and job environments: upper case, as in DSS. */
export function checkProjectKey(key: string): string {
  if (!/^[A-Z][A-Z0-9_]{1,63}$/.test(key))
    throw new Invalid(
      'project key must be 2–64 characters: upper-case letters, digits and _, starting with a letter',
    );
  return key;
}

/** A project name is one line of text; white space around it is dropped. */
export function checkProjectName(name: string): string {
  const n = checkText('project name', name).trim();
  if (n.length === 0 || [...n].length > 200) throw new Invalid('project name must be 1–200 characters');
  return n;
}

/** Recipe names become file names in a job's working directory, so they stay plain. */
export function checkRecipeName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name))
    throw new Invalid(
      'recipe name must be 1–100 characters: letters, digits, _ . and -, starting with a letter or digit',
    );
  return name;
}

/** Code is text of any length up to the limit, with tabs and line breaks but no other control character. */
export function checkCode(code: string): string {
  const bytes = Buffer.byteLength(code, 'utf8');
  if (bytes > MAX_CODE_BYTES)
    throw new Invalid(`recipe code is ${bytes} bytes; the limit is ${MAX_CODE_BYTES} bytes (256 KiB)`);
  return checkText('recipe code', code, multiline());
}
