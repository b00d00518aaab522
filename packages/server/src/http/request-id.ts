import type { IncomingMessage } from 'node:http';
import { newId } from '../crypto/index.js';

/** What a request id sent by a proxy may look like: enough for UUIDs and trace ids, nothing to inject. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/*
 * Request ids tie log lines together; they are not secrets, so a random prefix per process (distinct
 * across replicas) and a counter do, at a fraction of the cost of random bytes per request.
 */
const PREFIX = newId().slice(0, 12);
let counter = 0;

/**
 * The id that ties a request's log lines together and is sent back as X-Request-Id. A load balancer's
 * id is kept so one request can be followed across both logs; anything else gets a fresh one.
 */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  if (typeof sent === 'string' && ACCEPTED.test(sent)) return sent;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PREFIX}-${counter.toString(36)}`;
}
