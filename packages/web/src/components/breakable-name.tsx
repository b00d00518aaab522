import { Fragment } from 'preact';

/**
 * A name that may wrap only after its separators (`-`, `_`, `.`), never in the middle of a word, so
 * "warehouse_reporting.readonly" breaks as "warehouse_ / reporting. / readonly". The <wbr> elements add
 * break opportunities only: the text, and what a screen reader or a copy gets, is the name unchanged.
 */
export function BreakableName({ name }: { name: string }) {
  const pieces = name.split(/(?<=[-_.])/);
  return (
    <>
      {pieces.map((piece, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {piece}
        </Fragment>
      ))}
    </>
  );
}
