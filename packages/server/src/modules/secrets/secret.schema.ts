import { Type } from 'typebox';
import { Millis, NullableMillis } from '../../http/schemas.js';

export const SecretInfo = Type.Object({
  name: Type.String(),
  createdAt: Millis,
  updatedAt: Millis,
  lastUsedAt: NullableMillis,
});

export const SecretList = Type.Object({ revision: Type.Integer(), secrets: Type.Array(SecretInfo) });

export const SecretNameParams = Type.Object({ name: Type.String() }, { additionalProperties: false });

export const PutSecretBody = Type.Object({ value: Type.String() }, { additionalProperties: false });

export const BatchBody = Type.Object(
  {
    revision: Type.Integer({
      minimum: 0,
      description: 'the revision the changes are based on, from the last list',
    }),
    changes: Type.Array(
      Type.Union([
        Type.Object(
          { op: Type.Literal('put'), name: Type.String(), value: Type.String() },
          { additionalProperties: false },
        ),
        Type.Object({ op: Type.Literal('delete'), name: Type.String() }, { additionalProperties: false }),
      ]),
      { maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);

export const ActivityQuery = Type.Object(
  { limit: Type.Optional(Type.String()), before: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export const ActivityList = Type.Object({
  events: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Millis,
      action: Type.String(),
      secretNames: Type.Array(Type.String()),
      actorLogin: Type.Union([Type.String(), Type.Null()]),
      authSource: Type.Union([Type.String(), Type.Null()]),
      credentialId: Type.Union([Type.String(), Type.Null()]),
      jobId: Type.Union([Type.String(), Type.Null()]),
      ip: Type.Union([Type.String(), Type.Null()]),
      projectKey: Type.Union([Type.String(), Type.Null()]),
      notebook: Type.Union([
        Type.Object({
          name: Type.Union([Type.String(), Type.Null()]),
          current: Type.Union([Type.Object({ projectKey: Type.String(), name: Type.String() }), Type.Null()]),
        }),
        Type.Null(),
      ]),
      job: Type.Union([
        Type.Object({
          id: Type.String(),
          projectKey: Type.String(),
          recipe: Type.String(),
          plugin: Type.Union([Type.Object({ id: Type.String(), recipe: Type.String() }), Type.Null()]),
        }),
        Type.Null(),
      ]),
    }),
  ),
});
