/*
 * What an installed plugin is, once its archive has been read and checked (plugin-archive.ts,
 * plugin.manifest.ts): DSS's layout (plugin.json, custom-recipes/<id>/recipe.json with recipe.py or
 * recipe.R, parameter-sets/<id>/parameter-set.json, python-lib/, resource/), reduced to the parts Coffer
 * runs. The raw JSON of each descriptor is kept too, for the DSS-compatible API that hands it back.
 */

/** DSS's parameter types that Coffer supports, and Coffer's own USER_SECRET (a secret's name). */
export const PARAM_TYPES = [
  'STRING',
  'STRINGS',
  'TEXTAREA',
  'INT',
  'DOUBLE',
  'BOOLEAN',
  'DATE',
  'SELECT',
  'MULTISELECT',
  'MAP',
  'KEY_VALUE_LIST',
  'PASSWORD',
  'SEPARATOR',
  'PRESET',
  'CREDENTIAL_REQUEST',
  'USER_SECRET',
] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

/**
 * DSS parameter types that point at DSS objects Coffer does not have (refused at install, saying so):
 * the datasets, columns, folders, models, scenarios, connections… of a DSS instance.
 */
export const DSS_OBJECT_PARAM_TYPES = [
  'DATASET',
  'DATASETS',
  'DATASET_COLUMN',
  'DATASET_COLUMNS',
  'COLUMN',
  'COLUMNS',
  'MANAGED_FOLDER',
  'SAVED_MODEL',
  'MODEL_EVALUATION_STORE',
  'SCENARIO',
  'STREAMING_ENDPOINT',
  'KNOWLEDGE_BANK',
  'LLM',
  'CONNECTION',
  'CONNECTIONS',
  'CLUSTER',
  'CODE_ENV',
  'API_SERVICE',
  'API_SERVICE_VERSION',
  'BUNDLE',
  'VISUAL_ANALYSIS',
  'PROJECT',
  'PROJECTS',
  'OBJECT_LIST',
] as const;

export type CredentialRequestType = 'SINGLE_FIELD' | 'BASIC';

export interface SelectChoice {
  readonly value: string;
  readonly label: string;
}

export interface ParamDesc {
  readonly name: string;
  readonly type: ParamType;
  /** The label shown in forms; the name when the descriptor gives none. */
  readonly label: string;
  readonly description: string | null;
  /** As written in the descriptor (a JSON value), or undefined. */
  readonly defaultValue?: unknown;
  readonly mandatory: boolean;
  /** A JavaScript-like expression over `model` (DSS's form model); shown only while it holds. */
  readonly visibilityCondition: string | null;
  /** SELECT and MULTISELECT only. */
  readonly selectChoices?: readonly SelectChoice[];
  /** PRESET only: the parameter set its presets come from. */
  readonly parameterSetId?: string;
  /** CREDENTIAL_REQUEST only. */
  readonly credentialRequestType?: CredentialRequestType;
}

export type CodeLanguage = 'python' | 'r';

export interface RecipeDesc {
  /** The folder name under custom-recipes/. */
  readonly id: string;
  readonly language: CodeLanguage;
  /** Path of its code inside the plugin: custom-recipes/<id>/recipe.py or recipe.R. */
  readonly codeFile: string;
  readonly label: string;
  readonly description: string | null;
  readonly params: readonly ParamDesc[];
  /** recipe.json as parsed (comments removed). */
  readonly raw: Record<string, unknown>;
}

export interface ParameterSetDesc {
  /** The folder name under parameter-sets/. */
  readonly id: string;
  readonly label: string;
  readonly description: string | null;
  /** What each preset sets (CREDENTIAL_REQUEST and PASSWORD: each user sets their own). */
  readonly params: readonly ParamDesc[];
  /** Parameters only administrators set on a preset (DSS's `pluginParams`). */
  readonly pluginParams: readonly ParamDesc[];
  readonly raw: Record<string, unknown>;
}

/** A secret the plugin's code reads with get_auth_info: each runner must have one of that name. */
export interface UserSecretNeed {
  readonly name: string;
  readonly description: string | null;
}

export interface PluginManifest {
  readonly id: string;
  readonly version: string;
  readonly label: string;
  readonly description: string | null;
  readonly author: string | null;
  /** Plugin-level parameters (administrators set them in the plugin's settings). */
  readonly params: readonly ParamDesc[];
  readonly recipes: readonly RecipeDesc[];
  readonly parameterSets: readonly ParameterSetDesc[];
  /** plugin.json `userSecrets`: Coffer's addition. */
  readonly userSecrets: readonly UserSecretNeed[];
  /** plugin.json as parsed (comments removed). */
  readonly raw: Record<string, unknown>;
}

export interface PluginFile {
  /** Relative, `/`-separated, no `..`, no leading `/`, the top folder of a wrapped archive removed. */
  readonly path: string;
  readonly content: Buffer;
}

export interface PluginPackage {
  readonly manifest: PluginManifest;
  readonly files: readonly PluginFile[];
}

/** How big a plugin archive may be. */
export interface ArchiveLimits {
  /** The zip itself. */
  readonly maxArchiveBytes: number;
  /** Any one file, uncompressed. */
  readonly maxFileBytes: number;
  /** All files together, uncompressed. */
  readonly maxTotalBytes: number;
  readonly maxFiles: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxArchiveBytes: 20 * 1024 * 1024,
  maxFileBytes: 10 * 1024 * 1024,
  maxTotalBytes: 50 * 1024 * 1024,
  maxFiles: 2000,
};

/** Plugin ids as DSS allows them: they name folders and appear in credential keys. */
export const PLUGIN_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/;
