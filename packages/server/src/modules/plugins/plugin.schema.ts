import { Type } from 'typebox';
import { Millis } from '../../http/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const PluginParam = Type.Object({
  name: Type.String(),
  type: Type.String(),
  label: Type.String(),
  description: Nullable(Type.String()),
  defaultValue: Type.Optional(Type.Unknown()),
  mandatory: Type.Boolean(),
  visibilityCondition: Nullable(Type.String()),
  selectChoices: Type.Optional(Type.Array(Type.Object({ value: Type.String(), label: Type.String() }))),
  parameterSetId: Type.Optional(Type.String()),
  credentialRequestType: Type.Optional(Type.Union([Type.Literal('SINGLE_FIELD'), Type.Literal('BASIC')])),
});

const Summary = {
  id: Type.String(),
  version: Type.String(),
  label: Type.String(),
  description: Nullable(Type.String()),
  author: Nullable(Type.String()),
  installedBy: Type.String(),
  installedAt: Millis,
  updatedAt: Millis,
};

export const PluginSummary = Type.Object({ ...Summary, recipes: Type.Integer() });

export const PresetView = Type.Object({
  name: Type.String(),
  config: Type.Record(Type.String(), Type.Unknown()),
  pluginConfig: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  updatedAt: Millis,
});

export const PluginDetail = Type.Object({
  ...Summary,
  recipes: Type.Array(
    Type.Object({
      id: Type.String(),
      language: Type.Union([Type.Literal('python'), Type.Literal('r')]),
      label: Type.String(),
      description: Nullable(Type.String()),
      params: Type.Array(PluginParam),
    }),
  ),
  parameterSets: Type.Array(
    Type.Object({
      id: Type.String(),
      label: Type.String(),
      description: Nullable(Type.String()),
      params: Type.Array(PluginParam),
      pluginParams: Type.Array(PluginParam),
      presets: Type.Array(PresetView),
    }),
  ),
  userSecrets: Type.Array(Type.Object({ name: Type.String(), description: Nullable(Type.String()) })),
  /** plugin.json `params`: the plugin-level settings' form. */
  params: Type.Array(PluginParam),
  /** For administrators: the plugin-level values saved, and the settings revision they were read at. */
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  settingsRevision: Type.Optional(Type.Integer()),
});

export const PluginConfigBody = Type.Object(
  {
    config: Type.Record(Type.String(), Type.Unknown()),
    settingsRevision: Type.Integer({
      minimum: 0,
      description: 'the settings revision the values were read at (GET /api/v1/plugins/{id})',
    }),
  },
  { additionalProperties: false },
);
export const PluginConfigView = Type.Object({
  config: Type.Record(Type.String(), Type.Unknown()),
  settingsRevision: Type.Integer(),
});

export const PluginParams = Type.Object({ id: Type.String() }, { additionalProperties: false });
export const PresetParams = Type.Object(
  { id: Type.String(), set: Type.String(), name: Type.String() },
  { additionalProperties: false },
);
export const PresetBody = Type.Object(
  {
    config: Type.Record(Type.String(), Type.Unknown()),
    pluginConfig: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export const RemoveQuery = Type.Object(
  { force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) },
  { additionalProperties: false },
);

export const CredentialParams = Type.Object(
  { plugin: Type.String(), set: Type.String(), preset: Type.String(), param: Type.String() },
  { additionalProperties: false },
);
export const CredentialBody = Type.Union([
  Type.Object({ value: Type.String() }, { additionalProperties: false }),
  Type.Object({ user: Type.String(), password: Type.String() }, { additionalProperties: false }),
]);
export const CredentialRequest = Type.Object({
  plugin: Type.String(),
  pluginLabel: Type.String(),
  parameterSet: Type.String(),
  parameterSetLabel: Type.String(),
  preset: Type.String(),
  param: Type.String(),
  paramLabel: Type.String(),
  type: Type.Union([Type.Literal('SINGLE_FIELD'), Type.Literal('BASIC'), Type.Literal('PASSWORD')]),
  set: Type.Boolean(),
  updatedAt: Nullable(Millis),
});
