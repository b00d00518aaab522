import { CofferApiError, CofferClient } from '@coffer/client';

/** The one client the pages use: same origin, the browser's session cookie, CSRF token kept inside. */
export const api = new CofferClient();

/** What to tell a person about a failed call: the server's message, or that it could not be reached. */
export function messageOf(e: unknown): string {
  if (e instanceof CofferApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export const isUnauthenticated = (e: unknown) => e instanceof CofferApiError && e.status === 401;
export const isConflict = (e: unknown) => e instanceof CofferApiError && e.status === 409;
