/** An error answer from Coffer: the HTTP status, Coffer's error code and the server's message. */
export class CofferApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CofferApiError';
  }

  /** The credential is missing, expired or revoked: sign in again (or use another key). */
  get unauthenticated(): boolean {
    return this.status === 401;
  }

  /**
   * A batch save was based on a stale revision (someone changed the secrets in the meantime), or a run
   * needs your approval (ApprovalRequired).
   */
  get conflict(): boolean {
    return this.status === 409;
  }
}

/** One save of a recipe's code: its revision number, who saved it (login) and when (epoch ms). */
export interface RecipeChange {
  revision: number;
  by: string;
  at: number;
}

/**
 * A run was refused because someone other than you changed the recipe since you last ran it: read
 * `diff` (from the code you last ran, or nothing, to `revision`) and `changes`, then run again with
 * `approvedRevision: revision` if you accept that code running with your credentials.
 */
export class ApprovalRequired extends CofferApiError {
  constructor(
    message: string,
    /** The revision to review, and to approve. */
    readonly revision: number,
    /** Every save since the revision you last ran, oldest first. */
    readonly changes: RecipeChange[],
    /** Unified diff from the code you last ran (nothing, if never) to `revision`. */
    readonly diff: string,
  ) {
    super(409, 'approval_required', message);
    this.name = 'ApprovalRequired';
  }
}

/** The server could not be reached at all (network down, wrong URL). */
export class CofferUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach Coffer at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'CofferUnreachable';
  }
}

/** getSecret found no secret of that name for the caller. */
export class SecretNotFound extends Error {
  constructor(
    readonly secretName: string,
    readonly user: string,
  ) {
    super(
      `no secret named ${JSON.stringify(secretName)} for user ${user}: add it in your profile (My Account → Other credentials)`,
    );
    this.name = 'SecretNotFound';
  }
}
