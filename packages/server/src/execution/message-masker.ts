/*
 * Masks a notebook kernel's output: the bridge (clients/jupyter/coffer_kernel_bridge.py) writes one
 * Jupyter message per line, as JSON, and what a client receives is each message's strings decoded. So
 * the masker of job logs (log-masker.ts) is run on those strings, not on the line: on the line, every
 * printed form is JSON-escaped once more (a repr's `\'` is `\\'` there), forms the masker does not
 * know, and a mask could leave a lone `\` before it, which is no JSON at all. One masker, two
 * framings: a byte stream for jobs, a stream of messages for kernels.
 *
 * Each line is parsed, every string in it masked with the run's values (each as a whole text), and the
 * message written again as one JSON line. Keys are masked too below a message's envelope: a mime bundle
 * or a JSON display holds the user's data as keys as much as values (`display(JSON({v: 1}))`), while
 * the envelope's names (`header`, `content`, `msg_type`, `data`…) are the protocol's.
 *
 * Streams are text cut into messages where the kernel flushed (ipykernel every 0.2 s or on `flush()`),
 * so a value may be split across two of them. As a job's log holds back a tail that could still begin
 * a value, a stream's text goes through one masker per stream name, kept from message to message:
 * a message whose end could still begin a value waits, and the next message of the same stream and
 * cell is joined to it. Any other output first lets it go, masked to its end (as a job's log at its
 * end): a value split around other output is not joined.
 */
import { StringDecoder } from 'node:string_decoder';
import type { LogMasker, Masking } from './log-masker.js';

/**
 * A copy of a JSON value with every string masked: its values, and the keys of objects `keysFrom`
 * levels down or deeper (the levels above name a protocol's own fields). Keys that mask to the same
 * text keep the last of their values.
 */
export function maskJsonStrings(v: unknown, mask: (s: string) => string, keysFrom = 0): unknown {
  return maskAt(v, mask, keysFrom, 0);
}

function maskAt(v: unknown, mask: (s: string) => string, keysFrom: number, depth: number): unknown {
  if (typeof v === 'string') return mask(v);
  if (Array.isArray(v)) return v.map((x) => maskAt(x, mask, keysFrom, depth + 1));
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        depth >= keysFrom ? mask(k) : k,
        maskAt(x, mask, keysFrom, depth + 1),
      ]),
    );
  return v;
}

/**
 * The levels of a kernel message whose keys are the protocol's: the message's own (`header`,
 * `content`, `channel`…) and those of its parts (`msg_id`, `text`, `data`, `execution_state`…).
 */
export const MESSAGE_KEY_LEVELS = 2;

/** One kernel message (parsed from the bridge's line), every string masked. */
export function maskKernelMessage(message: unknown, mask: (s: string) => string): unknown {
  return maskJsonStrings(message, mask, MESSAGE_KEY_LEVELS);
}

/** What the bridge writes for a kernel's output on a stream (stdout, stderr). */
interface StreamMessage {
  msg_type: 'stream';
  parent_header?: { msg_id?: unknown };
  content: { name: string; text: string };
}

function isStream(m: unknown): m is StreamMessage {
  if (typeof m !== 'object' || m === null) return false;
  const { msg_type, content } = m as { msg_type?: unknown; content?: { name?: unknown; text?: unknown } };
  return (
    msg_type === 'stream' &&
    typeof content === 'object' &&
    content !== null &&
    typeof content.name === 'string' &&
    typeof content.text === 'string'
  );
}

/**
 * A line of the bridge's that is not a JSON object, masked as text, as the masker passes it on: the
 * bridge writes nothing else (the kernel's own standard output goes to standard error), so it is a
 * fault, to be logged; it is never passed on as it came, nor dropped unseen.
 */
export interface StrayLine {
  bridge: 'stray-output';
  text: string;
}

/**
 * A masker for a kernel bridge's standard output (JSON lines in, JSON lines out), with the interface
 * of a job log's: bytes in, what is safe to pass on out, the rest at the end. A line that is not JSON
 * comes out as a `StrayLine`.
 */
export function createMessageMasker(masking: Masking): LogMasker {
  const mask = (s: string) => masking.text(s);
  let partial: Buffer[] = [];
  let partialBytes = 0;
  /** The stream being followed: its masker, and its message that waits for the next (if one does). */
  let open:
    | { name: string; parent: unknown; masker: LogMasker; text: StringDecoder; held?: StreamMessage }
    | undefined;

  const line = (m: unknown) => Buffer.from(`${JSON.stringify(m)}\n`, 'utf8');

  /** Ends the stream being followed: its waiting message goes, masked to its end. */
  const close = (out: Buffer[]) => {
    if (!open) return;
    const { masker, text, held } = open;
    const tail = text.write(masker.end()) + text.end();
    open = undefined;
    if (held) {
      held.content.text += tail;
      out.push(line(held));
    }
  };

  const stream = (m: StreamMessage, out: Buffer[]) => {
    const parent = m.parent_header?.msg_id;
    if (open && (open.name !== m.content.name || open.parent !== parent)) close(out);
    open ??= { name: m.content.name, parent, masker: masking.stream(), text: new StringDecoder('utf8') };
    const safe = open.text.write(open.masker.push(Buffer.from(m.content.text, 'utf8')));
    open.held ??= maskKernelMessage({ ...m, content: { ...m.content, text: '' } }, mask) as StreamMessage;
    open.held.content.text += safe;
    if (open.masker.pending === 0) {
      out.push(line(open.held));
      open.held = undefined;
    }
  };

  const message = (text: string, out: Buffer[]) => {
    if (text === '') return;
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      m = undefined;
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      close(out);
      out.push(line({ bridge: 'stray-output', text: mask(text) } satisfies StrayLine));
      return;
    }
    if (isStream(m)) return stream(m, out);
    // A reply on the shell or control channel may overtake the kernel's output (IOPub) anyway; any
    // other message comes after the stream's text, so that text goes first, to its end.
    const { channel } = m as { channel?: unknown };
    if (channel !== 'shell' && channel !== 'control') close(out);
    out.push(line(maskKernelMessage(m, mask)));
  };

  return {
    push(chunk) {
      const out: Buffer[] = [];
      let from = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        const piece = chunk.subarray(from, nl);
        const whole = partialBytes ? Buffer.concat([...partial, piece]) : piece;
        partial = [];
        partialBytes = 0;
        message(whole.toString('utf8'), out);
        from = nl + 1;
      }
      if (from < chunk.length) {
        partial.push(Buffer.from(chunk.subarray(from)));
        partialBytes += chunk.length - from;
      }
      return Buffer.concat(out);
    },
    end() {
      const out: Buffer[] = [];
      if (partialBytes) message(Buffer.concat(partial).toString('utf8'), out);
      partial = [];
      partialBytes = 0;
      close(out);
      return Buffer.concat(out);
    },
    get pending() {
      return partialBytes + (open?.masker.pending ?? 0);
    },
  };
}
