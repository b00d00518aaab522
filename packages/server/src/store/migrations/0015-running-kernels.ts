import type { Kysely } from 'kysely';

/*
 * Frozen. The notebook kernels running on every replica (docs/adr/0020): which replica holds each, so
 * another replica can say where a kernel is instead of "not found", and lists show all of them. A row
 * lives as long as its kernel; the holder's heartbeat tells a live row from one a crash left behind.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const millis = 'bigint';
  await db.schema
    .createTable('kernels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().unique())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('owner_login', 'text', (c) => c.notNull())
    .addColumn('project_key', 'text', (c) => c.notNull())
    .addColumn('notebook', 'text', (c) => c.notNull())
    .addColumn('kernel_name', 'text', (c) => c.notNull())
    .addColumn('replica', 'text', (c) => c.notNull())
    .addColumn('started_at', millis, (c) => c.notNull())
    .addColumn('heartbeat_at', millis, (c) => c.notNull())
    .execute();
}
