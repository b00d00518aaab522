import type { FastifyInstance } from 'fastify';
import { Invalid } from '../errors.js';

/**
 * Every body is JSON, whatever its Content-Type: the dataikuapi client sends JSON with no Content-Type
 * at all, the R package with application/json. Other parsers are removed so nothing else is accepted.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      // The parser's message quotes at most a few characters of the body; say where, not what.
      const where = /position (\d+)/.exec((err as Error).message)?.[1];
      done(
        new Invalid(`request body is not valid JSON${where ? ` (error at character ${where})` : ''}`),
        undefined,
      );
    }
  });
}
