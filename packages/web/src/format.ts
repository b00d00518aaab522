const toMinute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const toSecond = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/**
 * A date and time that wraps, in a narrow column, only between the date and the time: the spaces inside
 * each become no-break spaces, so "Dec 5, 2026, 9:28 AM" takes two lines at most, never three or four.
 */
function unbreakable(format: Intl.DateTimeFormat, ms: number): string {
  const parts = format.formatToParts(new Date(ms));
  const lastDate = parts.findLastIndex((p) => p.type === 'year' || p.type === 'month' || p.type === 'day');
  return parts
    .map((p, i) => (i === lastDate + 1 && p.type === 'literal' ? p.value : p.value.replace(/\s/g, '\u00a0')))
    .join('');
}

export function formatTime(ms: number | null | undefined, never = 'never'): string {
  return ms === null || ms === undefined ? never : unbreakable(toMinute, ms);
}

/** To the second, where events a few seconds apart must be told apart (Activity). */
export function formatTimeToSecond(ms: number | null | undefined, never = 'never'): string {
  return ms === null || ms === undefined ? never : unbreakable(toSecond, ms);
}

const ACTIONS: Record<string, string> = {
  'secret.read': 'read by code',
  'secret.created': 'created',
  'secret.replaced': 'replaced',
  'secret.deleted': 'deleted',
};

export function describeAction(action: string): string {
  return ACTIONS[action] ?? action;
}

const SOURCES: Record<string, string> = {
  SESSION: 'web session',
  PERSONAL_API_KEY: 'API key',
  TICKET: 'job ticket',
};

/**
 * How a change or read was authenticated; API keys by their label when the key is still listed, job
 * tickets with their job.
 */
export function describeSource(
  source: string | null,
  credentialId: string | null,
  keyLabels: ReadonlyMap<string, string>,
  jobId: string | null = null,
): string {
  if (!source) return 'Coffer operator';
  const what = SOURCES[source] ?? source;
  if (source === 'PERSONAL_API_KEY' && credentialId) {
    const label = keyLabels.get(credentialId);
    return label !== undefined ? `${what} “${label || 'no label'}”` : `${what} ${credentialId} (revoked)`;
  }
  if (source === 'TICKET' && jobId) return `${what} of job ${jobId}`;
  return credentialId && source === 'TICKET' ? `${what} ${credentialId}` : what;
}

/** A job's id as its page and every link to it show it: the first eight characters, enough to tell runs apart. */
export function shortJobId(id: string): string {
  return id.slice(0, 8);
}
