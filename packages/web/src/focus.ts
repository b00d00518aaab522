import { useCallback, useEffect, useRef } from 'preact/hooks';

/** Where focus goes: the first of these that the page shows once it has drawn the change. */
export type FocusTarget = string | (() => HTMLElement | null | undefined);

/**
 * Moves focus after the next render. An action that removes or disables the control that had focus
 * (Save, Delete, Revoke, a failed sign-in) would otherwise drop it on the page body, and a keyboard or
 * screen-reader user would have to find their place again from the top. The targets are tried in order:
 * the next row's button, then the previous one's, then a message, say.
 */
export function useFocusAfterRender(): (...targets: FocusTarget[]) => void {
  const pending = useRef<FocusTarget[] | null>(null);
  useEffect(() => {
    const targets = pending.current;
    if (!targets) return;
    pending.current = null;
    let frames = 0;
    const attempt = () => {
      // A modal dialog that is closing in the same change (a confirmation) still makes the page inert
      // for a moment, and focus() on an inert element does nothing: wait for it to go.
      const modal = document.querySelector('dialog[open]');
      for (const t of targets) {
        const el = typeof t === 'string' ? document.querySelector<HTMLElement>(t) : t();
        if (!el || !el.isConnected || (el as HTMLButtonElement).disabled) continue;
        if (modal && !modal.contains(el)) break;
        el.focus();
        return;
      }
      if (modal && frames++ < 30) requestAnimationFrame(attempt);
    };
    attempt();
  });
  return useCallback((...targets: FocusTarget[]) => {
    pending.current = targets;
  }, []);
}
