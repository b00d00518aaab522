import { describe, expect, it } from 'vitest';
import { secretNameProblem, secretValueProblem } from './secret-rules.js';

// The server's tests (secret.rules.test.ts) cover every rule through the API's errors; these check what
// the browser relies on: the pure functions answer null for good input and never echo a value.
describe('secret rules, as the UI uses them', () => {
  it('accept good names and values', () => {
    expect(secretNameProblem('credential-for-my-api')).toBeNull();
    expect(secretValueProblem('n', 'v')).toBeNull();
  });

  it('measure the value limit in UTF-8 bytes, not characters', () => {
    expect(secretValueProblem('n', 'é'.repeat(32 * 1024))).toBeNull(); // 64 KiB exactly
    expect(secretValueProblem('n', `${'é'.repeat(32 * 1024)}x`)).toMatch(/65537 bytes; the limit is 65536/);
  });

  it('never repeat the value in a message', () => {
    const value = '\ud800secret-text';
    expect(secretValueProblem('n', value)).not.toContain('secret-text');
  });
});
