import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Reply, RequestOptions, TestUser } from './test-server.js';

/** A server to call: a TestServer, or any server at a URL (see `apiAt`). */
export interface Api {
  request(method: string, urlPath: string, opts?: RequestOptions): Promise<Reply>;
}

export interface FinishedJob {
  id: string;
  state: string;
  exitCode: number | null;
  error: string | null;
  log: string;
}

/** Creates (or replaces) a recipe through the API as `user`. */
export async function putRecipe(
  server: Api,
  user: TestUser,
  project: string,
  name: string,
  language: 'python' | 'r' | 'javascript',
  code: string,
): Promise<void> {
  const r = await server.request('PUT', `/api/v1/projects/${project}/recipes/${name}`, {
    key: user.key,
    body: { language, code },
  });
  expect([200, 201], r.text).toContain(r.status);
}

export async function startJob(
  server: Api,
  user: TestUser,
  project: string,
  recipe: string,
  body?: { timeoutSeconds?: number; approvedRevision?: number },
): Promise<string> {
  const r = await server.request('POST', `/api/v1/projects/${project}/recipes/${recipe}/run`, {
    key: user.key,
    body: body ?? {},
  });
  expect(r.status, r.text).toBe(202);
  return r.json.id as string;
}

/**
 * Runs a recipe someone else wrote: the first run is refused for the runner's approval (ADR 0014), and
 * the runner approves the revision they were shown, as a person does after reading the diff.
 */
export async function startApprovedJob(
  server: Api,
  user: TestUser,
  project: string,
  recipe: string,
): Promise<string> {
  const asked = await server.request('POST', `/api/v1/projects/${project}/recipes/${recipe}/run`, {
    key: user.key,
    body: {},
  });
  expect(asked.status, asked.text).toBe(409);
  expect(asked.json.error.code).toBe('approval_required');
  return startJob(server, user, project, recipe, { approvedRevision: asked.json.error.revision as number });
}

/** Polls the job's log until the job has finished; answers its end state and whole log. */
export async function waitForJob(
  server: Api,
  user: TestUser,
  id: string,
  timeoutMs = 60_000,
): Promise<FinishedJob> {
  const deadline = Date.now() + timeoutMs;
  let log = '';
  let after: number | undefined;
  for (;;) {
    const q = after === undefined ? '' : `?after=${after}`;
    const r = await server.request('GET', `/api/v1/jobs/${id}/log${q}`, { key: user.key });
    expect(r.status, r.text).toBe(200);
    for (const c of r.json.chunks as { seq: number; text: string }[]) {
      log += c.text;
      after = c.seq;
    }
    const job = r.json.job;
    if (!['queued', 'running'].includes(job.state) && r.json.chunks.length === 0)
      return { id, state: job.state, exitCode: job.exitCode, error: job.error, log };
    if (Date.now() > deadline)
      throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms; log:\n${log}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function runRecipe(
  server: Api,
  user: TestUser,
  project: string,
  name: string,
  language: 'python' | 'r' | 'javascript',
  code: string,
  body?: { timeoutSeconds?: number },
): Promise<FinishedJob> {
  await putRecipe(server, user, project, name, language, code);
  return waitForJob(server, user, await startJob(server, user, project, name, body));
}

const SEED_FIXTURES = path.resolve(import.meta.dirname, '../fixtures/seed');

/**
 * The seed page's snippets, byte for byte (test/fixtures/seed). The Python block starts at
 * "# client is a dataikuapi.DSSClient", so it gets the two opening lines in front of it.
 */
export const SEED_SNIPPETS = {
  python:
    'import dataiku\nclient = dataiku.api_client()\n\n' +
    readFileSync(path.join(SEED_FIXTURES, 'python-snippet.py'), 'utf8'),
  r: readFileSync(path.join(SEED_FIXTURES, 'r-snippet.R'), 'utf8'),
};
