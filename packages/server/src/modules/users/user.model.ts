import { oncePerObject } from '../../memo.js';
import type { UserRow } from '../../store/schema.js';

/** Members of this group are administrators, as in a default DSS install. */
export const ADMIN_GROUP = 'administrators';

export interface User {
  readonly id: string;
  readonly login: string;
  readonly displayName: string;
  readonly email: string;
  readonly groups: readonly string[];
  readonly userProfile: string;
  readonly sourceType: string;
  readonly enabled: boolean;
  readonly isAdmin: boolean;
  readonly hasPassword: boolean;
  readonly userProperties: Record<string, string>;
  readonly adminProperties: Record<string, string>;
  readonly preferences: Record<string, unknown>;
  readonly secretsRevision: number;
  /** The password was set by an administrator: the user must choose their own before anything else. */
  readonly passwordMustChange: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

function parseObject<T>(text: string): T {
  const v: unknown = JSON.parse(text);
  return (typeof v === 'object' && v !== null ? v : {}) as T;
}

/**
 * The user a row describes; frozen, since one user object may serve many requests: a row kept between
 * reads is parsed once, not per request.
 */
export const toUser: (row: UserRow) => User = oncePerObject((row: UserRow) => deepFreeze(fromRow(row)));

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(o);
}

function fromRow(row: UserRow): User {
  const groups = JSON.parse(row.groups) as string[];
  return {
    id: row.id,
    login: row.login,
    displayName: row.display_name,
    email: row.email,
    groups,
    userProfile: row.user_profile,
    sourceType: row.source_type,
    enabled: row.enabled === 1,
    isAdmin: groups.includes(ADMIN_GROUP),
    hasPassword: row.password_hash !== null,
    userProperties: parseObject(row.user_properties),
    adminProperties: parseObject(row.admin_properties),
    preferences: parseObject(row.preferences),
    secretsRevision: Number(row.secrets_revision),
    passwordMustChange: Number(row.password_must_change) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
