import { textProblem, type TextRule } from '@coffer/client/rules';
import { Invalid } from './errors.js';

/*
 * The one place every module checks the text it stores (docs/adr/0018-text-rules.md). The rules live in
 * the client package so that the web UI says the same as a person types; here they become 400 answers.
 */

export type { TextRule };

/** Single-line text of at most `max` characters: names, labels, logins, emails. */
export const line = (max: number): TextRule => ({ max });
/** Text that may have tabs and line breaks: code, descriptions. */
export const multiline = (max?: number): TextRule => ({ multiline: true, ...(max ? { max } : {}) });

/** Returns the text when it follows the rule; throws Invalid (400) naming the field otherwise. */
export function checkText(field: string, value: string, rule: TextRule = {}): string {
  const problem = textProblem(field, value, rule);
  if (problem) throw new Invalid(problem);
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks every key and string inside a JSON value stored as given (user preferences): keys are
 * single-line, strings multi-line. `field` names where each problem is, e.g. preferences.ui.theme.
 */
export function checkJsonText(field: string, value: unknown, limits: { keyMax: number }): void {
  if (typeof value === 'string') checkText(field, value, multiline());
  else if (Array.isArray(value)) value.forEach((v, i) => checkJsonText(`${field}[${i}]`, v, limits));
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) {
      checkText(`a key in ${field}`, k, line(limits.keyMax));
      checkJsonText(`${field}.${k}`, v, limits);
    }
}
