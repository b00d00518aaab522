import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, type TestUser } from './support/test-server.js';

describe('a user stores a secret and their code reads it back', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await TestServer.start();
    alice = await server.createUser('alice');
  });
  afterAll(() => server.close());

  it('returns the stored value through DSS auth/info with withSecrets=True', async () => {
    const put = await server.request('PUT', '/api/v1/me/secrets/credential-for-my-api', {
      key: alice.key,
      body: { value: 'v@lue-1' },
    });
    expect(put.status).toBe(201);
    const info = await server.request('GET', '/dip/publicapi/auth/info?withSecrets=True', { key: alice.key });
    expect(info.status).toBe(200);
    expect(info.json.secrets).toEqual([{ key: 'credential-for-my-api', value: 'v@lue-1' }]);
    expect(info.json.authSource).toBe('PERSONAL_API_KEY');
  });

  it('publishes an OpenAPI document of its own API, without the DSS twins', async () => {
    const r = await server.request('GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    const paths = Object.keys(r.json.paths as Record<string, unknown>);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/me/secrets',
        '/api/v1/me/secrets/{name}',
        '/api/v1/auth/info',
        '/api/v1/me/activity',
      ]),
    );
    expect(paths.filter((p) => p.startsWith('/dip/') || p.startsWith('/public/'))).toEqual([]);
  });
});
