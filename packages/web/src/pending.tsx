import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

/** A change to one secret that the person made but has not saved yet. */
export type PendingChange = { op: 'put'; value: string } | { op: 'delete' };

interface PendingContextValue {
  changes: ReadonlyMap<string, PendingChange>;
  set(name: string, change: PendingChange): void;
  drop(name: string): void;
  clear(): void;
  /** Leaves the page for `url` on purpose, dropping unsaved changes without asking. */
  discardAndLeave(url: string): void;
}

const PendingContext = createContext<PendingContextValue | null>(null);

/**
 * Unsaved secret changes, held above the router so that moving between tabs, or signing in again after
 * the session ended, keeps them. They live only in this page's memory: never in storage or the URL.
 * Leaving the page while some are unsaved asks first.
 */
export function PendingSecretsProvider({ children }: { children: ComponentChildren }) {
  const [changes, setChanges] = useState<ReadonlyMap<string, PendingChange>>(new Map());

  const set = useCallback((name: string, change: PendingChange) => {
    setChanges((m) => new Map(m).set(name, change));
  }, []);
  const drop = useCallback((name: string) => {
    setChanges((m) => {
      const n = new Map(m);
      n.delete(name);
      return n;
    });
  }, []);
  const clear = useCallback(() => setChanges(new Map()), []);
  const leaving = useRef(false);
  const discardAndLeave = useCallback((url: string) => {
    leaving.current = true;
    setChanges(new Map());
    location.assign(url);
  }, []);

  // A layout effect: the guard is in place in the same render that shows the unsaved row, not a frame
  // later, so closing the tab right after Ok still asks.
  useLayoutEffect(() => {
    if (changes.size === 0) return;
    const warn = (e: BeforeUnloadEvent) => {
      if (leaving.current) return;
      e.preventDefault();
      // Older browsers need returnValue set to show the prompt.
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [changes]);

  const value = useMemo(
    () => ({ changes, set, drop, clear, discardAndLeave }),
    [changes, set, drop, clear, discardAndLeave],
  );
  return <PendingContext.Provider value={value}>{children}</PendingContext.Provider>;
}

export function usePending(): PendingContextValue {
  const p = useContext(PendingContext);
  if (!p) throw new Error('usePending outside PendingSecretsProvider');
  return p;
}
