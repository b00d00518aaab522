/*
 * One `params` list of a plugin descriptor (plugin.json, recipe.json, parameter-set.json) read into
 * ParamDescs. Every refusal names the file and the field (`custom-recipes/x/recipe.json: params[2].type
 * ...`), since the person reading it is fixing a descriptor by hand. Pure.
 */
import { paramValueProblem, textProblem } from '@coffer/client/rules';
import { Invalid } from '../../errors.js';
import {
  DSS_OBJECT_PARAM_TYPES,
  PARAM_TYPES,
  type CredentialRequestType,
  type ParamDesc,
  type ParamType,
  type SelectChoice,
} from './plugin.model.js';

/** Where a list sits, which decides who sets its values and so which types make sense in it. */
export type ParamPlace =
  /** recipe.json `params`: whoever sets up the recipe in a project. */
  | 'recipe'
  /** plugin.json `params`: administrators, once for everyone. */
  | 'plugin'
  /** parameter-set.json `params`: a preset's values, and each user's own credentials. */
  | 'parameter-set'
  /** parameter-set.json `pluginParams`: administrators, on a preset everyone uses. */
  | 'parameter-set-admin';

export interface ParamListSource {
  /** The descriptor's path inside the plugin. */
  readonly file: string;
  /** The key of the list in that file: `params` or `pluginParams`. */
  readonly field: string;
  readonly place: ParamPlace;
  /** The plugin's parameter sets, which PRESET parameters may name. */
  readonly parameterSetIds: ReadonlySet<string>;
}

const PARAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
const MAX_LABEL_CHARS = 200;
const MAX_DESCRIPTION_CHARS = 4000;
const SHARED_PASSWORD =
  'a password there would be one value shared by everyone who runs it; declare it in a parameter set, where each user enters their own on their Credentials tab';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads `raw` (the list as parsed; absent is an empty list) into parameter descriptions. */
export function parseParamList(raw: unknown, source: ParamListSource): ParamDesc[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Invalid(`${source.file}: ${source.field} must be a list of parameters`);
  const params: ParamDesc[] = [];
  const names = new Set<string>();
  raw.forEach((item, index) => {
    const param = parseParam(item, index, source);
    if (names.has(param.name)) {
      throw new Invalid(
        `${source.file}: ${source.field}[${index}].name "${param.name}" is used by another parameter of the same list`,
      );
    }
    names.add(param.name);
    params.push(param);
  });
  return params;
}

function parseParam(raw: unknown, index: number, source: ParamListSource): ParamDesc {
  const at = `${source.file}: ${source.field}[${index}]`;
  if (!isRecord(raw)) throw new Invalid(`${at} must be an object`);
  const type = parseType(raw.type, at, raw.name);
  const name = parseName(raw.name, type, index, at);
  const named = `${at} ("${name}")`;
  checkPlace(type, named, source);
  const label = optionalText(raw.label, `${at}.label`, MAX_LABEL_CHARS) ?? (type === 'SEPARATOR' ? '' : name);
  const description = optionalText(raw.description, `${at}.description`, MAX_DESCRIPTION_CHARS, true);
  if (raw.mandatory !== undefined && typeof raw.mandatory !== 'boolean') {
    throw new Invalid(`${at}.mandatory must be true or false`);
  }
  const visibilityCondition = optionalText(raw.visibilityCondition, `${at}.visibilityCondition`, 2000);
  const param: ParamDesc = {
    name,
    type,
    label,
    description,
    mandatory: raw.mandatory === true,
    visibilityCondition,
    ...(type === 'SELECT' || type === 'MULTISELECT' ? { selectChoices: parseChoices(raw, at) } : {}),
    ...(type === 'PRESET' ? { parameterSetId: parsePresetSet(raw.parameterSetId, at, source) } : {}),
    ...(type === 'CREDENTIAL_REQUEST' ? { credentialRequestType: parseCredentialType(raw, named) } : {}),
  };
  if (raw.defaultValue === undefined) return param;
  checkDefault(param, raw.defaultValue, at);
  return { ...param, defaultValue: raw.defaultValue };
}

function parseType(raw: unknown, at: string, name: unknown): ParamType {
  // The parameter by the name its author gave it, as well as by its place in the list.
  const which = typeof name === 'string' ? ` (parameter ${JSON.stringify(name)})` : '';
  if (typeof raw !== 'string')
    throw new Invalid(`${at}.type is missing; give one of ${PARAM_TYPES.join(', ')}`);
  if ((DSS_OBJECT_PARAM_TYPES as readonly string[]).includes(raw)) {
    throw new Invalid(
      `${at}.type "${raw}" picks a DSS object${which}, and Coffer has no datasets, folders, connections or other DSS objects: remove the parameter or use a STRING`,
    );
  }
  if (!(PARAM_TYPES as readonly string[]).includes(raw)) {
    throw new Invalid(
      `${at}.type "${raw}" is not a parameter type Coffer knows${which}; use one of ${PARAM_TYPES.join(', ')}`,
    );
  }
  return raw as ParamType;
}

