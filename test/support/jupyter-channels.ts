import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/*
 * A kernel's channels over Coffer's Jupyter WebSocket, as a Jupyter client holds them: what the tests of
 * kernels use to run code in one and read what it printed.
 */

export interface Msg {
  channel?: string;
  msg_type?: string;
  parent_header?: { msg_id?: string };
  content?: { text?: string; status?: string; ename?: string; evalue?: string };
}

export class Channels {
  readonly messages: Msg[] = [];
  readonly raw: string[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.raw.push(d.toString());
      this.messages.push(JSON.parse(d.toString()) as Msg);
    });
  }
  static open(url: string, key: string): Promise<Channels> {
    const ws = new WebSocket(url, { headers: { authorization: `token ${key}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Channels(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    });
  }
  /** Runs code; resolves with everything printed once the kernel replies. */
  async execute(code: string, timeoutMs = 60_000): Promise<{ out: string; reply: Msg }> {
    const id = randomUUID();
    this.ws.send(
      JSON.stringify({
        channel: 'shell',
        header: {
          msg_id: id,
          session: 's',
          username: 'u',
          msg_type: 'execute_request',
          version: '5.3',
          date: '',
        },
        parent_header: {},
        metadata: {},
        content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false },
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = this.messages.filter((m) => m.parent_header?.msg_id === id);
      const reply = mine.find((m) => m.msg_type === 'execute_reply');
      // The reply can overtake the last IOPub message; the kernel says idle when it is done.
      const idle = mine.some(
        (m) =>
          m.msg_type === 'status' && (m.content as { execution_state?: string })?.execution_state === 'idle',
      );
      if (reply && idle) {
        const out = mine
          .filter((m) => m.msg_type === 'stream')
          .map((m) => m.content!.text)
          .join('');
        return { out, reply };
      }
      if (Date.now() > deadline) throw new Error(`no reply to ${id}: ${JSON.stringify(mine)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
