import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { httpRequest, type Reply } from './test-server.js';

/*
 * A notebook kernel as a Jupyter client holds it (docs/adr/0020): a session opened over
 * `/jupyter/api/sessions` with a personal API key, and the kernel's channels over the WebSocket
 * `/jupyter/api/kernels/{id}/channels`, where code runs and what it prints comes back.
 */

export interface Msg {
  channel?: string;
  msg_type?: string;
  parent_header?: { msg_id?: string };
  content?: {
    text?: string;
    status?: string;
    ename?: string;
    evalue?: string;
    data?: Record<string, string>;
  };
}

/** A kernel's channels WebSocket URL on a server. */
export const channelsUrl = (serverUrl: string, kernelId: string): string =>
  `${serverUrl.replace(/^http/, 'ws')}/jupyter/api/kernels/${kernelId}/channels`;

/** A call to Coffer's Jupyter API as Jupyter clients make it: `Authorization: token <key>`. */
export const jupyterCall = (serverUrl: string, key: string, method: string, p: string, body?: unknown) =>
  httpRequest(serverUrl, method, p, { headers: { authorization: `token ${key}` }, body });

/** A kernel's channels, as a Jupyter client holds them. */
export class Channels {
  readonly messages: Msg[] = [];
  readonly raw: string[] = [];
  /** Resolves with the close code and reason once the server closes the socket (the kernel ended). */
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.raw.push(d.toString());
      this.messages.push(JSON.parse(d.toString()) as Msg);
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }
  static open(url: string, key: string): Promise<Channels> {
    const ws = new WebSocket(url, { headers: { authorization: `token ${key}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Channels(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    });
  }
  /**
   * Runs code; resolves with everything printed (streams, then the value of the last expression) once
   * the kernel replies.
   */
  async execute(code: string, timeoutMs = 60_000): Promise<{ out: string; reply: Msg }> {
    const id = this.submit(code);
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
        const out = [
          ...mine.filter((m) => m.msg_type === 'stream').map((m) => m.content!.text),
          ...mine.filter((m) => m.msg_type === 'execute_result').map((m) => m.content!.data!['text/plain']),
        ].join('');
        return { out, reply };
      }
      if (Date.now() > deadline) throw new Error(`no reply to ${id}: ${JSON.stringify(mine)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** Sends code to run without waiting for it (a cell that may never answer); returns its message id. */
  submit(code: string): string {
    return this.send('shell', 'execute_request', {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
    });
  }
  /** Sends one Jupyter message; returns its id. */
  send(channel: 'shell' | 'control' | 'stdin', msgType: string, content: unknown): string {
    const id = randomUUID();
    this.ws.send(
      JSON.stringify({
        channel,
        header: { msg_id: id, session: 's', username: 'u', msg_type: msgType, version: '5.3', date: '' },
        parent_header: {},
        metadata: {},
        content,
      }),
    );
    return id;
  }
  /** The first message replying to `id` with `msgType`, once it comes. */
  async replyTo(id: string, msgType: string, timeoutMs = 30_000): Promise<Msg> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const reply = this.messages.find((m) => m.parent_header?.msg_id === id && m.msg_type === msgType);
      if (reply) return reply;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${msgType} to ${id}`);
  }
}

export interface KernelSession {
  /** The session as the server answered its opening. */
  session: Reply;
  sessionId: string;
  kernelId: string;
  channels: Channels;
}

/** Opens a notebook (`<PROJECT>/<name>.ipynb`) as the key's user and connects to its kernel. */
export async function openKernel(
  serverUrl: string,
  key: string,
  notebookPath: string,
): Promise<KernelSession> {
  const session = await jupyterCall(serverUrl, key, 'POST', '/jupyter/api/sessions', { path: notebookPath });
  if (session.status !== 201)
    throw new Error(`no session for ${notebookPath}: ${session.status} ${session.text}`);
  const kernelId = session.json.kernel.id as string;
  const channels = await Channels.open(channelsUrl(serverUrl, kernelId), key);
  return { session, sessionId: session.json.id as string, kernelId, channels };
}
