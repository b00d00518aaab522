/*
 * A job's ticket is least-privilege (docs/adr/0013), proved from inside real jobs. The code a job runs
 * may have been written by someone other than its runner (here Bob, a contributor, writes the recipe
 * Alice runs), so with its own DKU_API_TICKET and plain urllib it may read and update its runner's
 * secrets and read its own project, and nothing more: every other attempt is a 403 whose message names
 * the ticket's limit, even when the runner is an administrator. Each recipe makes all its attempts in
 * one run (a job costs ~0.3 s) and prints one PROBE line per request for the test to read.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putRecipe, startApprovedJob, startJob, waitForJob, type FinishedJob } from './support/jobs.js';
import { TestServer, type TestUser } from './support/test-server.js';

const VALUE = 'alice-value-4e7b0c21';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** What every refusal says: what the ticket cannot do, its limit, and what to use instead. */
const LIMIT =
  /^a job's ticket cannot .+: code run by the platform may only read and update its user's secrets and act in its job's project, [A-Z]+; use your session or an API key$/;

/** A recipe prelude: `probe(name, method, path, body)` calls Coffer with the job's ticket. */
const PRELUDE = `import hashlib, json, os, urllib.error, urllib.request
BASE = "%s://%s:%s" % (os.environ["DKU_BACKEND_PROTOCOL"], os.environ["DKU_BACKEND_HOST"], os.environ["DKU_BACKEND_PORT"])
TICKET = os.environ["DKU_API_TICKET"]
PROJECT = os.environ["DKU_CURRENT_PROJECT_KEY"]
JOB = os.environ["COFFER_JOB_ID"]

def probe(name, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"X-DKU-APITicket": TICKET, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    answer = json.loads(text) if text else None
    message = ""
    if isinstance(answer, dict):
        error = answer.get("error")
        message = error.get("message", "") if isinstance(error, dict) else answer.get("message", "")
    print("PROBE " + json.dumps({"probe": name, "status": status, "message": message}), flush=True)
    return answer

def own_value(answer):
    # A digest of the value, not the value: the log masks values, and this proves which one came back.
    value = next((s["value"] for s in (answer or {}).get("secrets", []) if s["key"] == "credential-for-my-api"), "")
    print("VALUE " + hashlib.sha256(value.encode()).hexdigest(), flush=True)
`;

interface Probe {
  probe: string;
  status: number;
  message: string;
}

/** A finished job and the answers its probes got. */
class Run {
  readonly probes: Map<string, Probe>;
  constructor(readonly job: FinishedJob) {
    const probes = [...job.log.matchAll(/^PROBE (.+)$/gm)].map((m) => JSON.parse(m[1]!) as Probe);
    this.probes = new Map(probes.map((p) => [p.probe, p]));
  }

  get(name: string): Probe {
    const p = this.probes.get(name);
    expect(p, `no probe ${name} in the job's log:\n${this.job.log}`).toBeDefined();
    return p!;
  }

  expectOk(name: string, status = 200): void {
    const p = this.get(name);
    expect(p.status, `${name}: ${p.message}`).toBe(status);
  }

  expectRefused(name: string, limit: RegExp): void {
    const p = this.get(name);
    expect(p.status, `${name}: ${p.message}`).toBe(403);
    expect(p.message).toMatch(LIMIT);
    expect(p.message).toMatch(limit);
  }

  /** The digests of the secret values its auth/info calls got back, in order. */
  digests(): string[] {
    return [...this.job.log.matchAll(/^VALUE ([0-9a-f]+)$/gm)].map((m) => m[1]!);
  }
}

