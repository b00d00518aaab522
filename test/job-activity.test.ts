/*
 * A user's activity names the code that read their secrets: a read by a job's ticket comes with that
 * job, its project and the recipe it ran, so the Activity page can link to each. Only the user whose
 * secrets were read sees it, and only for a job they ran.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runRecipe, SEED_SNIPPETS, waitForJob } from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';

interface Event {
  action: string;
  actorLogin: string | null;
  authSource: string | null;
  jobId: string | null;
  projectKey: string | null;
  job: { id: string; projectKey: string; recipe: string; plugin: unknown } | null;
}

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await TestServer.start({ COFFER_SANDBOX: 'off' });
  alice = await server.createUser('alice');
  bob = await server.createUser('bob');
  for (const [who, value] of [
    [alice, 'alice-value-31c7'],
    [bob, 'bob-value-8e02'],
  ] as const) {
    const put = await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
      key: who.key,
      body: { value },
    });
    expect(put.status, put.text).toBe(201);
  }
  const created = await server.request('POST', '/api/v1/projects', {
    key: alice.key,
    body: { key: 'OPS', name: 'Operations' },
  });
  expect(created.status, created.text).toBe(201);
  await server.request('PUT', '/api/v1/projects/OPS/members/bob', {
    key: alice.key,
    body: { role: 'contributor' },
  });
});
afterAll(() => server.close());

const activity = async (who: TestUser): Promise<Event[]> => {
  const r = await server.request('GET', '/api/v1/me/activity', { key: who.key });
  expect(r.status, r.text).toBe(200);
  return r.json.events as Event[];
};

it("a job's read names the job, its project and its recipe, in the runner's activity only", async () => {
  const job = await runRecipe(server, alice, 'OPS', 'nightly-export', 'python', SEED_SNIPPETS.python);
  expect(job.state, job.log).toBe('succeeded');

  const reads = (await activity(alice)).filter((e) => e.action === 'secret.read');
  expect(reads).toEqual([
    expect.objectContaining({
      actorLogin: 'alice',
      authSource: 'TICKET',
      jobId: job.id,
      job: { id: job.id, projectKey: 'OPS', recipe: 'nightly-export', plugin: null },
    }),
  ]);
  // Bob, in the same project, sees nothing of Alice's job in his own trail.
  expect((await activity(bob)).filter((e) => e.jobId === job.id)).toEqual([]);
}, 120_000);

it("each runner's read names their own run of a shared recipe", async () => {
  // Bob runs the recipe Alice wrote: he approves her code first (ADR 0014), then it reads his secret.
  const asked = await server.request('POST', '/api/v1/projects/OPS/recipes/nightly-export/run', {
    key: bob.key,
    body: {},
  });
  expect(asked.status, asked.text).toBe(409);
  const started = await server.request('POST', '/api/v1/projects/OPS/recipes/nightly-export/run', {
    key: bob.key,
    body: { approvedRevision: asked.json.error.revision as number },
  });
  expect(started.status, started.text).toBe(202);
  const bobsJob = started.json.id as string;
  expect((await waitForJob(server, bob, bobsJob)).state).toBe('succeeded');

  const bobsReads = (await activity(bob)).filter((e) => e.action === 'secret.read');
  expect(bobsReads.map((e) => e.job)).toEqual([
    { id: bobsJob, projectKey: 'OPS', recipe: 'nightly-export', plugin: null },
  ]);
  expect((await activity(alice)).some((e) => e.jobId === bobsJob)).toBe(false);
}, 120_000);

it('a read by a job that is no longer kept still has its id, without a job to link to', async () => {
  const job = await runRecipe(server, alice, 'OPS', 'one-off', 'python', SEED_SNIPPETS.python);
  expect(job.state, job.log).toBe('succeeded');
  // The job's row goes (as with its project); the trail keeps the record of the read.
  await server.store.db.deleteFrom('job_logs').where('job_id', '=', job.id).execute();
  await server.store.db.deleteFrom('jobs').where('id', '=', job.id).execute();
  const read = (await activity(alice)).find((e) => e.jobId === job.id);
  expect(read).toEqual(expect.objectContaining({ jobId: job.id, projectKey: 'OPS', job: null }));
}, 120_000);
