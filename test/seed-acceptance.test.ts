/*
 * The seed page's promise, end to end: code running under the identity of a user gets that user's
 * secrets. User A writes the seed's Python and R snippets, verbatim, as recipes in a project A and B
 * share; only B has stored `credential-for-my-api`. Run by B they find B's value; run by A they find
 * nothing, because recipes run as the person who clicks Run, never as their author.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecipe, SEED_SNIPPETS, startApprovedJob, startJob, waitForJob } from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures/seed');
/** The seed page, where this checkout sits beside it (a development machine); CI clones may not. */
const SEED_PAGE = path.resolve(import.meta.dirname, '../../shared/seeds/000_9e7a04d27cd8db68.txt');

const snippets = SEED_SNIPPETS;

/*
 * The log masks the value, so each recipe also prints it reversed: proof of which value the code got,
 * without the log holding the value itself.
 */
const PYTHON_PROOF = 'print("reversed:", secret_value[::-1])\n';
const R_PROOF = 'cat("reversed:", paste(rev(strsplit(secret_value, "")[[1]]), collapse = ""), "\\n")\n';
const reversed = (s: string) => [...s].reverse().join('');

describe('seed acceptance: the seed snippets in recipes, run as each user', () => {
  const B_VALUE = 'b-api-token-71c09e4d';
  let server: TestServer;
  let a: TestUser;
  let b: TestUser;
  let workRoot: string;

  beforeAll(async () => {
    workRoot = mkdtempSync(path.join(tmpdir(), 'coffer-seed-jobs-'));
    server = await TestServer.start({ COFFER_JOB_WORK_DIR: workRoot });
    a = await server.createUser('author-a');
    b = await server.createUser('runner-b');
    const put = await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
      key: b.key,
      body: { value: B_VALUE },
    });
    expect(put.status, put.text).toBe(201);
    const p = await server.request('POST', '/api/v1/projects', {
      key: a.key,
      body: { key: 'SHARED', name: 'Shared' },
    });
    expect(p.status, p.text).toBe(201);
    const m = await server.request('PUT', `/api/v1/projects/SHARED/members/${b.login}`, {
      key: a.key,
      body: { role: 'contributor' },
    });
    expect(m.status, m.text).toBe(204);
    await putRecipe(server, a, 'SHARED', 'seed-python', 'python', snippets.python + PYTHON_PROOF);
    await putRecipe(server, a, 'SHARED', 'seed-r', 'r', snippets.r + R_PROOF);
  });
  afterAll(async () => {
    await server.close();
    rmSync(workRoot, { recursive: true, force: true });
  });

  it('the snippets are the seed page’s code blocks, byte for byte', () => {
    // Hashes taken from the page, so the check holds on machines where the page is not beside the repo.
    const expected: Record<string, string> = {
      'python-snippet.py': '1a1c129dd583cd2aebfa39c65031c571cf70b24459fe8a6e6e68e55ded385e31',
      'r-snippet.R': '5d61a50e27dd96d37e0bcd0f3ef26019c7c20f372efd6c0b81ab1e30468d02e3',
    };
    const page = existsSync(SEED_PAGE) ? readFileSync(SEED_PAGE, 'utf8') : undefined;
    for (const [file, sha256] of Object.entries(expected)) {
      const text = readFileSync(path.join(FIXTURES, file), 'utf8');
      expect(createHash('sha256').update(text).digest('hex'), file).toBe(sha256);
      if (page) expect(page).toContain('```\n' + text + '```');
    }
  });

  it('the Python snippet run by B finds B’s value, and the log shows it masked', async () => {
    const job = await waitForJob(server, b, await startApprovedJob(server, b, 'SHARED', 'seed-python'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain(`reversed: ${reversed(B_VALUE)}`);
    expect(job.log).not.toContain(B_VALUE);
  });

  it('the Python snippet run by A, its author, raises "secret not found"', async () => {
    const job = await waitForJob(server, a, await startJob(server, a, 'SHARED', 'seed-python'));
    expect(job.state, job.log).toBe('failed');
    expect(job.log).toContain('Exception: secret not found');
    expect(job.log).not.toContain(reversed(B_VALUE));
  });

  it('the R snippet run by B finds B’s value, and the log shows it masked', async () => {
    const job = await waitForJob(server, b, await startApprovedJob(server, b, 'SHARED', 'seed-r'));
    expect(job.state, job.log).toBe('succeeded');
    expect(job.log).toContain(`reversed: ${reversed(B_VALUE)}`);
    expect(job.log).not.toContain(B_VALUE);
  });

  it('the R snippet run by A finds no secret (the seed code then fails on the empty match)', async () => {
    const job = await waitForJob(server, a, await startJob(server, a, 'SHARED', 'seed-r'));
    expect(job.state, job.log).toBe('failed');
    expect(job.log).toMatch(/subscript out of bounds/);
    expect(job.log).not.toContain(reversed(B_VALUE));
  });

  it('dkuGetSecret and get_secret name the missing secret and the user for A', async () => {
    await putRecipe(
      server,
      a,
      'SHARED',
      'get-secret-r',
      'r',
      'library(dataiku)\ndkuGetSecret("credential-for-my-api")\n',
    );
    await putRecipe(
      server,
      a,
      'SHARED',
      'get-secret-python',
      'python',
      'import dataiku\ndataiku.api_client().get_secret("credential-for-my-api")\n',
    );
    for (const recipe of ['get-secret-r', 'get-secret-python']) {
      const job = await waitForJob(server, a, await startJob(server, a, 'SHARED', recipe));
      expect(job.state, job.log).toBe('failed');
      expect(job.log).toMatch(/no secret named "credential-for-my-api" for (user )?author-a/);
    }
  });
});
