import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { validatorCompiler } from './validator.js';

const compile = (schema: Parameters<typeof validatorCompiler>[0]['schema'], httpPart: string) =>
  validatorCompiler({ schema, httpPart, method: 'GET', url: '/x' }) as (v: unknown) => {
    value?: unknown;
    error?: unknown;
  };

describe('request validation', () => {
  const Query = Type.Object(
    { name: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer()) },
    { additionalProperties: false },
  );

  it('passes a query that already matches as it was sent', () => {
    const sent = { name: 'x' };
    expect(compile(Query, 'querystring')(sent)).toEqual({ value: sent });
  });

  it('still converts query text to the schema type where it does not match as sent', () => {
    expect(compile(Query, 'querystring')({ name: 'x', limit: '5' })).toEqual({
      value: { name: 'x', limit: 5 },
    });
  });

  it('refuses what neither matches nor converts, and unknown fields', () => {
    expect(compile(Query, 'querystring')({ limit: 'five' }).error).toBeDefined();
    expect(compile(Query, 'querystring')({ other: 'x' }).error).toBeDefined();
  });

  it('never converts a body: JSON types are the client’s to get right', () => {
    const Body = Type.Object({ n: Type.Integer() });
    expect(compile(Body, 'body')({ n: '5' }).error).toBeDefined();
    expect(compile(Body, 'body')({ n: 5 })).toEqual({ value: { n: 5 } });
  });
});