/** A separator is layout only, so DSS descriptors often leave it unnamed: it gets one from its place. */
function parseName(raw: unknown, type: ParamType, index: number, at: string): string {
  if (raw === undefined && type === 'SEPARATOR') return `separator-${index}`;
  if (typeof raw !== 'string' || !PARAM_NAME.test(raw)) {
    throw new Invalid(
      `${at}.name ${raw === undefined ? 'is missing' : `${JSON.stringify(raw)} is not a valid name`}: use 1 to 100 letters, digits, "_", "." or "-", not starting with "." or "-"`,
    );
  }
  return raw;
}

function checkPlace(type: ParamType, named: string, source: ParamListSource): void {
  if (type === 'CREDENTIAL_REQUEST' && source.place !== 'parameter-set') {
    throw new Invalid(
      `${named}: a CREDENTIAL_REQUEST parameter belongs in the params of a parameter set (parameter-sets/<id>/parameter-set.json), where each user enters their own value`,
    );
  }
  if (type === 'PASSWORD' && source.place !== 'parameter-set') {
    throw new Invalid(`${named}: a PASSWORD parameter is refused here: ${SHARED_PASSWORD}`);
  }
  // The runner resolves one level of presets: a preset's values are plain values, never another preset.
  if (type === 'PRESET' && source.place.startsWith('parameter-set')) {
    throw new Invalid(`${named}: a parameter set cannot pick a preset of another parameter set`);
  }
}

function optionalText(raw: unknown, field: string, max: number, multiline = false): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw new Invalid(`${field} must be text`);
  const problem = textProblem(field, raw, { max, multiline });
  if (problem) throw new Invalid(problem);
  return raw;
}

function parseChoices(raw: Record<string, unknown>, at: string): SelectChoice[] {
  const list = raw.selectChoices;
  if (!Array.isArray(list) || list.length === 0) {
    const dynamic =
      raw.getChoicesFromPython === true ? ' (choices computed by Python code are not supported)' : '';
    throw new Invalid(
      `${at}.selectChoices must list the choices as [{"value": ..., "label": ...}]${dynamic}`,
    );
  }
  const seen = new Set<string>();
  return list.map((choice: unknown, i) => {
    const field = `${at}.selectChoices[${i}]`;
    if (!isRecord(choice) || typeof choice.value !== 'string')
      throw new Invalid(`${field}.value must be text`);
    if (seen.has(choice.value)) throw new Invalid(`${field}.value "${choice.value}" is listed twice`);
    seen.add(choice.value);
    const label = optionalText(choice.label, `${field}.label`, MAX_LABEL_CHARS);
    return { value: choice.value, label: label ?? choice.value };
  });
}

function parsePresetSet(raw: unknown, at: string, source: ParamListSource): string {
  if (typeof raw !== 'string')
    throw new Invalid(`${at}.parameterSetId is missing: a PRESET names the parameter set it picks from`);
  if (!source.parameterSetIds.has(raw)) {
    const known = [...source.parameterSetIds].map((id) => `"${id}"`).join(', ') || 'none';
    throw new Invalid(
      `${at}.parameterSetId "${raw}" is not a parameter set of this plugin (parameter-sets/${raw}/parameter-set.json); it has: ${known}`,
    );
  }
  return raw;
}

function parseCredentialType(raw: Record<string, unknown>, named: string): CredentialRequestType {
  const settings = raw.credentialRequestSettings;
  const type = isRecord(settings) ? settings.type : undefined;
  if (type === 'SINGLE_FIELD' || type === 'BASIC') return type;
  if (type === 'OAUTH2') {
    throw new Invalid(
      `${named}: credentialRequestSettings.type "OAUTH2": Coffer does not support OAuth2 credential requests; use SINGLE_FIELD (a token) or BASIC (user and password)`,
    );
  }
  throw new Invalid(`${named}: credentialRequestSettings.type must be "SINGLE_FIELD" or "BASIC"`);
}

/** A default must be a value of the type, or the form would start out wrong; null means no default. */
function checkDefault(param: ParamDesc, value: unknown, at: string): void {
  if (param.type === 'PASSWORD' || param.type === 'CREDENTIAL_REQUEST') {
    throw new Invalid(
      `${at}.defaultValue: a ${param.type} parameter cannot have a default, or every user would share it`,
    );
  }
  if (value === null || param.type === 'SEPARATOR') return;
  const problem = paramValueProblem(param, value);
  if (problem)
    throw new Invalid(`${at}.defaultValue ${JSON.stringify(value)} ${problem} (type ${param.type})`);
}