describe("a job's ticket, from inside the job", () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let ada: TestUser;
  /** Alice's run of Bob's recipe in SALES. */
  let run: Run;

  const api = async (user: TestUser, method: string, path: string, body?: unknown) => {
    const r = await server.request(method, path, { key: user.key, body });
    expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(300);
    return r;
  };

  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
    bob = await server.createUser('bob');
    ada = await server.createUser('ada', { admin: true });
    await server.createUser('mallory');
    await api(alice, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: VALUE });
    await api(alice, 'PUT', '/api/v1/me/secrets/to-delete', { value: 'delete-me-from-the-job' });
    for (const key of ['SALES', 'PRIVATE']) await api(alice, 'POST', '/api/v1/projects', { key, name: key });
    await api(alice, 'PUT', '/api/v1/projects/SALES/members/bob', { role: 'contributor' });
    await putRecipe(server, alice, 'PRIVATE', 'hidden', 'python', 'print("private")');

    // Bob writes the recipe; Alice runs it. Everything it tries, it tries with Alice's ticket.
    await putRecipe(
      server,
      bob,
      'SALES',
      'overreach',
      'python',
      `${PRELUDE}
own_value(probe("read secrets (dip)", "GET", "/dip/publicapi/auth/info?withSecrets=true"))
own_value(probe("read secrets (public)", "GET", "/public/api/auth/info?withSecrets=True"))
own_value(probe("read secrets (coffer)", "GET", "/api/v1/auth/info?withSecrets=true"))
probe("update a secret", "PUT", "/api/v1/me/secrets/from-the-job", {"value": "written-by-the-job"})
probe("delete a secret", "DELETE", "/api/v1/me/secrets/to-delete")
settings = probe("read settings", "GET", "/dip/publicapi/current-user")
settings["secrets"].append({"name": "via-settings", "value": "saved-through-settings", "secret": True})
probe("save settings", "PUT", "/dip/publicapi/current-user", settings)
probe("read its project", "GET", "/api/v1/projects/" + PROJECT)
probe("read its recipes", "GET", "/api/v1/projects/" + PROJECT + "/recipes")
probe("list its jobs", "GET", "/api/v1/jobs?project=" + PROJECT)
probe("read its job", "GET", "/api/v1/jobs/" + JOB)
probe("add a member", "PUT", "/api/v1/projects/" + PROJECT + "/members/mallory", {"role": "owner"})
probe("change a role", "PUT", "/api/v1/projects/" + PROJECT + "/members/bob", {"role": "owner"})
probe("remove a member", "DELETE", "/api/v1/projects/" + PROJECT + "/members/bob")
probe("rewrite a recipe", "PUT", "/api/v1/projects/" + PROJECT + "/recipes/overreach", {"language": "python", "code": "print(1)"})
probe("create a key", "POST", "/api/v1/me/api-keys", {"label": "from-a-job"})
probe("create a key (dss)", "POST", "/dip/publicapi/personal-api-keys/", {"label": "from-a-job"})
probe("change the password", "PUT", "/api/v1/me/password", {"currentPassword": "", "newPassword": "chosen-by-a-job-123"})
probe("read another project", "GET", "/api/v1/projects/PRIVATE")
probe("read another project's recipe", "GET", "/api/v1/projects/PRIVATE/recipes/hidden")
probe("list projects", "GET", "/api/v1/projects")
probe("run a recipe", "POST", "/api/v1/projects/" + PROJECT + "/recipes/overreach/run", {})
`,
    );
    // Bob wrote it: Alice reads the diff and approves it, as ADR 0014 asks of her.
    run = new Run(
      await waitForJob(server, alice, await startApprovedJob(server, alice, 'SALES', 'overreach')),
    );
  });
  afterAll(() => server.close());

  it('runs to the end as its runner', () => {
    expect(run.job.state, run.job.log).toBe('succeeded');
    expect(run.probes.size).toBeGreaterThan(20);
  });

  it("reads its runner's secret values through all three auth/info routes", () => {
    for (const name of ['read secrets (dip)', 'read secrets (public)', 'read secrets (coffer)'])
      run.expectOk(name);
    expect(run.digests()).toEqual([sha256(VALUE), sha256(VALUE), sha256(VALUE)]);
  });

  it("updates its runner's secrets (PUT, DELETE, the DSS settings round trip), audited as done by that job", async () => {
    run.expectOk('update a secret', 201);
    run.expectOk('delete a secret');
    run.expectOk('read settings');
    run.expectOk('save settings');
    // The trail first: the checks below read values with Alice's own key.
    const events = (await api(alice, 'GET', '/api/v1/me/activity')).json.events as {
      action: string;
      secretNames: string[];
      authSource: string;
      jobId: string | null;
    }[];
    const byJob = (action: string, name: string) =>
      events.find((e) => e.action === action && e.secretNames.includes(name));
    for (const [action, name] of [
      ['secret.created', 'from-the-job'],
      ['secret.deleted', 'to-delete'],
      ['secret.created', 'via-settings'],
      ['secret.read', 'credential-for-my-api'],
    ] as const) {
      expect(byJob(action, name), `${action} ${name}`).toMatchObject({
        authSource: 'TICKET',
        jobId: run.job.id,
      });
    }
    // What Alice did with her own key is not put down to the job.
    expect(byJob('secret.created', 'to-delete')).toMatchObject({
      authSource: 'PERSONAL_API_KEY',
      jobId: null,
    });
    const info = await api(alice, 'GET', '/api/v1/auth/info?withSecrets=true');
    expect(info.json.secrets).toEqual(
      expect.arrayContaining([
        { key: 'from-the-job', value: 'written-by-the-job' },
        { key: 'via-settings', value: 'saved-through-settings' },
      ]),
    );
    expect(info.json.secrets.map((s: { key: string }) => s.key)).not.toContain('to-delete');
  });

  it('reads its own project, its recipes and its own job', () => {
    for (const name of ['read its project', 'read its recipes', 'list its jobs', 'read its job'])
      run.expectOk(name);
  });

  it('cannot change project membership: add a member, change a role, remove one (403 naming the limit)', async () => {
    run.expectRefused('add a member', /cannot change project membership/);
    run.expectRefused('change a role', /cannot change project membership/);
    run.expectRefused('remove a member', /cannot change project membership/);
    const members = (await api(alice, 'GET', '/api/v1/projects/SALES')).json.members as {
      login: string;
      role: string;
    }[];
    expect(members.map((m) => `${m.login}:${m.role}`).sort()).toEqual(['alice:owner', 'bob:contributor']);
  });

  it('cannot rewrite a recipe (403 naming the limit)', async () => {
    run.expectRefused('rewrite a recipe', /cannot change recipes \(code\)/);
    const recipe = await api(alice, 'GET', '/api/v1/projects/SALES/recipes/overreach');
    expect(recipe.json.code).toContain('def probe');
    expect(recipe.json.updatedBy).toBe('bob');
  });

  it('cannot create an API key, on either API (403 naming the limit)', async () => {
    run.expectRefused('create a key', /cannot create lasting API keys/);
    run.expectRefused('create a key (dss)', /cannot create lasting API keys/);
    const keys = (await api(alice, 'GET', '/api/v1/me/api-keys')).json.keys as { label: string }[];
    expect(keys.map((k) => k.label)).not.toContain('from-a-job');
  });

  it('cannot change the password (403 naming the limit)', async () => {
    run.expectRefused('change the password', /cannot change a password/);
    const signIn = await server.request('POST', '/api/v1/session', {
      body: { login: alice.login, password: alice.password },
    });
    expect(signIn.status, signIn.text).toBe(200);
  });

  it("cannot read another project, even one its runner owns, nor list the runner's projects (403 naming the limit)", () => {
    run.expectRefused('read another project', /cannot act on project PRIVATE/);
    run.expectRefused("read another project's recipe", /cannot act on project PRIVATE/);
    run.expectRefused('list projects', /cannot list projects beyond its own/);
  });

  it('cannot start a job (403 naming the limit)', async () => {
    run.expectRefused('run a recipe', /cannot start jobs/);
    const jobs = (await api(alice, 'GET', '/api/v1/jobs?project=SALES')).json.jobs as unknown[];
    expect(jobs).toHaveLength(1);
  });

  it("an administrator's job has no administrator rights (403 naming the limit) but its own secrets", async () => {
    await api(ada, 'POST', '/api/v1/projects', { key: 'OPS', name: 'ops' });
    await api(ada, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: 'ada-value-91c3' });
    await putRecipe(
      server,
      ada,
      'OPS',
      'admin-overreach',
      'python',
      `${PRELUDE}
own_value(probe("read secrets", "GET", "/dip/publicapi/auth/info?withSecrets=true"))
probe("list users (coffer admin)", "GET", "/api/v1/admin/users")
probe("disable a user (coffer admin)", "PATCH", "/api/v1/admin/users/alice", {"enabled": False})
probe("reset a password (coffer admin)", "PUT", "/api/v1/admin/users/alice/password", {"password": "chosen-by-a-job-123"})
probe("read a user's settings (dss admin)", "GET", "/dip/publicapi/admin/users/alice")
probe("mint a key for a user (dss admin)", "POST", "/dip/publicapi/admin/personal-api-keys/", {"user": "alice", "label": "from-a-job"})
settings = probe("read settings", "GET", "/public/api/current-user")
print("ADMIN_PROPERTIES " + json.dumps("adminProperties" in settings))
probe("join a group", "PUT", "/public/api/current-user", {"groups": settings["groups"] + ["from-a-job"]})
`,
    );
    const admin = new Run(
      await waitForJob(server, ada, await startJob(server, ada, 'OPS', 'admin-overreach')),
    );
    expect(admin.job.state, admin.job.log).toBe('succeeded');
    admin.expectOk('read secrets');
    expect(admin.digests()).toEqual([sha256('ada-value-91c3')]);
    for (const name of [
      'list users (coffer admin)',
      'disable a user (coffer admin)',
      'reset a password (coffer admin)',
      "read a user's settings (dss admin)",
      'mint a key for a user (dss admin)',
    ])
      admin.expectRefused(name, /cannot use administrator rights, even when its user is an administrator/);
    admin.expectOk('read settings');
    expect(admin.job.log).toContain('ADMIN_PROPERTIES false');
    admin.expectRefused('join a group', /cannot change groups, even when its user is an administrator/);
    // Nothing happened to Alice or to Ada.
    const aliceNow = await server.services.users.get({ kind: 'operator', name: 'cli' }, 'alice');
    expect(aliceNow.enabled).toBe(true);
    expect(aliceNow.passwordMustChange).toBe(false);
    const adaNow = await server.services.users.get({ kind: 'operator', name: 'cli' }, 'ada');
    expect([...adaNow.groups]).toEqual(['administrators']);
    expect((await api(alice, 'GET', '/api/v1/me/api-keys')).json.keys).toHaveLength(1);
  });
});
