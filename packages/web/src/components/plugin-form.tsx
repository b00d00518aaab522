import type { PluginParam } from '@coffer/client';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { isVisible, type FormModel } from '../plugin-rules';
import { FormError } from './form-error';

/** The choices a PRESET or USER_SECRET field offers: presets by parameter set, the runner's secret names. */
export interface FormChoices {
  presets?: (parameterSetId: string) => readonly string[];
  /** Names of the signed-in person's own secrets; null while loading. */
  secretNames?: readonly string[] | null;
}

interface PluginFormProps {
  params: readonly PluginParam[];
  model: FormModel;
  onModel(m: FormModel): void;
  /** Problems by param name, shown under their field. */
  errors: ReadonlyMap<string, string>;
  /** Makes the fields' ids unique on the page. */
  idPrefix: string;
  readOnly?: boolean;
  choices?: FormChoices;
}

/** The id of a param's control (the first control of a group), for focusing the first field in error. */
export const fieldId = (prefix: string, name: string) => `${prefix}-${name.replace(/[^\w-]/g, '_')}`;

/** Focuses the first field, in form order, that has a problem. */
export function focusFirstProblem(
  prefix: string,
  params: readonly PluginParam[],
  errors: ReadonlyMap<string, string>,
) {
  const first = params.find((p) => errors.has(p.name));
  if (first) document.getElementById(fieldId(prefix, first.name))?.focus();
}

/** Parameters each user enters for themself, on their Credentials tab: never part of a shared form. */
export const isPersonal = (p: PluginParam) => p.type === 'CREDENTIAL_REQUEST' || p.type === 'PASSWORD';

/**
 * A form generated from a plugin's parameter descriptors (recipe.json or parameter-set.json), DSS's way:
 * label, help text, default, mandatory mark and visibility condition per field. Hidden fields keep their
 * values but are not shown (and not validated by formProblems).
 */
export function PluginForm(p: PluginFormProps) {
  const visible = p.params.filter((param) => isVisible(param.visibilityCondition, p.model));
  const set = (name: string, v: unknown) => {
    const next = { ...p.model };
    if (v === undefined) delete next[name];
    else next[name] = v;
    p.onModel(next);
  };
  return (
    <div class="plugin-form">
      {p.params.some((param) => param.mandatory) && (
        <p class="muted small">
          Fields marked <span aria-hidden="true">*</span>
          <span class="visually-hidden">required</span> must be filled in.
        </p>
      )}
      {visible.map((param) => (
        <ParamField
          key={param.name}
          param={param}
          value={p.model[param.name]}
          onValue={(v) => set(param.name, v)}
          error={p.errors.get(param.name) ?? null}
          id={fieldId(p.idPrefix, param.name)}
          readOnly={p.readOnly ?? false}
          choices={p.choices ?? {}}
        />
      ))}
    </div>
  );
}

interface ParamFieldProps {
  param: PluginParam;
  value: unknown;
  onValue(v: unknown): void;
  error: string | null;
  id: string;
  readOnly: boolean;
  choices: FormChoices;
}

