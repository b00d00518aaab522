import { dropRunDatabases } from './test-store.js';

/** Global teardown of the PostgreSQL run: every database the run made goes, failed tests' included. */
export default function setup(): () => Promise<void> {
  return async () => {
    if (process.env.COFFER_TEST_PG) await dropRunDatabases(`coffer_t_${process.env.COFFER_TEST_RUN}_`);
  };
}
