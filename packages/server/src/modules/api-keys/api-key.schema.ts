import { Type } from 'typebox';
import { Millis, NullableMillis } from '../../http/schemas.js';

export const ApiKeyView = Type.Object({
  id: Type.String(),
  user: Type.String(),
  label: Type.String(),
  description: Type.String(),
  createdOn: Millis,
  createdBy: Type.String(),
  lastUsedOn: NullableMillis,
  expiresOn: NullableMillis,
  last4: Type.String(),
});

export const NewApiKeyView = Type.Object({ ...ApiKeyView.properties, key: Type.String() });

export const ApiKeyIdParams = Type.Object({ id: Type.String() }, { additionalProperties: false });
