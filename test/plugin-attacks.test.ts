/*
 * The attacker in the next plugin run over. A plugin's code is the administrator's, but what it does can
 * be the user's: this suite installs a plugin whose recipe runs the Python snippet it is configured with
 * (as a "run a snippet" plugin would), so Mallory's plugin recipe is attack code, run the way every
 * plugin recipe runs. While Bob's run of the same plugin is going, holding his plugin credential in its
 * DKU_CUSTOM_RECIPE_CONFIG, his ticket in its environment and his token in a file of its home, Mallory's
 * runs try to read his environment, his run's directory and files, to plant code in the plugin so that
 * Bob's next run executes hers, and to use her own ticket on Bob's job and on the administrators' plugin
 * routes. Each attack is a real plugin run through the API; each test asserts the attack failed and that
 * nothing of Bob's (credential, secret, ticket) shows in Mallory's output.
 *
 * Same two deployments as the recipe and notebook attack suites (test/support/attack-deployments.ts): the
 * server in this process (as root: each user's code under an account of its own), and a real
 * `coffer serve` run by an ordinary account, where only the sandbox keeps users apart.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, removeTempDirs } from './helpers/coffer-process.js';
import { attackDeployments, type Deployment as AttackDeployment } from './support/attack-deployments.js';
import { readStat } from '../packages/server/src/execution/process-tree.js';
import { hostPidsRunning } from './support/host-processes.js';
import { ATTACK_PRELUDE, attacks, expectAllBlocked } from './support/job-attacks.js';
import { startJob, waitForJob, type FinishedJob } from './support/jobs.js';
import { zipEntries } from './support/plugin-zips.js';
import { ticketPrintedIn } from './support/printed-ticket.js';
import type { TestUser } from './support/test-server.js';

const BOB_TOKEN = 'bob-plugin-token-3c9e5a17d2-victim';
const BOB_VALUE = 'bob-secret-value-81f0b6c4-victim';
const MALLORY_TOKEN = 'mallory-plugin-token-0d7a44e9b1';
const PLANTED = 'PLANTED-BY-MALLORY-6b2f';

const PLUGIN = 'snippet-runner';
/** The plugin's recipe: runs the snippet its form holds. The only code in the plugin is this and a lib. */
const RECIPE_PY = `from dataiku.customrecipe import get_recipe_config
exec(get_recipe_config()["code"])
`;
const LIB_PY = `def name():
    return "snippet-runner lib"
`;
const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

async function pluginZip(): Promise<Buffer> {
  return zipEntries([
    {
      path: 'plugin.json',
      content: JSON.stringify({
        id: PLUGIN,
        version: '1.0.0',
        meta: { label: 'Snippet runner' },
        params: [],
      }),
    },
    {
      path: 'parameter-sets/api/parameter-set.json',
      content: JSON.stringify({
        meta: { label: 'API' },
        params: [
          {
            name: 'token',
            label: 'Token',
            type: 'CREDENTIAL_REQUEST',
            credentialRequestSettings: { type: 'SINGLE_FIELD' },
            mandatory: true,
          },
        ],
      }),
    },
    {
      path: 'custom-recipes/run/recipe.json',
      content: JSON.stringify({
        meta: { label: 'Run a snippet' },
        kind: 'PYTHON',
        inputRoles: [],
        outputRoles: [],
        params: [
          { name: 'code', label: 'Code', type: 'TEXTAREA', mandatory: true },
          { name: 'credentials', label: 'API', type: 'PRESET', parameterSetId: 'api', mandatory: true },
        ],
      }),
    },
    { path: 'custom-recipes/run/recipe.py', content: RECIPE_PY },
    { path: 'python-lib/snippet_lib/__init__.py', content: LIB_PY },
  ]);
}

/** The attack helper, and call(path): a GET to Coffer with the run's own ticket. */
const PRELUDE = `${ATTACK_PRELUDE}import json, urllib.request, urllib.error
def call(path):
    url = "%s://%s:%s%s" % (os.environ["DKU_BACKEND_PROTOCOL"], os.environ["DKU_BACKEND_HOST"], os.environ["DKU_BACKEND_PORT"], path)
    req = urllib.request.Request(url, headers={"X-DKU-APITicket": os.environ["DKU_API_TICKET"]})
    return urllib.request.urlopen(req, timeout=10).read().decode()
`;

