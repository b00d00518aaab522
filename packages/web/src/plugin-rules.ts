/*
 * TEMPORARY stand-in for @coffer/client's plugin-form.ts (isVisible, formProblems, defaultModel), which
 * is being written beside this UI; once it lands this file only re-exports it. Same signatures.
 */
import type { PluginParam } from '@coffer/client';

export type FormModel = Record<string, unknown>;

/** Whether a field shows: DSS's visibilityCondition over `model` (here only `model.x == 'v'` and `model.x`). */
export function isVisible(condition: string | null | undefined, model: FormModel): boolean {
  if (!condition?.trim()) return true;
  const eq = /^\s*(!?)model\.(\w+)\s*(==|!=)=?\s*['"]([^'"]*)['"]\s*$/.exec(condition);
  if (eq) return (model[eq[2]!] === eq[4]) === (eq[3] === '==');
  const truthy = /^\s*(!?)model\.(\w+)\s*$/.exec(condition);
  if (truthy) return Boolean(model[truthy[2]!]) !== (truthy[1] === '!');
  return true;
}

const empty = (v: unknown) =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** Problems of a form's values: mandatory fields left empty, numbers that are not; hidden ones skipped. */
export function formProblems(
  params: readonly PluginParam[],
  model: FormModel,
): { param: string; message: string }[] {
  const out: { param: string; message: string }[] = [];
  for (const p of params) {
    if (!isVisible(p.visibilityCondition, model)) continue;
    const v = model[p.name];
    if (p.mandatory && empty(v)) out.push({ param: p.name, message: `${p.label} is required.` });
    else if (p.type === 'INT' && v !== undefined && !Number.isInteger(v))
      out.push({ param: p.name, message: `${p.label} must be a whole number.` });
  }
  return out;
}

/** The form's starting values: each param's defaultValue. */
export function defaultModel(params: readonly PluginParam[]): FormModel {
  const m: FormModel = {};
  for (const p of params) if (p.defaultValue !== undefined) m[p.name] = p.defaultValue;
  return m;
}
