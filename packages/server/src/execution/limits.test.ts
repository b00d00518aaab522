import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, formatBytes, limitBehindExit, limitReached } from './limits.js';

describe('limits', () => {
  it('names each limit as an operator set it', () => {
    expect(limitReached('memoryBytes', DEFAULT_LIMITS)).toBe('memory limit of 2 GiB reached');
    expect(limitReached('processes', DEFAULT_LIMITS)).toBe('process limit of 256 reached');
    expect(limitReached('cpuSeconds', DEFAULT_LIMITS)).toBe('CPU time limit of 3600 s reached');
    expect(limitReached('fileBytes', { ...DEFAULT_LIMITS, fileBytes: 8 * 1024 ** 2 })).toBe(
      'file size limit of 8 MiB reached',
    );
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(512)).toBe('512 bytes');
  });

  const none = { largestFile: 0, stderrTail: '' };

  it('tells a limit from an ordinary failure by how the code ended', () => {
    expect(limitBehindExit({ exitCode: 152, signal: null }, none, DEFAULT_LIMITS)).toBe('cpuSeconds');
    expect(limitBehindExit({ exitCode: null, signal: 'SIGXFSZ' }, none, DEFAULT_LIMITS)).toBe('fileBytes');
    expect(
      limitBehindExit(
        { exitCode: 1, signal: null },
        { ...none, largestFile: DEFAULT_LIMITS.fileBytes },
        DEFAULT_LIMITS,
      ),
    ).toBe('fileBytes');
    for (const said of [
      'Traceback (most recent call last):\nMemoryError\n',
      'Error: cannot allocate vector of size 3.7 Gb\n',
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n',
    ])
      expect(
        limitBehindExit({ exitCode: 1, signal: null }, { ...none, stderrTail: said }, DEFAULT_LIMITS),
      ).toBe('memoryBytes');
    expect(
      limitBehindExit({ exitCode: 1, signal: null }, { ...none, stderrTail: 'ValueError\n' }, DEFAULT_LIMITS),
    ).toBe(undefined);
    expect(
      limitBehindExit({ exitCode: 0, signal: null }, { ...none, stderrTail: 'MemoryError' }, DEFAULT_LIMITS),
    ).toBe(undefined);
  });
});
