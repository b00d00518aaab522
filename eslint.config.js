import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CRYPTO = [
  { name: 'node:crypto', message: 'only src/crypto/ may import node:crypto' },
  { name: 'crypto', message: 'only src/crypto/ may import node:crypto' },
];
const restrict = (patterns, paths = CRYPTO) => ['error', { patterns, paths }];

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'test-output/**', 'data/**', 'clients/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // Layering. Only crypto/ may touch node:crypto; only store/ and repos the database drivers; only
  // config.ts reads the environment; routes do not reach into repos or the store.
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/crypto/**', 'packages/server/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['better-sqlite3', 'pg', 'kysely'],
          message: 'only src/store/ and repos may import the database layer',
        },
      ]),
    },
  },
  {
    files: ['packages/server/src/store/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['packages/server/src/**/*.repo.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['better-sqlite3', 'pg'], message: 'only src/store/ opens database drivers' },
      ]),
    },
  },
  {
    files: ['packages/server/src/**/*.routes.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/*.repo.js', '**/store/*', 'kysely'],
          message: 'routes call services, never repos or the store',
        },
      ]),
    },
  },
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'only config.ts reads process.env' },
      ],
    },
  },
  {
    files: ['packages/server/src/store/migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [{ group: ['../../**', '../*.js'], message: 'migrations are frozen: no application imports' }],
        [],
      ),
    },
  },
  // The web UI runs in the browser and talks to the server only through the TypeScript client.
  {
    files: ['packages/web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'call the API through @coffer/client' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@coffer/server', '@coffer/server/*'], message: 'the UI uses @coffer/client' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'e2e/**/*.ts', '**/*.test.ts', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'no-restricted-imports': 'off' },
  },
);
