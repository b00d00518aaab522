import { createInterface } from 'node:readline';

/** The two passwords typed at a terminal differ: nothing was changed. */
export class PasswordsDiffer extends Error {
  constructor() {
    super('the two passwords typed differ; nothing was changed: run the command again');
  }
}

/** Ctrl-C at a password prompt. */
export class Interrupted extends Error {}

/**
 * Reads a password from stdin: the first line when piped, or typed without echo at a terminal.
 * Passwords never come from arguments, which other local users can see in the process list.
 */
export async function readPassword(prompt: string): Promise<string> {
  const [line] = await readLines([prompt]);
  return line ?? '';
}

/**
 * Reads a password that is about to be set. At a terminal it is typed twice, since an unseen typo
 * would lock the user out; piped (a script, a secret manager), the first line is taken once.
 */
export async function readNewPassword(prompt: string, again: string): Promise<string> {
  if (!process.stdin.isTTY) return readPassword(prompt);
  const [first = '', second = ''] = await readLines([prompt, again], (typed) => typed !== '');
  if (first !== '' && first !== second) throw new PasswordsDiffer();
  return first;
}

/**
 * Answers to `prompts` in turn: at a terminal each typed unseen, stopping early once `goOn` says so;
 * piped, the first line of stdin for the first prompt only.
 */
async function readLines(
  prompts: string[],
  goOn: (typed: string) => boolean = () => true,
): Promise<string[]> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return [text.split(/\r?\n/)[0] ?? ''];
  }
  const rl = createInterface({ input: stdin, terminal: true });
  // Swallow the echo of typed characters.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const answers: string[] = [];
  try {
    for (const prompt of prompts) {
      process.stderr.write(prompt);
      const line = await new Promise<string>((resolve, reject) => {
        // In raw mode Ctrl-C reaches readline, not the process: it must end the command all the same.
        rl.once('SIGINT', () => reject(new Interrupted()));
        rl.question('', resolve);
      });
      rl.removeAllListeners('SIGINT');
      process.stderr.write('\n');
      answers.push(line);
      if (!goOn(line)) break;
    }
  } finally {
    rl.close();
  }
  return answers;
}