function ParamField(f: ParamFieldProps) {
  const { param, id } = f;
  const hintId = param.description ? `${id}-hint` : undefined;
  const errorId = f.error ? `${id}-error` : undefined;
  const a11y = {
    id,
    disabled: f.readOnly,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' ') || undefined,
    'aria-invalid': f.error ? true : undefined,
    'aria-required': param.mandatory || undefined,
  };
  const str = typeof f.value === 'string' ? f.value : '';

  if (param.type === 'SEPARATOR')
    return (
      <div class="form-separator">
        <h3>{param.label}</h3>
        {param.description && <p class="muted small">{param.description}</p>}
      </div>
    );

  if (isPersonal(param))
    return (
      <Shell {...f} param={{ ...param, mandatory: false }} hintId={hintId} errorId={errorId} group>
        <p class="muted small personal-note">
          Not set here: each user enters their own {param.type === 'PASSWORD' ? 'password' : 'credential'} on
          their Credentials tab (Profile → Credentials), and only their own runs get it.
        </p>
      </Shell>
    );

  switch (param.type) {
    case 'BOOLEAN':
      return (
        <div class={`field checkbox${f.error ? ' invalid' : ''}`}>
          <input
            {...a11y}
            type="checkbox"
            checked={f.value === true}
            onChange={(e) => f.onValue(e.currentTarget.checked)}
          />
          <label for={id}>
            {param.label}
            <Mandatory on={param.mandatory} />
          </label>
          <Help hintId={hintId} errorId={errorId} param={param} error={f.error} />
        </div>
      );
    case 'TEXTAREA':
      return (
        <Shell {...f} hintId={hintId} errorId={errorId}>
          <textarea
            {...a11y}
            rows={4}
            value={str}
            onInput={(e) => f.onValue(e.currentTarget.value || undefined)}
          />
        </Shell>
      );
    case 'STRINGS':
      return (
        <Shell {...f} hintId={hintId} errorId={errorId} extraHint="One per line.">
          <StringsInput a11y={a11y} value={f.value} onValue={f.onValue} />
        </Shell>
      );
    case 'INT':
    case 'DOUBLE':
      return (
        <Shell {...f} hintId={hintId} errorId={errorId}>
          <input
            {...a11y}
            type="number"
            step={param.type === 'INT' ? 1 : 'any'}
            value={typeof f.value === 'number' ? String(f.value) : ''}
            onInput={(e) => {
              const t = e.currentTarget.value;
              f.onValue(t === '' ? undefined : Number(t));
            }}
          />
        </Shell>
      );
    case 'DATE':
      return (
        <Shell {...f} hintId={hintId} errorId={errorId}>
          <input
            {...a11y}
            type="date"
            value={str.slice(0, 10)}
            onInput={(e) => f.onValue(e.currentTarget.value || undefined)}
          />
        </Shell>
      );
    case 'SELECT':
      return (
        <Shell {...f} hintId={hintId} errorId={errorId}>
          <select {...a11y} value={str} onChange={(e) => f.onValue(e.currentTarget.value || undefined)}>
            <option value="">{param.mandatory ? 'Choose…' : '(none)'}</option>
            {(param.selectChoices ?? []).map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </Shell>
      );
    case 'MULTISELECT': {
      const chosen = Array.isArray(f.value) ? (f.value as unknown[]) : [];
      return (
        <Shell {...f} hintId={hintId} errorId={errorId} group>
          {(param.selectChoices ?? []).map((c, i) => (
            <div class="field checkbox" key={c.value}>
              <input
                id={i === 0 ? id : `${id}-${i}`}
                type="checkbox"
                disabled={f.readOnly}
                checked={chosen.includes(c.value)}
                onChange={(e) => {
                  const next = (param.selectChoices ?? [])
                    .map((x) => x.value)
                    .filter((v) => (v === c.value ? e.currentTarget.checked : chosen.includes(v)));
                  f.onValue(next);
                }}
              />
              <label for={i === 0 ? id : `${id}-${i}`}>{c.label}</label>
            </div>
          ))}
        </Shell>
      );
    }
    case 'MAP':
    case 'KEY_VALUE_LIST':
      return (
        <Shell {...f} hintId={hintId} errorId={errorId} group>
          <PairsInput id={id} param={param} value={f.value} onValue={f.onValue} readOnly={f.readOnly} />
        </Shell>
      );
    case 'PRESET': {
      const names = f.choices.presets?.(param.parameterSetId ?? '') ?? [];
      const current = presetName(f.value);
      return (
        <Shell
          {...f}
          hintId={hintId}
          errorId={errorId}
          extraHint={names.length === 0 ? 'No presets yet: an administrator creates them.' : undefined}
        >
          <select
            {...a11y}
            value={current}
            onChange={(e) => {
              const name = e.currentTarget.value;
              f.onValue(name ? { mode: 'PRESET', name } : undefined);
            }}
          >
            <option value="">{param.mandatory ? 'Choose a preset…' : '(none)'}</option>
            {current && !names.includes(current) && (
              <option value={current}>{current} (no longer exists)</option>
            )}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Shell>
      );
    }
    case 'USER_SECRET': {
      const names = f.choices.secretNames ?? [];
      return (
        <Shell
          {...f}
          hintId={hintId}
          errorId={errorId}
          extraHint={
            param.description
              ? undefined
              : 'The name of one of your own secrets (Profile → Other credentials); whoever runs the recipe uses theirs of that name.'
          }
        >
          <select {...a11y} value={str} onChange={(e) => f.onValue(e.currentTarget.value || undefined)}>
            <option value="">{param.mandatory ? 'Choose a secret…' : '(none)'}</option>
            {str && !names.includes(str) && <option value={str}>{str}</option>}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Shell>
      );
    }
    default:
      return (
        <Shell {...f} hintId={hintId} errorId={errorId}>
          <input
            {...a11y}
            type="text"
            value={str}
            spellcheck={false}
            autocomplete="off"
            onInput={(e) => f.onValue(e.currentTarget.value || undefined)}
          />
        </Shell>
      );
  }
}

const presetName = (v: unknown): string =>
  v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string'
    ? (v as { name: string }).name
    : '';

interface ShellProps extends ParamFieldProps {
  hintId: string | undefined;
  errorId: string | undefined;
  children: ComponentChildren;
  /** A fieldset with a legend, for groups of controls. */
  group?: boolean;
  extraHint?: string | undefined;
}

