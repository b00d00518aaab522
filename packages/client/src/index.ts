export { CofferClient, type CofferClientOptions } from './client.js';
export {
  ApprovalRequired,
  CofferApiError,
  CofferUnreachable,
  SecretNotFound,
  type RecipeChange,
} from './errors.js';
export { MAX_NAME_CHARS, MAX_VALUE_BYTES, secretNameProblem, secretValueProblem } from './secret-rules.js';
export { textProblem, type TextRule } from './text-rules.js';
export {
  defaultModel,
  formProblems,
  isEmptyValue,
  isVisible,
  paramValueProblem,
  type FormParam,
  type FormProblem,
} from './plugin-form.js';
export type * from './types.js';
