import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { zipDirectory, zipEntries, type ZipEntrySpec } from '../../../../../test/support/plugin-zips.js';
import { AppError } from '../../errors.js';
import { readPluginArchive } from './plugin-archive.js';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './plugin.model.js';

const SAMPLE = path.resolve(fileURLToPath(import.meta.url), '../../../../../../examples/plugins/api-connect');

const PLUGIN_JSON = '// made by hand\n{ "id": "demo", "version": "1.0.0", }';
const RECIPE = [
  { path: 'custom-recipes/run/recipe.json', content: '{ "kind": "PYTHON" /* DSS */ }' },
  { path: 'custom-recipes/run/recipe.py', content: 'print("hi")' },
];
const GOOD: ZipEntrySpec[] = [{ path: 'plugin.json', content: PLUGIN_JSON }, ...RECIPE];

async function refusal(zip: Buffer | Promise<Buffer>, limits?: ArchiveLimits): Promise<AppError> {
  const error: unknown = await readPluginArchive(await zip, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

async function invalid(zip: Buffer | Promise<Buffer>, limits?: ArchiveLimits): Promise<string> {
  const error = await refusal(zip, limits);
  expect(error.code).toBe('invalid');
  return error.message;
}

async function tooLarge(zip: Buffer | Promise<Buffer>, limits: ArchiveLimits): Promise<string> {
  const error = await refusal(zip, limits);
  expect(error.code).toBe('payload_too_large');
  expect(error.status).toBe(413);
  return error.message;
}

const limits = (more: Partial<ArchiveLimits>): ArchiveLimits => ({ ...DEFAULT_ARCHIVE_LIMITS, ...more });

describe('readPluginArchive: good archives', () => {
  it('reads plugin.json at the top, with comments, keeping every file', async () => {
    const extra = [
      { path: 'python-lib/demo/__init__.py', content: 'X = 1' },
      { path: 'resource/data.bin', content: Buffer.from([0, 1, 2, 255]) },
      { path: 'docs/', content: undefined },
      { path: 'docs/notes.md', content: 'notes' },
    ];
    const plugin = await readPluginArchive(await zipEntries([...GOOD, ...extra]));
    expect(plugin.manifest).toMatchObject({ id: 'demo', version: '1.0.0', label: 'demo' });
    expect(plugin.manifest.recipes.map((r) => r.codeFile)).toEqual(['custom-recipes/run/recipe.py']);
    expect(plugin.files.map((f) => f.path)).toEqual([
      'plugin.json',
      'custom-recipes/run/recipe.json',
      'custom-recipes/run/recipe.py',
      'python-lib/demo/__init__.py',
      'resource/data.bin',
      'docs/notes.md',
    ]);
    expect(plugin.files.find((f) => f.path === 'resource/data.bin')!.content).toEqual(
      Buffer.from([0, 1, 2, 255]),
    );
  });

  it('strips the one top folder DSS exports wrap a plugin in, and skips Finder metadata', async () => {
    const wrapped = GOOD.map((e) => ({ ...e, path: `demo-plugin/${e.path}` }));
    const zip = await zipEntries([
      { path: 'demo-plugin/' },
      ...wrapped,
      { path: '__MACOSX/demo-plugin/._plugin.json', content: 'apple' },
    ]);
    const plugin = await readPluginArchive(zip);
    expect(plugin.files.map((f) => f.path)).toEqual(['plugin.json', ...RECIPE.map((e) => e.path)]);
  });

  it('reads the sample plugin, zipped bare or inside its folder, both recipe languages', async () => {
    for (const zip of [await zipDirectory(SAMPLE), await zipDirectory(SAMPLE, { under: 'api-connect' })]) {
      const { manifest } = await readPluginArchive(zip);
      expect(manifest.id).toBe('api-connect');
      expect(manifest.recipes.map((r) => [r.id, r.language])).toEqual([
        ['fetch', 'python'],
        ['fetch-r', 'r'],
      ]);
      const fetch = manifest.recipes[0]!;
      expect(fetch.params.map((p) => `${p.name}:${p.type}`)).toEqual([
        'endpoint:STRING',
        'page_size:INT',
        'format:SELECT',
        'show_raw:BOOLEAN',
        'raw_note:STRING',
        'separator-5:SEPARATOR',
        'credentials:PRESET',
        'secret_name:USER_SECRET',
      ]);
      expect(manifest.parameterSets[0]!.params[1]).toMatchObject({
        name: 'token',
        label: 'API token',
        credentialRequestType: 'SINGLE_FIELD',
      });
    }
  });
});

describe('readPluginArchive: refusals', () => {
  it('refuses what is not a zip', async () => {
    expect(await invalid(Buffer.from('PK? no, just text'))).toMatch(/^the upload is not a zip archive/);
  });

  it.each([
    [
      'a ".." segment',
      'custom-recipes/../../etc/passwd',
      /^"custom-recipes\/..\/..\/etc\/passwd": has a "\.\." segment/,
    ],
    [
      'a leading ".."',
      '../plugin.json',
      /^"..\/plugin.json": has a "\.\." segment, which would leave the plugin folder/,
    ],
    ['an absolute path', '/etc/cron.d/x', /^"\/etc\/cron.d\/x": is an absolute path/],
    ['a drive letter', 'C:/Windows/x', /^"C:\/Windows\/x": is an absolute path/],
    ['a backslash', 'C:\\Windows\\x', /^"C:\\\\Windows\\\\x": has a backslash/],
    ['a backslash traversal', '..\\x', /^"..\\\\x": has a backslash/],
    ['a control character', 'a\u0001b', /^"a\\u0001b": has a control character/],
    ['an empty segment', 'a//b', /^"a\/\/b": has an empty or "\." path segment/],
  ])('refuses %s, naming the entry', async (_case, name, message) => {
    expect(await invalid(zipEntries([...GOOD, { path: name, content: 'x' }]))).toMatch(message);
  });

  it('refuses a symbolic link', async () => {
    const zip = zipEntries([...GOOD, { path: 'resource/key', symlinkTo: '/etc/shadow' }]);
    expect(await invalid(zip)).toBe(
      '"resource/key": is a symbolic link; a plugin archive may hold only files and folders',
    );
  });

  it('refuses a device or other special file', async () => {
    expect(
      await invalid(zipEntries([...GOOD, { path: 'resource/fifo', content: '', mode: 0o010644 }])),
    ).toMatch(/^"resource\/fifo": is a special file/);
  });

  it('refuses an encrypted entry', async () => {
    const zip = zipEntries([
      ...GOOD,
      { path: 'resource/secret.txt', content: 'x'.repeat(100), encrypted: true },
    ]);
    expect(await invalid(zip)).toBe('"resource/secret.txt": is encrypted; zip the plugin without a password');
  });

  it('refuses a path that appears twice', async () => {
    expect(await invalid(zipEntries([...GOOD, { path: 'plugin.json', content: '{}' }]))).toBe(
      '"plugin.json": appears twice in the archive',
    );
  });

  it('refuses a path that is both a file and a folder', async () => {
    const zip = zipEntries([
      ...GOOD,
      { path: 'resource', content: 'x' },
      { path: 'resource/a', content: 'y' },
    ]);
    expect(await invalid(zip)).toBe('resource: is a file, and also the folder of resource/a');
  });

  it('refuses an archive without plugin.json, or with it in more than one top folder', async () => {
    const message =
      /^plugin\.json: missing; put it at the top of the archive, or zip the one folder that holds it/;
    expect(await invalid(zipEntries([{ path: 'README.md', content: 'x' }]))).toMatch(message);
    expect(await invalid(zipEntries([]))).toMatch(message);
    const twoTops = [...GOOD.map((e) => ({ ...e, path: `a/${e.path}` })), { path: 'b/x', content: 'x' }];
    expect(await invalid(zipEntries(twoTops))).toMatch(message);
  });

  it('passes the manifest refusals through, naming the file inside the plugin (after unwrapping)', async () => {
    const zip = zipEntries([
      { path: 'p/plugin.json', content: PLUGIN_JSON },
      {
        path: 'p/custom-recipes/fetch/recipe.json',
        content: '{"params": [{"name": "x", "type": "DATASET"}]}',
      },
      { path: 'p/custom-recipes/fetch/recipe.py', content: '' },
    ]);
    expect(await invalid(zip)).toMatch(/^custom-recipes\/fetch\/recipe\.json: params\[0\]\.type "DATASET"/);
  });

  it('refuses an archive over the size limit before reading it', async () => {
    const zip = await zipEntries(GOOD);
    expect(await tooLarge(zip, limits({ maxArchiveBytes: zip.length - 1 }))).toBe(
      `the plugin archive is ${zip.length} bytes; the limit is ${zip.length - 1} bytes`,
    );
    await expect(readPluginArchive(zip, limits({ maxArchiveBytes: zip.length }))).resolves.toBeTruthy();
  });

  it('refuses more entries than the limit', async () => {
    expect(await tooLarge(zipEntries(GOOD), limits({ maxFiles: 2 }))).toBe(
      'the archive has 3 entries; a plugin may have at most 2',
    );
  });

  it('refuses a file over the per-file limit', async () => {
    const zip = zipEntries([...GOOD, { path: 'resource/big', content: Buffer.alloc(1001) }]);
    expect(await tooLarge(zip, limits({ maxFileBytes: 1000 }))).toMatch(
      /^resource\/big: is larger than 1000 bytes/,
    );
  });

  it('refuses files that together pass the total limit', async () => {
    const zip = zipEntries([
      ...GOOD,
      { path: 'resource/a', content: Buffer.alloc(600) },
      { path: 'resource/b', content: Buffer.alloc(600) },
    ]);
    expect(await tooLarge(zip, limits({ maxTotalBytes: 1000 }))).toMatch(
      /^the plugin's files add up to more than 1000 bytes uncompressed, the limit \(at resource\/b\)/,
    );
  });

  it('refuses a zip bomb whose header under-declares its size, on the bytes it inflates to', async () => {
    // 10 MB of zeros deflate to ~10 KB; the header claims 10 bytes, well under every limit.
    const bomb = { path: 'resource/bomb', content: Buffer.alloc(10 * 1024 * 1024), declaredSize: 10 };
    const message = await invalid(zipEntries([...GOOD, bomb]), limits({ maxFileBytes: 1024 * 1024 }));
    expect(message).toMatch(/^resource\/bomb: cannot be read; the archive is damaged or its sizes are false/);
  });
});
