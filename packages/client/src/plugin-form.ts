/*
 * The rules of a plugin's generated form (recipe.json / parameter-set.json `params`). The web form shows
 * these problems inline as a person types; the server refuses a save with the same sentences; the
 * archive reader checks each `defaultValue` with `paramValueProblem`. Pure: no Node or DOM APIs.
 */
import { isVisible } from './plugin-condition.js';
import type { PluginParam } from './types.js';

export { isVisible } from './plugin-condition.js';

/**
 * What these rules read of a parameter: a PluginParam, or the server's own (readonly) description of one.
 */
export type FormParam = Pick<PluginParam, 'name' | 'type' | 'label' | 'mandatory' | 'visibilityCondition'> & {
  readonly defaultValue?: unknown;
  readonly selectChoices?: readonly { readonly value: string; readonly label: string }[];
};

export interface FormProblem {
  /** The parameter's name. */
  param: string;
  /** A sentence naming the parameter by its label. */
  message: string;
}

/** Types whose value is not in the form's model: layout, or each user's own credential. */
const NOT_IN_MODEL = new Set<PluginParam['type']>(['SEPARATOR', 'CREDENTIAL_REQUEST', 'PASSWORD']);

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A calendar date: 2024-02-30 matches the pattern but is not a day. */
function isIsoDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && !Number.isNaN(Date.parse(value));
}

function choiceList(param: FormParam): string {
  return (param.selectChoices ?? []).map((c) => JSON.stringify(c.value)).join(', ');
}

/**
 * Why `value` is not a value of this parameter's type, as the end of a sentence ("must be a whole
 * number"), or null when it is fine. Says nothing of emptiness: see `isEmptyValue`.
 */
export function paramValueProblem(param: FormParam, value: unknown): string | null {
  const choices = new Set((param.selectChoices ?? []).map((c) => c.value));
  switch (param.type) {
    case 'STRING':
    case 'TEXTAREA':
    case 'PASSWORD':
      return typeof value === 'string' ? null : 'must be text';
    case 'USER_SECRET':
      return typeof value === 'string' ? null : 'must be the name of one of your secrets';
    case 'DATE':
      return typeof value === 'string' && isIsoDate(value) ? null : 'must be a date (YYYY-MM-DD)';
    case 'STRINGS':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? null
        : 'must be a list of texts';
    case 'INT':
      return Number.isSafeInteger(value) ? null : 'must be a whole number';
    case 'DOUBLE':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'BOOLEAN':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'SELECT':
      return typeof value === 'string' && choices.has(value) ? null : `must be one of ${choiceList(param)}`;
    case 'MULTISELECT':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && choices.has(v))
        ? null
        : `must be a list of choices among ${choiceList(param)}`;
    case 'MAP':
      return isRecord(value) && Object.values(value).every((v) => typeof v === 'string')
        ? null
        : 'must map texts to texts';
    case 'KEY_VALUE_LIST':
      return Array.isArray(value) &&
        value.every((v) => isRecord(v) && typeof v.from === 'string' && typeof v.to === 'string')
        ? null
        : 'must be a list of key and value texts';
    case 'PRESET':
      return isRecord(value) && value.mode === 'PRESET' && typeof value.name === 'string'
        ? null
        : 'must name a preset';
    case 'SEPARATOR':
    case 'CREDENTIAL_REQUEST':
      return null;
  }
}

/** Whether a parameter counts as not filled in: absent, blank text, an empty list or map, no preset. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) {
    if (value.mode === 'PRESET') return typeof value.name !== 'string' || value.name === '';
    return Object.keys(value).length === 0;
  }
  return false;
}

/**
 * The problems with a form's values, one per parameter at most, in the order of `params`. Hidden
 * parameters (their `visibilityCondition` does not hold) are not checked: DSS ignores them too.
 */
export function formProblems(params: readonly FormParam[], model: Record<string, unknown>): FormProblem[] {
  const problems: FormProblem[] = [];
  for (const param of params) {
    if (NOT_IN_MODEL.has(param.type) || !isVisible(param.visibilityCondition, model)) continue;
    const value = Object.hasOwn(model, param.name) ? model[param.name] : undefined;
    if (isEmptyValue(value)) {
      if (param.mandatory) {
        const verb = param.type === 'PRESET' ? 'Choose a preset' : 'Enter a value';
        problems.push({ param: param.name, message: `${verb} for ${param.label}.` });
      }
      continue;
    }
    const problem = paramValueProblem(param, value);
    if (problem) problems.push({ param: param.name, message: `${param.label} ${problem}.` });
  }
  return problems;
}

/**
 * A form's starting values: each parameter's `defaultValue` (copied, so editing the form does not
 * change the descriptor), and false for a BOOLEAN without one, since an unticked box means false.
 */
export function defaultModel(params: readonly FormParam[]): Record<string, unknown> {
  const model: Record<string, unknown> = {};
  for (const param of params) {
    if (NOT_IN_MODEL.has(param.type)) continue;
    if (param.defaultValue !== undefined) model[param.name] = structuredClone(param.defaultValue);
    else if (param.type === 'BOOLEAN') model[param.name] = false;
  }
  return model;
}
