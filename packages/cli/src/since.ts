/*
 * The --since of `coffer audit export`: a point in time as an ISO-8601 date or date-time, or an age
 * (7d: seven days before now). A date-time must name its zone (Z or ±HH:MM): the same command run on
 * machines in different zones must mean the same instant, and an export that silently starts an hour
 * late loses records. Date.parse alone would accept other forms and roll 2025-02-30 over into March.
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const AGE = /^(\d+)(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

export const SINCE_FORMS =
  'an ISO-8601 date or date-time with its zone (2025-01-31, 2025-01-31T08:00:00Z, 2025-01-31T09:00+01:00) or an age (30m, 12h, 7d, 2w)';

/** The instant (epoch ms) that `text` names, or a message saying why it names none. */
export function parseSince(text: string, now: number): { at: number } | { problem: string } {
  const value = text.trim();
  const age = AGE.exec(value);
  if (age) return { at: now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS] };
  const m = ISO.exec(value);
  if (!m) return { problem: `must be ${SINCE_FORMS}` };
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined)
    return { problem: 'a date-time must end with its time zone, Z for UTC or an offset like +01:00' };
  const fields = [y, mo, d, h ?? '0', mi ?? '0', s ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [year, month, day, hour, minute, second] = fields;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, Number((frac ?? '0').padEnd(3, '0')));
  const back = new Date(utc);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  )
    return { problem: 'is not a date and time that exists' };
  return { at: utc - offsetMs(zone) };
}

/** The zone's offset from UTC in ms (+01:00 → one hour); Z or no zone (a date alone) is UTC. */
function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const [, sign, hh, mm] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  return (sign === '-' ? -1 : 1) * (Number(hh) * 60 + Number(mm)) * 60_000;
}
