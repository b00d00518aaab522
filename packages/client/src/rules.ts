// What `@coffer/client/rules` holds: the input rules the server enforces and the web UI shows.
export * from './secret-rules.js';
export * from './text-rules.js';
export * from './plugin-form.js';
