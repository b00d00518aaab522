import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useId } from 'preact/hooks';
import { FormError } from './form-error';

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'label' | 'onInput' | 'value'> & {
  'data-autofocus'?: boolean | undefined;
};

interface FieldProps extends InputProps {
  label: string;
  value: string;
  onValue(v: string): void;
  /** Shown under the input and announced; marks the input invalid. */
  error?: string | null | undefined;
  /** Invalid because of a message shown elsewhere (a form's own error), which `describedBy` names. */
  invalid?: boolean | undefined;
  describedBy?: string | undefined;
  hint?: ComponentChildren;
  /** Something beside the input, e.g. a show/hide button. */
  after?: ComponentChildren;
}

/** A labelled input with its hint and error wired for screen readers. */
export function Field({
  label,
  value,
  onValue,
  error,
  invalid,
  describedBy: elsewhere,
  hint,
  after,
  id,
  ...input
}: FieldProps) {
  const auto = useId();
  const inputId = (id as string | undefined) ?? auto;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  const describedBy = [hintId, errorId, elsewhere].filter(Boolean).join(' ') || undefined;
  const isInvalid = Boolean(error) || invalid;
  return (
    <div class={`field${isInvalid ? ' invalid' : ''}`}>
      <label for={inputId}>{label}</label>
      <div class="field-row">
        <input
          {...input}
          id={inputId}
          value={value}
          onInput={(e) => onValue(e.currentTarget.value)}
          aria-invalid={isInvalid ? true : undefined}
          aria-describedby={describedBy}
        />
        {after}
      </div>
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
      <FormError message={error} id={errorId} announce={false} />
    </div>
  );
}
