import { Type } from 'typebox';
import { Millis } from '../../http/schemas.js';

export const Role = Type.Union([Type.Literal('owner'), Type.Literal('contributor'), Type.Literal('reader')]);
export const Language = Type.Union([Type.Literal('python'), Type.Literal('r'), Type.Literal('javascript')]);

export const ProjectView = Type.Object({
  key: Type.String(),
  name: Type.String(),
  role: Role,
  createdAt: Millis,
  updatedAt: Millis,
});

export const ProjectDetail = Type.Object({
  ...ProjectView.properties,
  members: Type.Array(Type.Object({ login: Type.String(), displayName: Type.String(), role: Role })),
});

export const RecipeView = Type.Object({
  name: Type.String(),
  language: Language,
  code: Type.String(),
  revision: Type.Integer({
    description: 'the number of this code; a run of code others changed approves it by this number',
  }),
  createdBy: Type.String(),
  updatedBy: Type.String(),
  createdAt: Millis,
  updatedAt: Millis,
  plugin: Type.Union([
    Type.Object({
      id: Type.String(),
      recipe: Type.String(),
      config: Type.Record(Type.String(), Type.Unknown()),
    }),
    Type.Null(),
  ]),
  broken: Type.Union([Type.String(), Type.Null()], {
    description: 'why the recipe cannot run whoever runs it (its plugin was removed); null when it can',
  }),
});

export const ProjectParams = Type.Object({ key: Type.String() }, { additionalProperties: false });
export const MemberParams = Type.Object(
  { key: Type.String(), login: Type.String() },
  { additionalProperties: false },
);
export const RecipeParams = Type.Object(
  { key: Type.String(), name: Type.String() },
  { additionalProperties: false },
);

export const NewProjectBody = Type.Object(
  { key: Type.String(), name: Type.String() },
  { additionalProperties: false },
);
export const MemberBody = Type.Object({ role: Role }, { additionalProperties: false });
const BaseRevision = Type.Optional(
  Type.Integer({
    minimum: 0,
    description:
      'The revision this save edits (0: a new recipe). A save based on a revision that is no longer the current one gets 409 and changes nothing; without it, the save replaces whatever is there.',
  }),
);

/** A recipe of an installed plugin: the component and the values of its generated form. */
export const PluginRecipeBody = Type.Object(
  {
    plugin: Type.Object({ id: Type.String(), recipe: Type.String() }, { additionalProperties: false }),
    config: Type.Record(Type.String(), Type.Unknown()),
    baseRevision: BaseRevision,
  },
  { additionalProperties: false },
);

export const Readiness = Type.Object({
  ready: Type.Boolean(),
  missing: Type.Array(
    Type.Object({
      kind: Type.Union([Type.Literal('credential'), Type.Literal('secret'), Type.Literal('problem')]),
      message: Type.String(),
      plugin: Type.Optional(Type.String()),
      parameterSet: Type.Optional(Type.String()),
      preset: Type.Optional(Type.String()),
      param: Type.Optional(Type.String()),
      name: Type.Optional(Type.String()),
      description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    }),
  ),
});

export const RecipeBody = Type.Object(
  {
    language: Language,
    code: Type.String(),
    baseRevision: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'The revision this save edits (0: a new recipe). A save based on a revision that is no longer the current one gets 409 and changes nothing; without it, the save replaces whatever is there.',
      }),
    ),
  },
  { additionalProperties: false },
);
