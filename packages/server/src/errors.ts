/**
 * The one family of errors that services throw. Each maps to one HTTP status in the error handler; the
 * message is shown to the caller, so it must never contain a secret value.
 */
export type ErrorCode =
  | 'not_found'
  | 'forbidden'
  | 'unauthenticated'
  | 'invalid'
  | 'conflict'
  | 'approval_required'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unavailable'
  | 'misdirected';

const STATUS: Record<ErrorCode, number> = {
  not_found: 404,
  forbidden: 403,
  unauthenticated: 401,
  invalid: 400,
  conflict: 409,
  approval_required: 409,
  rate_limited: 429,
  payload_too_large: 413,
  unavailable: 503,
  misdirected: 421,
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Members of the error object beside code and message, for errors a client acts on. */
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
    this.status = STATUS[code];
  }
}

export class NotFound extends AppError {
  constructor(message: string) {
    super('not_found', message);
  }
}
export class Forbidden extends AppError {
  constructor(message: string) {
    super('forbidden', message);
  }
}
export class Unauthenticated extends AppError {
  constructor(message: string) {
    super('unauthenticated', message);
  }
}
export class Invalid extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid', message, details);
  }
}
export class Conflict extends AppError {
  constructor(
    message: string,
    details?: Record<string, unknown>,
    more?: { code: Extract<ErrorCode, 'approval_required'>; fields: Record<string, unknown> },
  ) {
    super(more?.code ?? 'conflict', message, details, more?.fields);
  }
}

/** One save of a recipe, as a runner is shown it. */
export interface RecipeChange {
  revision: number;
  by: string;
  at: number;
}

/**
 * The run would execute code that someone other than the runner changed since the runner last ran it
 * (ADR 0014): the answer says who changed what, and the run succeeds once it carries `revision`.
 */
export class ApprovalRequired extends Conflict {
  constructor(
    message: string,
    readonly approval: { revision: number; changes: RecipeChange[]; diff: string },
  ) {
    super(message, undefined, { code: 'approval_required', fields: approval });
  }
}
export class RateLimited extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', message);
  }
}

/** The store does not answer (PostgreSQL down or unreachable): the request may succeed if retried. */
export class StoreUnavailable extends AppError {
  constructor(message = 'the store is unavailable; try again shortly') {
    super('unavailable', message);
  }
}

/** A part of this server that the request needs is missing or broken (not the store): named in the message. */
export class Unavailable extends AppError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** What was asked for lives on another replica of this server (a kernel): named in the message. */
export class Misdirected extends AppError {
  constructor(message: string) {
    super('misdirected', message);
  }
}
