import type { Session } from '@coffer/client';
import { createContext } from 'preact';
import { useCallback, useContext } from 'preact/hooks';
import { isUnauthenticated } from './api';

export interface SessionContextValue {
  session: Session;
  /** A call answered 401: the session ended (expired, revoked). Asks the person to sign in again. */
  sessionEnded(): void;
  /** Signs out and reloads, so nothing of this session stays in memory. */
  signOut(): Promise<void>;
  /** Replaces the session after a password change or a sign-in. */
  setSession(s: Session): void;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/**
 * Wraps an API call so that a 401 opens the sign-in-again dialog while the page, and whatever the person
 * was editing, stays as it is. The error is rethrown for the caller to show.
 */
export function useCall() {
  const { sessionEnded } = useSession();
  return useCallback(
    async <T,>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (e) {
        if (isUnauthenticated(e)) sessionEnded();
        throw e;
      }
    },
    [sessionEnded],
  );
}
