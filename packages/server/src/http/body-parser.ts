import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { Invalid } from '../errors.js';

/**
 * Every body is JSON, whatever its Content-Type: the dataikuapi client sends JSON with no Content-Type
 * at all, the R package with application/json. Other parsers are removed so nothing else is accepted.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    // Decoding would turn each invalid byte into U+FFFD and store that in place of what was sent.
    if (!isUtf8(bytes)) return done(new Invalid('request body is not valid UTF-8 text'), undefined);
    const text = bytes.toString('utf8');
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
