/*
 * A plugin's descriptors (plugin.json, custom-recipes/<id>/recipe.json, parameter-sets/<id>/
 * parameter-set.json) read and checked into a PluginManifest. DSS writes these files with `//` and
 * `/* *\/` comments and trailing commas, so they are read as JSON with comments. Every refusal names
 * the file and the field at fault. Pure: the files are already in memory.
 */
import { secretNameProblem, textProblem } from '@coffer/client/rules';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { Invalid } from '../../errors.js';
import {
  PLUGIN_ID_PATTERN,
  type CodeLanguage,
  type ParameterSetDesc,
  type PluginFile,
  type PluginManifest,
  type RecipeDesc,
  type UserSecretNeed,
} from './plugin.model.js';
import { parseParamList } from './plugin.params.js';

/** Recipe and parameter-set ids name folders and appear in credential keys, like plugin ids. */
const COMPONENT_ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/;
const CODE_FILES: Record<string, { language: CodeLanguage; kind: string }> = {
  'recipe.py': { language: 'python', kind: 'PYTHON' },
  'recipe.R': { language: 'r', kind: 'R' },
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** "PropertyNameExpected" → "property name expected". */
function describeParseError(error: ParseError): string {
  return printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** A descriptor as an object; a syntax error names the file, line and column. */
function readDescriptor(file: PluginFile): Json {
  let text: string;
  try {
    text = utf8.decode(file.content).replace(/^\uFEFF/, '');
  } catch {
    throw new Invalid(`${file.path}: is not UTF-8 text`);
  }
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const [first] = errors;
  if (first) {
    throw new Invalid(
      `${file.path}:${lineAndColumn(text, first.offset)}: not valid JSON (${describeParseError(first)})`,
    );
  }
  if (!isRecord(value)) throw new Invalid(`${file.path}: must hold a JSON object ({ ... })`);
  return value;
}

function text(raw: unknown, field: string, options: { max: number; multiline?: boolean }): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw new Invalid(`${field} must be text`);
  const problem = textProblem(field, raw, options);
  if (problem) throw new Invalid(problem);
  return raw;
}

interface Meta {
  label: string | null;
  description: string | null;
  author: string | null;
}

function readMeta(descriptor: Json, file: string): Meta {
  const meta = descriptor.meta;
  if (meta === undefined || meta === null) return { label: null, description: null, author: null };
  if (!isRecord(meta)) throw new Invalid(`${file}: meta must be an object`);
  return {
    label: text(meta.label, `${file}: meta.label`, { max: 200 }),
    description: text(meta.description, `${file}: meta.description`, { max: 4000, multiline: true }),
    author: text(meta.author, `${file}: meta.author`, { max: 200 }),
  };
}

/** The folders directly under `root` (custom-recipes, parameter-sets) that hold at least one file. */
function componentFolders(files: readonly PluginFile[], root: string): string[] {
  const names = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/');
    if (parts[0] === root && parts.length > 2) names.add(parts[1]!);
  }
  return [...names].sort();
}

/** Two components whose ids differ only by case would share a folder on some disks, and confuse people. */
function checkIds(ids: readonly string[], root: string): void {
  const seen = new Map<string, string>();
  for (const id of ids) {
    if (!COMPONENT_ID.test(id)) {
      throw new Invalid(
        `${root}/${id}: the folder name is its id and must be 1 to 100 letters, digits, "_" or "-", starting with a letter or digit`,
      );
    }
    const other = seen.get(id.toLowerCase());
    if (other)
      throw new Invalid(`${root}/${id}: has the same id as ${root}/${other} but for case; rename one`);
    seen.set(id.toLowerCase(), id);
  }
}

function requireFile(byPath: ReadonlyMap<string, PluginFile>, path: string, why: string): PluginFile {
  const file = byPath.get(path);
  if (!file) throw new Invalid(`${path}: missing; ${why}`);
  return file;
}

function readParameterSet(
  id: string,
  byPath: ReadonlyMap<string, PluginFile>,
  setIds: ReadonlySet<string>,
): ParameterSetDesc {
  const path = `parameter-sets/${id}/parameter-set.json`;
  const raw = readDescriptor(
    requireFile(byPath, path, `the folder parameter-sets/${id} needs its descriptor`),
  );
  const meta = readMeta(raw, path);
  return {
    id,
    label: meta.label ?? id,
    description: meta.description,
    params: parseParamList(raw.params, {
      file: path,
      field: 'params',
      place: 'parameter-set',
      parameterSetIds: setIds,
    }),
    pluginParams: parseParamList(raw.pluginParams, {
      file: path,
      field: 'pluginParams',
      place: 'parameter-set-admin',
      parameterSetIds: setIds,
    }),
    raw,
  };
}

