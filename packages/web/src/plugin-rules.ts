/* The rules of plugins' generated forms, the server's own (@coffer/client's plugin-form.ts). */
export { defaultModel, formProblems, isVisible } from '@coffer/client';

/** A generated form's values, by param name. */
export type FormModel = Record<string, unknown>;