type Deployment = AttackDeployment<'root' | 'bob' | 'mallory'>;
const deployments = attackDeployments(
  'plugin attacks',
  ['root', 'bob', 'mallory'],
  { COFFER_JOB_CONCURRENCY: '4' },
  ['root'],
);

describe.each(deployments)('plugin attacks, %s', (_name, deploy) => {
  let d: Deployment;
  let bobTicket = '';
  let bobJob = '';
  const VICTIM_MARKER = ['sleep', '3020'];
  /** Host pid of Bob's plugin recipe (the Python process holding his config), and his run directory. */
  let victimPid = 0;
  let bobRun = '';

  const req = (who: TestUser, method: string, url: string, body?: unknown) =>
    d.api.request(method, url, { key: who.key, ...(body === undefined ? {} : { body }) });

  /** Saves `who`'s plugin recipe `name` in `project`, running `code`. */
  async function putSnippet(who: TestUser, project: string, name: string, code: string): Promise<void> {
    const r = await req(who, 'PUT', `/api/v1/projects/${project}/recipes/${name}`, {
      plugin: { id: PLUGIN, recipe: 'run' },
      config: { code, credentials: { mode: 'PRESET', name: 'default' } },
    });
    expect([200, 201], r.text).toContain(r.status);
  }

  /** Runs Mallory's attack snippet; checks Bob's run is untouched and nothing of his shows. */
  async function malloryRuns(name: string, code: string): Promise<FinishedJob> {
    await putSnippet(d.mallory, 'MAL', name, PRELUDE + code);
    const job = await waitForJob(d.api, d.mallory, await startJob(d.api, d.mallory, 'MAL', name));
    for (const [what, text] of [
      ['plugin credential', BOB_TOKEN],
      ['secret value', BOB_VALUE],
      ['ticket', bobTicket],
    ])
      expect(job.log, `Bob’s ${what} leaked into Mallory’s output`).not.toContain(text);
    expect(hostPidsRunning(VICTIM_MARKER), 'Bob’s run was disturbed').toHaveLength(1);
    return job;
  }

  beforeAll(async () => {
    d = await deploy();
    const installed = await d.api.request('POST', '/api/v1/admin/plugins', {
      key: d.root.key,
      rawBody: await pluginZip(),
      headers: { 'content-type': 'application/zip' },
    });
    expect(installed.status, installed.text).toBe(201);
    const preset = await req(d.root, 'PUT', `/api/v1/admin/plugins/${PLUGIN}/presets/api/default`, {
      config: {},
    });
    expect(preset.status, preset.text).toBe(200);
    for (const [who, token, key] of [
      [d.bob, BOB_TOKEN, 'BOB'],
      [d.mallory, MALLORY_TOKEN, 'MAL'],
    ] as const) {
      const cred = `/api/v1/me/plugin-credentials/${PLUGIN}/api/default/token`;
      expect((await req(who, 'PUT', cred, { value: token })).status).toBe(204);
      expect((await req(who, 'POST', '/api/v1/projects', { key, name: key })).status).toBe(201);
    }
    expect(
      (await req(d.bob, 'PUT', '/api/v1/me/secrets/credential-for-my-api', { value: BOB_VALUE })).status,
    ).toBe(201);

    // Bob's run: his token in a file of its home, his ticket in its environment, a child running.
    await putSnippet(
      d.bob,
      'BOB',
      'victim',
      `import dataiku, os, subprocess, time
from dataiku.customrecipe import get_recipe_config
open(os.path.expanduser("~/bob-notes.txt"), "w").write(get_recipe_config()["credentials"]["token"] + " " + dataiku.api_client().get_secret("credential-for-my-api"))
subprocess.Popen(${JSON.stringify(VICTIM_MARKER)})
print("TICKET", os.environ["DKU_API_TICKET"][::-1], flush=True)
time.sleep(600)
`,
    );
    bobJob = await startJob(d.api, d.bob, 'BOB', 'victim');
    for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const log = await req(d.bob, 'GET', `/api/v1/jobs/${bobJob}/log`);
      bobTicket = ticketPrintedIn((log.json.chunks as { text: string }[]).map((c) => c.text).join(''));
      if (bobTicket && hostPidsRunning(VICTIM_MARKER).length === 1) break;
      if (Date.now() > deadline) throw new Error(`Bob's plugin run did not start: ${log.text}`);
    }
    // The victim holds what the attacks look for, as the host sees it: otherwise they would prove nothing.
    victimPid = readStat(hostPidsRunning(VICTIM_MARKER)[0]!)!.ppid;
    const environ = readFileSync(`/proc/${victimPid}/environ`, 'latin1');
    expect(environ).toContain('DKU_CUSTOM_RECIPE_CONFIG=');
    expect(environ).toContain(BOB_TOKEN);
    expect(environ).toContain(`DKU_API_TICKET=${bobTicket}`);
    const runs = readdirSync(d.workRoot).filter((n) => n.startsWith('run-'));
    expect(runs).toHaveLength(1);
    bobRun = path.join(d.workRoot, runs[0]!);
    expect(readdirSync(path.join(bobRun, 'home'))).toEqual(
      expect.arrayContaining(['bob-notes.txt', 'plugin']),
    );
  });

  afterAll(async () => {
    if (bobJob) await req(d.bob, 'POST', `/api/v1/jobs/${bobJob}/cancel`);
    await d?.close();
    await killAllChildren();
    await removeTempDirs();
  });

  it("reading /proc/*/environ finds only the run's own config and ticket: not Bob's credential", async () => {
    const job = await malloryRuns(
      'environ',
      `mine = {k: os.environ.get(k) for k in ("DKU_API_TICKET", "DKU_CUSTOM_RECIPE_CONFIG")}
def foreign():
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            env = open("/proc/%s/environ" % pid, "rb").read().decode(errors="replace")
        except OSError:
            continue
        for var in env.split("\\0"):
            name, _, value = var.partition("=")
            if name in mine and value != mine[name]:
                found.append(var)
    return found
attack("foreign-environ", foreign)
attack("victim-environ", lambda: open("/proc/${victimPid}/environ", "rb").read())
attack("victim-root", lambda: os.listdir("/proc/${victimPid}/root"))
print("OWN TOKEN LENGTH", len(json.loads(mine["DKU_CUSTOM_RECIPE_CONFIG"])["credentials"]["token"]))
`,
    );
    expectAllBlocked(job, ['foreign-environ', 'victim-environ', 'victim-root']);
    // Her run did get a config with a credential in it: her own.
    expect(job.log).toContain(`OWN TOKEN LENGTH ${MALLORY_TOKEN.length}`);
  });

  it("Bob's run is not there: the work root, his run's home, its plugin copy, his notes", async () => {
    const home = path.join(bobRun, 'home');
    const job = await malloryRuns(
      'directories',
      `attack("list-work-root", lambda: os.listdir(${JSON.stringify(d.workRoot)}))
attack("list-bob-run", lambda: os.listdir(${JSON.stringify(bobRun)}))
attack("read-bob-notes", lambda: open(${JSON.stringify(path.join(home, 'bob-notes.txt'))}).read())
attack("read-bob-plugin-copy", lambda: open(${JSON.stringify(path.join(home, 'plugin/custom-recipes/run/recipe.py'))}).read())
def find_notes():
    hits = []
    for root, dirs, files in os.walk("/", onerror=lambda e: None):
        dirs[:] = [x for x in dirs if os.path.join(root, x) not in ("/proc", "/sys", "/usr", "/dev")]
        hits += [os.path.join(root, f) for f in files if f == "bob-notes.txt"]
    return hits
attack("find-bob-notes", find_notes)
`,
    );
    expectAllBlocked(job, [
      'list-work-root',
      'list-bob-run',
      'read-bob-notes',
      'read-bob-plugin-copy',
      'find-bob-notes',
    ]);
    for (const name of ['list-work-root', 'list-bob-run', 'read-bob-notes', 'read-bob-plugin-copy'])
      expect(attacks(job.log).find((a) => a.name === name)!.detail, job.log).toMatch(/^FileNotFoundError/);
  });

  it("code planted in the plugin by Mallory's run never runs in Bob's: each run gets the installed files", async () => {
    const bobCopy = path.join(bobRun, 'home', 'plugin');
    const job = await malloryRuns(
      'plant',
      `here = os.path.join(os.path.expanduser("~"), "plugin")
plant = 'print(${JSON.stringify(PLANTED)})\\n'
def append(p):
    with open(p, "a") as f:
        f.write(plant)
    return "wrote " + p
# Her own run's copy is hers to change: that must reach no one else.
append(os.path.join(here, "custom-recipes/run/recipe.py"))
append(os.path.join(here, "python-lib/snippet_lib/__init__.py"))
print("OWN COPY CHANGED", flush=True)
attack("plant-bob-recipe", lambda: append(${JSON.stringify(path.join(bobCopy, 'custom-recipes/run/recipe.py'))}))
attack("plant-bob-lib", lambda: append(${JSON.stringify(path.join(bobCopy, 'python-lib/snippet_lib/__init__.py'))}))
attack("plant-shared-client", lambda: append(os.environ["PYTHONPATH"].split(":")[0] + "/dataiku/customrecipe.py"))
`,
    );
    expectAllBlocked(job, ['plant-bob-recipe', 'plant-bob-lib', 'plant-shared-client']);
    expect(job.log).toContain('OWN COPY CHANGED');

    // Bob runs the plugin again: it runs the installed recipe and lib, byte for byte, and nothing of hers.
    await putSnippet(
      d.bob,
      'BOB',
      'after',
      `import hashlib, os, snippet_lib
here = os.path.join(os.path.expanduser("~"), "plugin")
for f in ("custom-recipes/run/recipe.py", "python-lib/snippet_lib/__init__.py"):
    print("SHA", f, hashlib.sha256(open(os.path.join(here, f), "rb").read()).hexdigest())
print("LIB", snippet_lib.name())
`,
    );
    const after = await waitForJob(d.api, d.bob, await startJob(d.api, d.bob, 'BOB', 'after'));
    expect(after.state, after.log).toBe('succeeded');
    expect(after.log).not.toContain(PLANTED);
    expect(after.log).toContain(`SHA custom-recipes/run/recipe.py ${sha(RECIPE_PY)}`);
    expect(after.log).toContain(`SHA python-lib/snippet_lib/__init__.py ${sha(LIB_PY)}`);
    expect(after.log).toContain('LIB snippet-runner lib');
  });

  it("Mallory's ticket reaches neither Bob's job, his credential, nor the administrators' plugin routes", async () => {
    const job = await malloryRuns(
      'api',
      `attack("bob-job-log", lambda: call("/api/v1/jobs/${bobJob}/log"))
attack("bob-job", lambda: call("/api/v1/jobs/${bobJob}"))
attack("plugin-usages", lambda: call("/api/v1/admin/plugins/${PLUGIN}/usages"))
attack("bob-projects", lambda: call("/api/v1/projects/BOB/recipes/victim"))
def others_in_auth_info():
    info = json.loads(call("/public/api/auth/info?withSecrets=true"))
    return [s for s in info.get("secrets", []) if s.get("key") == "credential-for-my-api"] or (info.get("authIdentifier") != "mallory" and info.get("authIdentifier"))
attack("auth-info-others", others_in_auth_info)
`,
    );
    expectAllBlocked(job, ['bob-job-log', 'bob-job', 'plugin-usages', 'bob-projects', 'auth-info-others']);
    // Refused by the server (an HTTP status), not by a network that happened to be down.
    for (const a of attacks(job.log).filter((x) => x.name !== 'auth-info-others'))
      expect(a.detail, job.log).toMatch(/^HTTPError (403|404)$/);
  });
});
