import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * TypeBox validation for every route. Query strings and path parameters arrive as text; TypeBox's
 * compiler converts them to their schema's types before checking, which walks the whole value on every
 * request. Here the check comes first and conversion only where it fails: a value that already matches
 * its schema (every query and path schema of this API is made of text fields) needs none.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const convertThenCheck = TypeBoxValidatorCompiler(route);
  if (route.httpPart === 'body') return convertThenCheck;
  const check = Compile(route.schema);
  return (value) => (check.Check(value) ? { value } : convertThenCheck(value));
};
