/*
 * Running code that someone else changed needs the runner's informed approval (ADR 0014). Mallory, a
 * contributor in Alice's project, edits Alice's recipe so that it would send Alice's secret away; Alice's
 * next Run is refused with 409, naming Mallory and showing the diff, and nothing starts (no job, no
 * ticket) until Alice's run carries the revision she reviewed. Over HTTP, against a real server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecipe, waitForJob } from './support/jobs.js';
import { TestServer, type Reply, type TestUser } from './support/test-server.js';

describe('approving code changed by others', () => {
  let server: TestServer;
  let alice: TestUser;
  let mallory: TestUser;
  let workRoot: string;
  const VALUE = 'alice-value-approval-7c1e';
  const P = 'APPROVE';

  const run = (user: TestUser, recipe: string, body: unknown = {}) =>
    server.request('POST', `/api/v1/projects/${P}/recipes/${recipe}/run`, { key: user.key, body });

  const count = async (table: 'jobs' | 'tickets') =>
    Number(
      (
        await server.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  /** Asserts the run was refused for approval and nothing started; answers the refusal's error. */
  async function refused(user: TestUser, recipe: string, body: unknown = {}) {
    const [jobs, tickets] = [await count('jobs'), await count('tickets')];
    const r = await run(user, recipe, body);
    expect(r.status, r.text).toBe(409);
    expect(r.json.error.code).toBe('approval_required');
    expect(await count('jobs')).toBe(jobs);
    expect(await count('tickets')).toBe(tickets);
    return r.json.error as {
      message: string;
      revision: number;
      changes: { revision: number; by: string; at: number }[];
      diff: string;
    };
  }

  /**
   * Waits for the job to succeed. Every test waits for its jobs: a job starting in the background would
   * add a ticket while another test counts them.
   */
  async function started(r: Reply, user: TestUser) {
    expect(r.status, r.text).toBe(202);
    const job = await waitForJob(server, user, r.json.id as string);
    expect(job.state, job.log).toBe('succeeded');
    return { ...job, revision: r.json.revision as number };
  }

  beforeAll(async () => {
    workRoot = mkdtempSync(path.join(tmpdir(), 'coffer-approval-test-'));
    server = await TestServer.start({ COFFER_JOB_WORK_DIR: workRoot });
    alice = await server.createUser('alice');
    mallory = await server.createUser('mallory');
    const put = await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
      key: alice.key,
      body: { value: VALUE },
    });
    expect(put.status, put.text).toBe(201);
    const p = await server.request('POST', '/api/v1/projects', { key: alice.key, body: { key: P, name: P } });
    expect(p.status, p.text).toBe(201);
    const m = await server.request('PUT', `/api/v1/projects/${P}/members/${mallory.login}`, {
      key: alice.key,
      body: { role: 'contributor' },
    });
    expect(m.status, m.text).toBe(204);
  });
  afterAll(async () => {
    await server.close();
    rmSync(workRoot, { recursive: true, force: true });
  });

  it("Mallory's edit of Alice's recipe stops Alice's run until she approves the revision she was shown", async () => {
    const original =
      'import dataiku\nv = dataiku.api_client().get_secret("credential-for-my-api")\nprint("report ready")\n';
    await putRecipe(server, alice, P, 'report', 'python', original);
    const first = await started(await run(alice, 'report'), alice);
    expect(first.revision).toBe(1);

    // Mallory's change: harmless here, but it stands for "send the runner's value somewhere".
    const evil = original + 'print("to mallory:", v[::-1])\n';
    await putRecipe(server, mallory, P, 'report', 'python', evil);
    const recipe = await server.request('GET', `/api/v1/projects/${P}/recipes/report`, { key: alice.key });
    expect(recipe.json.revision).toBe(2);

    const asked = await refused(alice, 'report');
    expect(asked.message).toMatch(/mallory changed recipe report since you last ran it/);
    expect(asked.message).toMatch(/approve revision 2/);
    expect(asked.revision).toBe(2);
    expect(asked.changes).toEqual([{ revision: 2, by: 'mallory', at: expect.any(Number) }]);
    expect(asked.diff).toContain('+print("to mallory:", v[::-1])');
    expect(asked.diff).toContain('--- report@1\trevision 1 (python)');
    expect(asked.diff).toContain('+++ report@2\trevision 2 (python)');
    expect(asked.diff).not.toContain('-import dataiku');

    // Mallory changes it again before Alice approves: her approval of 2 is stale and shows the new diff.
    const worse = evil + 'print("and more")\n';
    await putRecipe(server, mallory, P, 'report', 'python', worse);
    const stale = await refused(alice, 'report', { approvedRevision: 2 });
    expect(stale.message).toMatch(/you approved revision 2 of recipe report, but it is at revision 3 now/);
    expect(stale.message).toMatch(/by mallory/);
    expect(stale.revision).toBe(3);
    expect(stale.changes.map((c) => c.revision)).toEqual([2, 3]);
    expect(stale.diff).toContain('+print("and more")');
    expect(stale.diff).toContain('+print("to mallory:", v[::-1])');

    // Approving what she was shown runs exactly that revision, as her, and is on record.
    const approvedRun = await started(await run(alice, 'report', { approvedRevision: 3 }), alice);
    expect(approvedRun.revision).toBe(3);
    expect(approvedRun.log).toContain('and more');
    expect(approvedRun.log).toContain(`to mallory: ${[...VALUE].reverse().join('')}`);
    const audit = await server.store.db
      .selectFrom('audit_records as r')
      .innerJoin('audit_callers as c', 'c.id', 'r.caller_id')
      .select('r.detail')
      .where('r.action', '=', 'job.started')
      .where('c.login', '=', 'alice')
      .orderBy('r.id', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.detail!)).toMatchObject({
      job: approvedRun.id,
      revision: 3,
      approvedRevision: 3,
    });

    // Nothing changed since: her next run needs nothing.
    expect((await started(await run(alice, 'report'), alice)).revision).toBe(3);
  });

  it("the runner's own edits never ask, and do not hide someone else's change made before them", async () => {
    await putRecipe(server, alice, P, 'own', 'python', 'print(1)\n');
    await started(await run(alice, 'own'), alice);
    await putRecipe(server, alice, P, 'own', 'python', 'print(2)\n');
    await putRecipe(server, alice, P, 'own', 'python', 'print(3)\n');
    const own = await started(await run(alice, 'own'), alice);
    expect(own.revision).toBe(3);

    await putRecipe(server, mallory, P, 'own', 'python', 'print("mallory")\n');
    await putRecipe(server, alice, P, 'own', 'python', 'print("mallory")\nprint(4)\n');
    const asked = await refused(alice, 'own');
    expect(asked.message).toMatch(/^mallory changed recipe own/);
    expect(asked.changes.map((c) => [c.revision, c.by])).toEqual([
      [4, 'mallory'],
      [5, 'alice'],
    ]);
    expect(asked.diff).toContain('-print(3)');
    expect(asked.diff).toContain('+print("mallory")');
  });

  it('a key an administrator made for the runner cannot save code in their name at all', async () => {
    // ADR 0013 refuses the save outright; were one ever let through, ADR 0014 would not count it as
    // the runner's own (borrowedCredential), and the next run would ask.
    const root = await server.createUser('root', { admin: true });
    const made = await server.request('POST', '/public/api/admin/personal-api-keys', {
      key: root.key,
      body: { user: alice.login, label: 'made-for-alice' },
    });
    expect(made.status, made.text).toBe(200);
    await putRecipe(server, alice, P, 'borrowed', 'python', 'print("alice")\n');
    await started(await run(alice, 'borrowed'), alice);
    const planted = await server.request('PUT', `/api/v1/projects/${P}/recipes/borrowed`, {
      key: made.json.key as string,
      body: { language: 'python', code: 'print("root")\n' },
    });
    expect(planted.status, planted.text).toBe(403);
    expect(planted.json.error.message).toMatch(/created for you by an administrator/);
    const recipe = await server.request('GET', `/api/v1/projects/${P}/recipes/borrowed`, { key: alice.key });
    expect(recipe.json).toMatchObject({ revision: 1, code: 'print("alice")\n' });
    await started(await run(alice, 'borrowed'), alice);
  });

  it('a save that changes nothing is no revision and asks nothing; a change of language alone asks', async () => {
    await putRecipe(server, alice, P, 'same', 'python', 'print("same")\n');
    await started(await run(alice, 'same'), alice);
    await putRecipe(server, mallory, P, 'same', 'python', 'print("same")\n');
    const recipe = await server.request('GET', `/api/v1/projects/${P}/recipes/same`, { key: alice.key });
    expect(recipe.json).toMatchObject({ revision: 1, updatedBy: 'alice' });
    await started(await run(alice, 'same'), alice);

    await putRecipe(server, mallory, P, 'same', 'r', 'print("same")\n');
    const asked = await refused(alice, 'same');
    expect(asked.diff).toContain('--- same@1\trevision 1 (python)');
    expect(asked.diff).toContain('+++ same@2\trevision 2 (r)');
  });

  it('the first run of a recipe someone else wrote asks, with the whole code as the diff', async () => {
    await putRecipe(server, mallory, P, 'helper', 'python', 'print("helper")\nprint("two")\n');
    const asked = await refused(alice, 'helper');
    expect(asked.message).toMatch(/recipe helper was written by mallory and you have not run it before/);
    expect(asked.message).toMatch(/approve revision 1/);
    expect(asked.changes).toEqual([{ revision: 1, by: 'mallory', at: expect.any(Number) }]);
    expect(asked.diff).toContain('--- /dev/null\tnot run before');
    expect(asked.diff).toContain('@@ -0,0 +1,2 @@\n+print("helper")\n+print("two")');
    // Its author runs it without being asked.
    await started(await run(mallory, 'helper'), mallory);
    // A recipe deleted and written again by someone else is new code: it asks again.
    expect((await started(await run(alice, 'helper', { approvedRevision: 1 }), alice)).revision).toBe(1);
    const del = await server.request('DELETE', `/api/v1/projects/${P}/recipes/helper`, { key: mallory.key });
    expect(del.status, del.text).toBe(204);
    await putRecipe(server, mallory, P, 'helper', 'python', 'print("helper again")\n');
    expect((await refused(alice, 'helper')).changes).toEqual([
      { revision: 1, by: 'mallory', at: expect.any(Number) },
    ]);
  });

  it('a bad approvedRevision is refused with a message saying why, and starts nothing', async () => {
    await putRecipe(server, mallory, P, 'bad', 'python', 'print("bad")\n');
    await putRecipe(server, mallory, P, 'bad', 'python', 'print("bad 2")\n');
    const [jobs, tickets] = [await count('jobs'), await count('tickets')];
    const cases: [unknown, number, RegExp][] = [
      ['2', 400, /body\.approvedRevision: must be integer/],
      [-1, 400, /body\.approvedRevision: must be >= 1/],
      [0, 400, /body\.approvedRevision: must be >= 1/],
      [1.5, 400, /body\.approvedRevision: must be integer/],
      [null, 400, /body\.approvedRevision: must be integer/],
      [3, 400, /approvedRevision 3 is not a revision of recipe bad: its current revision is 2/],
      [1, 409, /you approved revision 1 of recipe bad, but it is at revision 2 now \(by mallory\)/],
    ];
    for (const [approvedRevision, status, message] of cases) {
      const r = await run(alice, 'bad', { approvedRevision });
      expect(`${JSON.stringify(approvedRevision)}: ${r.status}`).toBe(
        `${JSON.stringify(approvedRevision)}: ${status}`,
      );
      expect(r.json.error.message).toMatch(message);
    }
    expect(await count('jobs')).toBe(jobs);
    expect(await count('tickets')).toBe(tickets);
  });

  it('a stale approval is refused even when only the runner changed the code since', async () => {
    await putRecipe(server, alice, P, 'mine', 'python', 'print("v1")\n');
    await putRecipe(server, alice, P, 'mine', 'python', 'print("v2")\n');
    const asked = await refused(alice, 'mine', { approvedRevision: 1 });
    expect(asked.message).toMatch(/you approved revision 1 of recipe mine, but it is at revision 2 now: /);
    expect(asked.revision).toBe(2);
    await started(await run(alice, 'mine', { approvedRevision: 2 }), alice);
  });

  it('the OpenAPI document shows approvedRevision and the approval_required answer', async () => {
    const doc = (await server.request('GET', '/api/v1/openapi.json')).json;
    const op = doc.paths['/api/v1/projects/{key}/recipes/{name}/run'].post;
    const body = op.requestBody.content['application/json'].schema;
    expect(body.properties.approvedRevision).toMatchObject({ type: 'integer', minimum: 1 });
    const conflict = op.responses['409'].content['application/json'].schema;
    expect(Object.keys(conflict.properties.error.properties)).toEqual(
      expect.arrayContaining(['code', 'message', 'revision', 'changes', 'diff']),
    );
    const recipe =
      doc.paths['/api/v1/projects/{key}/recipes/{name}'].get.responses['200'].content['application/json']
        .schema;
    expect(recipe.properties.revision.type).toBe('integer');
  });
});
