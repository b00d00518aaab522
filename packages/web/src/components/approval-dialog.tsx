import type { ApprovalRequired } from '@coffer/client';
import { useId } from 'preact/hooks';
import { formatTime } from '../format';
import { Dialog } from './dialog';

interface Props {
  recipe: string;
  approval: ApprovalRequired;
  busy: boolean;
  onConfirm(): void;
  onCancel(): void;
}

/**
 * Before running code that someone else changed since you last ran it (ADR 0014): who changed it and
 * when, and the diff from what you last ran, then Run revision N or Cancel. The code runs with your
 * credentials, so this is where a change that would send your secrets away gets noticed. Cancel is
 * focused first: running needs a deliberate choice.
 */
export function ApprovalDialog({ recipe, approval, busy, onConfirm, onCancel }: Props) {
  const msgId = useId();
  const diffId = useId();
  return (
    <Dialog title={`Review changes to ${recipe}`} onCancel={onCancel} describedBy={msgId} wide>
      <p id={msgId}>
        {approval.message}. It runs as you, with your secrets: run it only if you trust what it does.
      </p>
      <h3>Changes</h3>
      <ul class="changes">
        {approval.changes.map((c) => (
          <li key={c.revision}>
            Revision {c.revision} by <strong>{c.by}</strong>, {formatTime(c.at)}
          </li>
        ))}
      </ul>
      <h3 id={diffId}>Diff</h3>
      <p class="muted small">
        Lines marked + (added) and − (removed), from the code you last ran to revision {approval.revision}.
      </p>
      <pre class="diff" aria-labelledby={diffId} tabIndex={0}>
        {diffLines(approval.diff).map((line, i) => (
          <DiffLine key={i} line={line} />
        ))}
      </pre>
      <div class="actions">
        <button type="button" onClick={onCancel} data-autofocus>
          Cancel
        </button>
        <button type="button" class="primary" disabled={busy} onClick={onConfirm}>
          Run revision {approval.revision}
        </button>
      </div>
    </Dialog>
  );
}

function diffLines(diff: string): string[] {
  const lines = diff.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * One line of the unified diff. Added and removed lines keep their + and − and are <ins> and <del>, with
 * the word said to screen readers, so colour is never the only sign.
 */
function DiffLine({ line }: { line: string }) {
  if (line.startsWith('+++') || line.startsWith('---')) return <span class="diff-file">{line}</span>;
  if (line.startsWith('@@')) return <span class="diff-hunk">{line}</span>;
  if (line.startsWith('+'))
    return (
      <ins class="diff-add">
        <span class="visually-hidden">added: </span>
        {line}
      </ins>
    );
  if (line.startsWith('-'))
    return (
      <del class="diff-del">
        <span class="visually-hidden">removed: </span>
        {line}
      </del>
    );
  return <span class="diff-context">{line}</span>;
}
