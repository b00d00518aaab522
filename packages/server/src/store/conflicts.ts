import { isUniqueViolation } from './dialect/errors.js';

/**
 * Runs fn (a transaction that checks a name is free, then inserts it) and turns a unique-index
 * violation into `conflict()`: the answer the check gives in sequence. On PostgreSQL two transactions
 * can both pass the check; the index decides, and the loser must hear "already exists", not a 500.
 */
export async function onUniqueViolation<T>(conflict: () => Error, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict();
    throw err;
  }
}
