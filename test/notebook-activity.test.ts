/*
 * A notebook's reads in its user's Activity (docs/adr/0020): code run in a kernel reads the user's
 * secrets with the kernel's ticket, and the user's trail names the notebook and its project, as it names
 * a job — and where the notebook is now once it has been renamed, but not once it is gone. Another
 * member running the same notebook reads only their own secrets, in their own trail: neither sees the
 * other's read.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from './support/kernel-session.js';
import { TestServer, type TestUser } from './support/test-server.js';

const NAME = 'credential-for-my-api';
/** The seed's Python snippet as written, with the client it expects. */
const SNIPPET = `import dataiku
client = dataiku.api_client()
${readFileSync('test/fixtures/seed/python-snippet.py', 'utf8')}
print("read", len(secret_value))
`;

interface Event {
  action: string;
  secretNames: string[];
  actorLogin: string | null;
  authSource: string | null;
  jobId: string | null;
  projectKey: string | null;
  notebook: { name: string | null; current: { projectKey: string; name: string } | null } | null;
}

describe("a notebook's reads in Activity", () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const as = (u: TestUser, method: string, p: string, body?: unknown) =>
    server.request(method, p, { headers: { authorization: `token ${u.key}` }, body });
  const activity = async (u: TestUser) =>
    (await as(u, 'GET', '/api/v1/me/activity?limit=100')).json.events as Event[];
  const notebookReads = async (u: TestUser) =>
    (await activity(u)).filter((e) => e.action === 'secret.read' && e.notebook !== null);

  /** Opens the user's kernel on the notebook, runs the seed's snippet in it, and closes it. */
  async function readInKernel(u: TestUser, path: string): Promise<void> {
    const opened = await as(u, 'POST', '/jupyter/api/sessions', { path, type: 'notebook' });
    expect(opened.status, opened.text).toBe(201);
    const url = `${server.url.replace(/^http/, 'ws')}/jupyter/api/kernels/${opened.json.kernel.id}/channels`;
    const channels = await Channels.open(url, u.key);
    try {
      const { out, reply } = await channels.execute(SNIPPET);
      expect(reply.content!.status, out).toBe('ok');
      expect(out).toMatch(/read \d+/);
    } finally {
      channels.ws.close();
      await as(u, 'DELETE', `/jupyter/api/sessions/${opened.json.id}`);
    }
  }

  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    await as(alice, 'PUT', `/api/v1/me/secrets/${NAME}`, { value: 'alice-value-5e1c' });
    await as(bob, 'PUT', `/api/v1/me/secrets/${NAME}`, { value: 'bob-value-0a7d' });
    expect((await as(alice, 'POST', '/api/v1/projects', { key: 'ACT', name: 'Activity' })).status).toBe(201);
    await as(alice, 'PUT', '/api/v1/projects/ACT/members/bob', { role: 'contributor' });
    expect(
      (await as(alice, 'PUT', '/api/v1/projects/ACT/notebooks/explore', { language: 'python' })).status,
    ).toBe(201);
  });
  afterAll(() => server.close());

  it("names the notebook and its project in its user's trail, and only there", async () => {
    await readInKernel(alice, 'ACT/explore.ipynb');
    expect(await notebookReads(alice)).toEqual([
      expect.objectContaining({
        secretNames: [NAME],
        actorLogin: 'alice',
        authSource: 'TICKET',
        jobId: null,
        projectKey: 'ACT',
        notebook: { name: 'explore', current: { projectKey: 'ACT', name: 'explore' } },
      }),
    ]);
    // Bob, a member of the project, sees nothing of Alice's read in his own trail.
    expect(await notebookReads(bob)).toEqual([]);

    // His own read of the same notebook is his alone.
    await readInKernel(bob, 'ACT/explore.ipynb');
    expect(await notebookReads(bob)).toEqual([
      expect.objectContaining({ actorLogin: 'bob', notebook: expect.objectContaining({ name: 'explore' }) }),
    ]);
    expect((await notebookReads(alice)).map((e) => e.actorLogin)).toEqual(['alice']);
  }, 120_000);

  it('keeps the name a read was made under, and says where the notebook is now, while it exists for the user', async () => {
    const renamed = await as(alice, 'PATCH', '/jupyter/api/contents/ACT/explore.ipynb', {
      path: 'ACT/explored.ipynb',
    });
    expect(renamed.status, renamed.text).toBe(200);
    const [read] = await notebookReads(alice);
    expect(read!.notebook).toEqual({ name: 'explore', current: { projectKey: 'ACT', name: 'explored' } });

    // Once Bob has left the project, his trail no longer follows the notebook: it keeps what he saw.
    expect((await as(alice, 'DELETE', '/api/v1/projects/ACT/members/bob')).status).toBe(204);
    expect((await notebookReads(bob))[0]!.notebook).toEqual({ name: 'explore', current: null });

    expect((await as(alice, 'DELETE', '/api/v1/projects/ACT/notebooks/explored')).status).toBe(204);
    expect((await notebookReads(alice))[0]).toMatchObject({
      projectKey: 'ACT',
      notebook: { name: 'explore', current: null },
    });
  });
});
