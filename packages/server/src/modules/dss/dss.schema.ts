import { Type } from 'typebox';

const StringMap = Type.Record(Type.String(), Type.String());

export const DssSecretEntry = Type.Object({
  name: Type.String(),
  value: Type.String(),
  secret: Type.Boolean(),
});

export const DssUserInfo = Type.Object({
  login: Type.String(),
  displayName: Type.String(),
  email: Type.String(),
  groups: Type.Array(Type.String()),
  userProfile: Type.String(),
  enabled: Type.Boolean(),
  sourceType: Type.String(),
});

export const DssSettings = Type.Object({
  ...DssUserInfo.properties,
  creationDate: Type.Integer(),
  userProperties: StringMap,
  preferences: Type.Record(Type.String(), Type.Unknown()),
  secrets: Type.Array(DssSecretEntry),
  credentials: Type.Record(Type.String(), Type.Unknown()),
  adminProperties: Type.Optional(StringMap),
  /** What this read saw; the DSS clients send it back with the rest, and a save is judged against it. */
  cofferReadVersion: Type.String(),
});

export const DssApiKey = Type.Object({
  id: Type.String(),
  user: Type.String(),
  label: Type.String(),
  description: Type.String(),
  createdOn: Type.Integer(),
  createdBy: Type.String(),
  lastUsedOn: Type.Union([Type.Integer(), Type.Null()]),
  expiresOn: Type.Union([Type.Integer(), Type.Null()]),
  key: Type.String(),
});

export const DssNewApiKey = DssApiKey;

export const DssBulkResult = Type.Array(
  Type.Object({
    login: Type.String(),
    status: Type.Union([Type.Literal('SUCCESS'), Type.Literal('FAILURE')]),
    error: Type.Union([Type.String(), Type.Null()]),
  }),
);
