import { Forbidden } from '../../errors.js';
import type { User } from '../users/user.model.js';

/** How a user's request was authenticated; these are the DSS `authSource` values. */
export type AuthSource = 'SESSION' | 'PERSONAL_API_KEY' | 'TICKET';

/**
 * The resolved caller of a service call. Routes never look at cookies or headers: the HTTP layer turns
 * them into a Caller once, and every service takes it as its first argument.
 */
export type Caller =
  | {
      readonly kind: 'user';
      readonly user: User;
      readonly source: AuthSource;
      /** The session, API key or ticket id (never its secret). */
      readonly credentialId: string;
      readonly ip?: string | undefined;
      /** Set when the credential was chosen by someone else (see requireOwnCredential). */
      readonly restriction?: Restriction | undefined;
      /** For a ticket (source TICKET): what it was issued for, which bounds what it may do. */
      readonly ticket?: TicketScope | undefined;
    }
  /** The operator on the server's own machine, through the CLI. */
  | { readonly kind: 'operator'; readonly name: 'cli' };

export type UserCaller = Extract<Caller, { kind: 'user' }>;

/**
 * What a ticket was issued for (docs/adr/0013). Code run by the platform may have been written by
 * someone other than its runner, so a ticket reads and updates its user's secrets, makes the DSS read
 * calls, and acts only in the project its job runs in; routes declare which of these they are.
 */
export interface TicketScope {
  readonly jobId: string | null;
  /** The key of the project the job runs in; null when the ticket has no project. */
  readonly projectKey: string | null;
  /** The notebook whose kernel holds the ticket (its name null once deleted); null for a job's. */
  readonly notebook?: { readonly id: string; readonly name: string | null } | null;
}

/** The refusal for a ticket beyond its scope: it names the limit and what to use instead. */
export function beyondTicket(what: string, scope?: TicketScope): Forbidden {
  const project = scope?.projectKey ? ` and act in its job's project, ${scope.projectKey}` : '';
  return new Forbidden(
    `a job's ticket cannot ${what}: code run by the platform may only read and update its user's secrets${project}; use your session or an API key`,
  );
}

/**
 * Credentials an administrator chose for another user: an API key created for them, or a password they
 * have not yet replaced with their own. An administrator holding one could act as the user, so such a
 * caller can neither read secret values nor make new credentials.
 */
export type Restriction = 'delegated-key' | 'password-change-required';

export function requireOwnCredential(caller: Caller, what: string): UserCaller {
  const c = requireUser(caller);
  if (c.restriction === 'delegated-key') {
    throw new Forbidden(
      `${what} needs a credential of your own: this API key was created for you by an administrator. Create your own key and use that.`,
    );
  }
  if (c.restriction === 'password-change-required') {
    throw new Forbidden(
      `${what} needs a password of your own: yours was set by an administrator. Choose a new one first (PUT /api/v1/me/password).`,
    );
  }
  return c;
}

/**
 * How the caller signed in when the credential is not one they chose and hold alone: a key or password
 * an administrator made for them, or a job's ticket (held by code). Null for their own session or key.
 * What such a caller does is not simply theirs: someone else may have done it in their name.
 */
export function borrowedCredential(c: UserCaller): string | null {
  if (c.restriction === 'delegated-key') return 'an API key an administrator made for them';
  if (c.restriction === 'password-change-required') return 'a password an administrator set';
  if (c.source === 'TICKET') return 'the ticket of a job';
  return null;
}

/**
 * The refusal for a delegated key on a route that changes code or who may change it (docs/adr/0013):
 * otherwise an administrator could plant code in the user's project that the user then runs with
 * their own values.
 */
export function beyondDelegatedKey(what: string): Forbidden {
  return new Forbidden(
    `this API key was created for you by an administrator, so it cannot ${what}: what decides which code runs with your values (a project's code and members, runs), and your plugin credentials, need a credential of your own. Create your own key and use that.`,
  );
}

/**
 * Whether the caller holds administrator rights. A ticket never does, even an administrator's: the
 * code it runs may be someone else's. The auth hook refuses tickets on admin routes first; this keeps
 * every service-level admin grant shut to them too.
 */
export function isAdminCaller(caller: Caller): boolean {
  return caller.kind === 'operator' || (caller.user.isAdmin && caller.source !== 'TICKET');
}

/**
 * For an administrator's ticket, the refusal of an administrator's power (`what`) that names the
 * ticket's limit, so the code's author is not told "only an administrator can" about an administrator;
 * undefined for any other caller, who gets the service's usual answer.
 */
export function withheldFromTicket(caller: Caller, what: string): Forbidden | undefined {
  if (caller.kind !== 'user' || caller.source !== 'TICKET' || !caller.user.isAdmin) return undefined;
  return beyondTicket(`${what}, even when its user is an administrator`, caller.ticket);
}

export function requireAdmin(caller: Caller): void {
  if (caller.kind === 'user' && caller.source === 'TICKET')
    throw beyondTicket('use administrator rights, even when its user is an administrator', caller.ticket);
  if (!isAdminCaller(caller)) throw new Forbidden('administrator rights are required for this call');
}

export function requireUser(caller: Caller): UserCaller {
  if (caller.kind !== 'user') throw new Forbidden('this call needs a user identity');
  return caller;
}
