import { Type } from 'typebox';
import { Millis } from '../../http/schemas.js';
import type { User } from './user.model.js';

/** Coffer's view of a user; no password hash, no secret. */
export const UserView = Type.Object({
  login: Type.String(),
  displayName: Type.String(),
  email: Type.String(),
  groups: Type.Array(Type.String()),
  userProfile: Type.String(),
  enabled: Type.Boolean(),
  admin: Type.Boolean(),
  createdAt: Millis,
  updatedAt: Millis,
});

export function userView(u: User) {
  return {
    login: u.login,
    displayName: u.displayName,
    email: u.email,
    groups: [...u.groups],
    userProfile: u.userProfile,
    enabled: u.enabled,
    admin: u.isAdmin,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

export const LoginParams = Type.Object({ login: Type.String() }, { additionalProperties: false });

export const NewUserBody = Type.Object(
  {
    login: Type.String(),
    password: Type.String(),
    displayName: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    groups: Type.Optional(Type.Array(Type.String())),
    userProfile: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const UserPatchBody = Type.Object(
  {
    displayName: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    groups: Type.Optional(Type.Array(Type.String())),
    userProfile: Type.Optional(Type.String()),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
