import type { Database } from '../schema.js';

/*
 * What a backup holds, in an order that satisfies every foreign key, with each table's primary key for
 * a stable read order. Sessions, tickets and rate-limit counters are left out on purpose: they are
 * short-lived credentials and counters, and a restored store should make everyone sign in again rather
 * than bring back a stolen session. So is SQLite's change counter: bookkeeping of the store it is in,
 * which every restored row moves anyway, and the sandbox accounts: uids of the machines the store ran
 * on, handed out again on demand from the restored server's own range. A test fails when a table is added without a decision here.
 */
export const BACKED_UP: readonly { table: keyof Database; key: readonly string[] }[] = [
  { table: 'meta', key: ['key'] },
  { table: 'master_keys', key: ['version'] },
  { table: 'users', key: ['id'] },
  { table: 'data_keys', key: ['user_id', 'version'] },
  { table: 'secrets', key: ['user_id', 'name'] },
  { table: 'api_keys', key: ['id'] },
  { table: 'audit_events', key: ['id'] },
  { table: 'audit_subjects', key: ['id'] },
  { table: 'audit_callers', key: ['id'] },
  { table: 'audit_name_lists', key: ['id'] },
  { table: 'audit_records', key: ['id'] },
  { table: 'projects', key: ['id'] },
  { table: 'project_members', key: ['project_id', 'user_id'] },
  { table: 'recipes', key: ['id'] },
  { table: 'recipe_revisions', key: ['recipe_id', 'revision'] },
  { table: 'notebooks', key: ['id'] },
  { table: 'jobs', key: ['id'] },
  { table: 'job_logs', key: ['job_id', 'seq'] },
  { table: 'plugins', key: ['id'] },
  { table: 'plugin_files', key: ['plugin_id', 'path'] },
  { table: 'plugin_presets', key: ['plugin_id', 'parameter_set', 'name'] },
  { table: 'plugin_preset_deletions', key: ['plugin_id', 'parameter_set', 'name'] },
  // Sealed under their owners' data keys, as secrets are.
  { table: 'plugin_credentials', key: ['user_id', 'plugin_id', 'parameter_set', 'preset', 'param'] },
];

export const LEFT_OUT: readonly (keyof Database)[] = [
  'sessions',
  'tickets',
  'rate_limits',
  'change_counter',
  'sandbox_accounts',
  // Kernels running on the replicas that wrote them: none runs in a restored store.
  'kernels',
];
