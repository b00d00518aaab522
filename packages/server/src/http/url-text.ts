import type { FastifyInstance } from 'fastify';
import { checkText } from '../text-rules.js';

/**
 * Every path parameter and query value is one line of text (docs/adr/0018-text-rules.md), checked
 * before any route looks it up: nothing stored can be named with a control character, and PostgreSQL
 * refuses a NUL in a query parameter with an error that would otherwise surface as a 500.
 */
export function registerUrlTextCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    const parts = [
      ['path parameter', req.params],
      ['query parameter', req.query],
    ] as const;
    for (const [part, values] of parts) {
      for (const [name, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        for (const v of [value].flat())
          if (typeof v === 'string') checkText(`${part} ${JSON.stringify(name)}`, v);
      }
    }
  });
}
