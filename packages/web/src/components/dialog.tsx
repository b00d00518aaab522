import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { FormError } from './form-error';

interface DialogProps {
  title: string;
  /** Escape, or the dialog's own Cancel. */
  onCancel(): void;
  children: ComponentChildren;
  /** The dialog's main message, read out when it opens. */
  describedBy?: string;
  /** Room for wide content, such as a diff. */
  wide?: boolean;
}

/**
 * A modal dialog on the browser's own <dialog>: it traps focus and makes the page behind inert. It opens
 * when mounted, focuses the element marked data-autofocus (or the first control), and on close gives
 * focus back to whatever had it before, so keyboard users land where they were.
 */
export function Dialog({ title, onCancel, children, describedBy, wide }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const d = ref.current!;
    d.showModal();
    d.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      if (d.open) d.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      class={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

interface ConfirmProps {
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: string | null;
  onConfirm(): void;
  onCancel(): void;
}

/** Asks before something that cannot be undone. */
export function ConfirmDialog(p: ConfirmProps) {
  const msgId = useId();
  return (
    <Dialog title={p.title} onCancel={p.onCancel} describedBy={msgId}>
      <div id={msgId}>{p.message}</div>
      <FormError message={p.error} />
      <div class="actions">
        <button type="button" onClick={p.onCancel} data-autofocus>
          Cancel
        </button>
        <button type="button" class={p.danger ? 'danger' : 'primary'} disabled={p.busy} onClick={p.onConfirm}>
          {p.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
