import { newId } from '../crypto/index.js';
import type { IncomingMessage } from 'node:http';

/** What a request id sent by a proxy may look like: enough for UUIDs and trace ids, nothing to inject. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id that ties a request's log lines together and is sent back as X-Request-Id. A load balancer's
 * id is kept so one request can be followed across both logs; anything else gets a fresh random id.
 */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && ACCEPTED.test(sent) ? sent : newId();
}