function readRecipe(
  id: string,
  byPath: ReadonlyMap<string, PluginFile>,
  setIds: ReadonlySet<string>,
): RecipeDesc {
  const folder = `custom-recipes/${id}`;
  const path = `${folder}/recipe.json`;
  const raw = readDescriptor(requireFile(byPath, path, `the folder ${folder} needs its descriptor`));
  const present = Object.keys(CODE_FILES).filter((name) => byPath.has(`${folder}/${name}`));
  if (present.length === 0) {
    throw new Invalid(
      `${folder}/recipe.py: missing; recipe "${id}" needs its code in recipe.py (Python) or recipe.R (R)`,
    );
  }
  if (present.length > 1) {
    throw new Invalid(`${folder}: recipe "${id}" has both recipe.py and recipe.R; keep exactly one`);
  }
  const codeName = present[0]!;
  const { language, kind } = CODE_FILES[codeName]!;
  if (raw.kind !== undefined && raw.kind !== kind) {
    throw new Invalid(
      `${path}: kind ${JSON.stringify(raw.kind)} does not match ${codeName}; use "${kind}" (or "${kind === 'R' ? 'PYTHON' : 'R'}" with ${kind === 'R' ? 'recipe.py' : 'recipe.R'})`,
    );
  }
  const meta = readMeta(raw, path);
  return {
    id,
    language,
    codeFile: `${folder}/${codeName}`,
    label: meta.label ?? id,
    description: meta.description,
    params: parseParamList(raw.params, {
      file: path,
      field: 'params',
      place: 'recipe',
      parameterSetIds: setIds,
    }),
    raw,
  };
}

function readUserSecrets(raw: unknown): UserSecretNeed[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Invalid('plugin.json: userSecrets must be a list of secret names');
  const seen = new Set<string>();
  return raw.map((item: unknown, index) => {
    const field = `plugin.json: userSecrets[${index}]`;
    const need =
      typeof item === 'string' ? { name: item, description: null } : isRecord(item) ? item : undefined;
    if (!need || typeof need.name !== 'string') {
      throw new Invalid(`${field} must be a secret name or {"name": ..., "description": ...}`);
    }
    const problem = secretNameProblem(need.name);
    if (problem) throw new Invalid(`${field}: ${problem}`);
    if (seen.has(need.name)) throw new Invalid(`${field}: "${need.name}" is listed twice`);
    seen.add(need.name);
    return {
      name: need.name,
      description: text(need.description, `${field}.description`, { max: 4000, multiline: true }),
    };
  });
}

/** Reads and checks a plugin's descriptors; throws Invalid naming the file and field at fault. */
export function parseManifest(files: readonly PluginFile[]): PluginManifest {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const raw = readDescriptor(requireFile(byPath, 'plugin.json', 'every plugin has one at its top'));
  if (typeof raw.id !== 'string' || !PLUGIN_ID_PATTERN.test(raw.id)) {
    throw new Invalid(
      `plugin.json: id ${raw.id === undefined ? 'is missing' : `${JSON.stringify(raw.id)} is not valid`}; use 1 to 100 letters, digits, "_" or "-", starting with a letter or digit`,
    );
  }
  if (typeof raw.version !== 'string' || raw.version.trim() === '') {
    throw new Invalid('plugin.json: version is missing; give it as text, e.g. "1.0.0"');
  }
  const version = text(raw.version, 'plugin.json: version', { max: 100 })!;
  const meta = readMeta(raw, 'plugin.json');

  const setIds = componentFolders(files, 'parameter-sets');
  checkIds(setIds, 'parameter-sets');
  const recipeIds = componentFolders(files, 'custom-recipes');
  checkIds(recipeIds, 'custom-recipes');
  const known = new Set(setIds);

  return {
    id: raw.id,
    version,
    label: meta.label ?? raw.id,
    description: meta.description,
    author: meta.author,
    params: parseParamList(raw.params, {
      file: 'plugin.json',
      field: 'params',
      place: 'plugin',
      parameterSetIds: known,
    }),
    recipes: recipeIds.map((id) => readRecipe(id, byPath, known)),
    parameterSets: setIds.map((id) => readParameterSet(id, byPath, known)),
    userSecrets: readUserSecrets(raw.userSecrets),
    raw,
  };
}
