import { secretNameProblem, secretValueProblem } from '@coffer/client/rules';
import { Invalid } from '../../errors.js';

// The rules live in the client package so that the web UI checks the very same ones as a person types;
// here they become the API's 400 answers.

/** Secret names follow DSS: any text, case-sensitive, with a few rules that keep them usable as identifiers. */
export function checkSecretName(name: unknown): string {
  if (typeof name !== 'string') throw new Invalid('secret name must be a string');
  const problem = secretNameProblem(name);
  if (problem) throw new Invalid(problem);
  return name;
}

/** Values are UTF-8 text; the message never repeats the value. */
export function checkSecretValue(name: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new Invalid(`value of secret ${JSON.stringify(name)} must be a string`);
  const problem = secretValueProblem(name, value);
  if (problem) throw new Invalid(problem);
  return value;
}
