import type { ComponentChildren } from 'preact';

/**
 * Turns a message into a sentence as a person would write it: a capital first letter and a full stop.
 * The server's messages are lower-case clauses ("login must not be empty") so that clients can put them
 * inside their own sentences; on a page they stand alone.
 */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const first = text[0]!.toLocaleUpperCase() + text.slice(1);
  return /[.!?…:)]$/.test(first) ? first : `${first}.`;
}

interface FormErrorProps {
  /** What went wrong; nothing is shown while it is empty. */
  message: string | null | undefined;
  id?: string | undefined;
  /** -1 when focus is moved to the message itself, after the action that failed. */
  tabIndex?: number;
  /**
   * Announced at once (role="alert"), the default for a form's or a card's error. A field's own error
   * is not: the field points at it with aria-describedby, and it changes as the person types.
   */
  announce?: boolean;
  /** Something to do about it, after the message: a Try again button. */
  children?: ComponentChildren;
}

/**
 * Checks that required fields are filled in before a form is sent: the first empty one gets focus and
 * its sentence ("Enter a name for the recipe.") is returned, to show with FormError; null when all are
 * filled in. The server checks them too; this only saves a round trip and says it the way a person would.
 */
export function firstMissing(
  fields: readonly { id: string; value: string; message: string }[],
): string | null {
  const missing = fields.find((f) => f.value.trim() === '');
  if (!missing) return null;
  document.getElementById(missing.id)?.focus();
  return missing.message;
}

/** The one way a form, a dialog or a card says what went wrong. */
export function FormError({ message, id, tabIndex, announce = true, children }: FormErrorProps) {
  if (!message) return null;
  return (
    <p class="error" id={id} tabIndex={tabIndex} role={announce ? 'alert' : undefined}>
      {asSentence(message)}
      {children && <> {children}</>}
    </p>
  );
}