/** A field's label (or legend), its control(s), help text and error. */
function Shell(s: ShellProps) {
  const cls = `field${s.error ? ' invalid' : ''}`;
  const help = (
    <Help hintId={s.hintId} errorId={s.errorId} param={s.param} error={s.error} extra={s.extraHint} />
  );
  if (s.group)
    return (
      <fieldset
        class={`${cls} group`}
        aria-describedby={[s.hintId, s.errorId].filter(Boolean).join(' ') || undefined}
      >
        <legend>
          {s.param.label}
          <Mandatory on={s.param.mandatory} />
        </legend>
        {s.children}
        {help}
      </fieldset>
    );
  return (
    <div class={cls}>
      <label for={s.id}>
        {s.param.label}
        <Mandatory on={s.param.mandatory} />
      </label>
      {s.children}
      {help}
    </div>
  );
}

function Mandatory({ on }: { on: boolean }) {
  if (!on) return null;
  return (
    <span class="mandatory" aria-hidden="true">
      {' '}
      *
    </span>
  );
}

function Help(h: {
  hintId: string | undefined;
  errorId: string | undefined;
  param: PluginParam;
  error: string | null;
  extra?: string | undefined;
}) {
  return (
    <>
      {h.param.description && (
        <p class="hint" id={h.hintId}>
          {h.param.description}
        </p>
      )}
      {h.extra && <p class="hint">{h.extra}</p>}
      <FormError message={h.error} id={h.errorId} announce={false} />
    </>
  );
}

/** STRINGS: one value per line. The text is kept as typed, so an empty line being written stays. */
function StringsInput(p: { a11y: Record<string, unknown>; value: unknown; onValue(v: unknown): void }) {
  const [text, setText] = useState(() => (Array.isArray(p.value) ? p.value.map(String).join('\n') : ''));
  return (
    <textarea
      {...p.a11y}
      rows={4}
      value={text}
      onInput={(e) => {
        const t = e.currentTarget.value;
        setText(t);
        const lines = t.split('\n').filter((l) => l.trim() !== '');
        p.onValue(lines.length ? lines : undefined);
      }}
    />
  );
}

type Pair = [string, string];

function pairsOf(param: PluginParam, v: unknown): Pair[] {
  if (param.type === 'MAP' && v && typeof v === 'object' && !Array.isArray(v))
    return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x ?? '')]);
  if (Array.isArray(v))
    return v.map((x: { from?: unknown; to?: unknown }) => [String(x?.from ?? ''), String(x?.to ?? '')]);
  return [];
}

/** MAP (an object) and KEY_VALUE_LIST ([{from, to}]) as rows of two inputs. */
function PairsInput(p: {
  id: string;
  param: PluginParam;
  value: unknown;
  onValue(v: unknown): void;
  readOnly: boolean;
}) {
  const [rows, setRows] = useState<Pair[]>(() => {
    const r = pairsOf(p.param, p.value);
    return r.length ? r : [['', '']];
  });
  const isMap = p.param.type === 'MAP';
  const [left, right] = isMap ? ['Key', 'Value'] : ['From', 'To'];

  function update(next: Pair[]) {
    setRows(next);
    const kept = next.filter(([a, b]) => (isMap ? a !== '' : a !== '' || b !== ''));
    if (kept.length === 0) return p.onValue(undefined);
    p.onValue(isMap ? Object.fromEntries(kept) : kept.map(([from, to]) => ({ from, to })));
  }

  return (
    <div class="pairs">
      {rows.map(([a, b], i) => (
        <div class="pair" key={i}>
          <input
            id={i === 0 ? p.id : undefined}
            aria-label={`${p.param.label}: ${left.toLowerCase()} ${i + 1}`}
            placeholder={left}
            value={a}
            disabled={p.readOnly}
            spellcheck={false}
            onInput={(e) => update(rows.map((r, j) => (j === i ? [e.currentTarget.value, r[1]] : r)))}
          />
          <input
            aria-label={`${p.param.label}: ${right.toLowerCase()} ${i + 1}`}
            placeholder={right}
            value={b}
            disabled={p.readOnly}
            spellcheck={false}
            onInput={(e) => update(rows.map((r, j) => (j === i ? [r[0], e.currentTarget.value] : r)))}
          />
          {!p.readOnly && (
            <button
              type="button"
              aria-label={`Remove row ${i + 1} of ${p.param.label}`}
              onClick={() => update(rows.length > 1 ? rows.filter((_, j) => j !== i) : [['', '']])}
            >
              Remove
            </button>
          )}
        </div>
      ))}
      {!p.readOnly && (
        <button type="button" onClick={() => setRows([...rows, ['', '']])}>
          Add a row<span class="visually-hidden"> to {p.param.label}</span>
        </button>
      )}
    </div>
  );
}
