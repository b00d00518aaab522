import { describe, expect, it } from 'vitest';
import { parseSince } from './since.js';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

describe('--since of audit export', () => {
  it('takes an ISO-8601 date as midnight UTC, and a date-time in its own zone', () => {
    expect(parseSince('2025-01-31', NOW)).toEqual({ at: Date.UTC(2025, 0, 31) });
    expect(parseSince('2025-01-31T08:00:00Z', NOW)).toEqual({ at: Date.UTC(2025, 0, 31, 8) });
    expect(parseSince('2025-01-31T09:00+01:00', NOW)).toEqual({ at: Date.UTC(2025, 0, 31, 8) });
    expect(parseSince('2025-01-31 03:30:15.250-05:00', NOW)).toEqual({
      at: Date.UTC(2025, 0, 31, 8, 30, 15, 250),
    });
  });

  it('takes an age in minutes, hours, days or weeks before now', () => {
    expect(parseSince('30m', NOW)).toEqual({ at: NOW - 30 * 60_000 });
    expect(parseSince('12h', NOW)).toEqual({ at: NOW - 12 * 3_600_000 });
    expect(parseSince('7d', NOW)).toEqual({ at: NOW - 7 * 86_400_000 });
    expect(parseSince('2w', NOW)).toEqual({ at: NOW - 14 * 86_400_000 });
  });

  it('refuses a date-time without a zone, naming the fix', () => {
    expect(parseSince('2025-01-31T08:00', NOW)).toEqual({
      problem: expect.stringMatching(/must end with its time zone, Z for UTC or an offset like \+01:00/),
    });
  });

  it('refuses days and times that do not exist rather than rolling them over', () => {
    for (const bad of ['2025-02-30', '2025-02-29', '2025-13-01', '2025-01-31T24:00:00Z', '2025-01-31T10:60Z'])
      expect(parseSince(bad, NOW), bad).toEqual({ problem: 'is not a date and time that exists' });
    expect(parseSince('2024-02-29', NOW)).toEqual({ at: Date.UTC(2024, 1, 29) });
  });

  it('refuses anything else, listing the forms it takes', () => {
    for (const bad of ['', 'yesterday', '7 days', '-7d', '1.5h', '7y', '31/01/2025', '1738310400000'])
      expect(parseSince(bad, NOW), bad).toEqual({
        problem: expect.stringMatching(
          /ISO-8601 date or date-time with its zone .* or an age \(30m, 12h, 7d, 2w\)/,
        ),
      });
  });
});
