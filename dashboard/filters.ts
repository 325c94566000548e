/**
 * The dashboard's filters, read from the URL (so a view can be shared): a date range, a category
 * and a country. Pure: the server resolves what is absent (the range defaults to the 30 days that
 * end at the newest order date in the data) and shows the problems on the page, never a stack trace.
 */
export interface Filters {
  /** Inclusive, YYYY-MM-DD. */
  from: string;
  to: string;
  category: string | null;
  country: string | null;
}

export interface ParsedFilters {
  from: string | null;
  to: string | null;
  category: string | null;
  country: string | null;
  /** What was wrong, one sentence each, naming the parameter and the value given. */
  problems: string[];
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A longer range is almost surely a typo (year 2062 for 2026), and it would read every row. */
export const MAX_RANGE_DAYS = 3700;
const MAX_TEXT = 100;

/** A real calendar date as YYYY-MM-DD, or null. */
export function parseDay(s: string): string | null {
  const m = DATE.exec(s);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s ? s : null;
}

export const dayNumber = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
export const dayFromNumber = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);
export const addDays = (day: string, n: number) => dayFromNumber(dayNumber(day) + n);

const shown = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);

export function parseFilters(q: URLSearchParams): ParsedFilters {
  const problems: string[] = [];
  const date = (name: 'from' | 'to'): string | null => {
    const raw = q.get(name)?.trim() ?? '';
    if (raw === '') return null; // absent or cleared in the form: the default
    const day = parseDay(raw);
    if (!day) problems.push(`${name} must be a date as YYYY-MM-DD, got ${shown(raw)}.`);
    return day;
  };
  const text = (name: 'category' | 'country'): string | null => {
    const raw = q.get(name)?.trim() ?? '';
    if (raw === '') return null;
    if (raw.length > MAX_TEXT) {
      problems.push(`${name} is at most ${MAX_TEXT} characters, got ${raw.length}.`);
      return null;
    }
    return raw;
  };
  const from = date('from');
  const to = date('to');
  if (from && to) {
    if (from > to) problems.push(`The range is reversed: from ${from} is after to ${to}.`);
    else if (dayNumber(to) - dayNumber(from) + 1 > MAX_RANGE_DAYS) problems.push(`The range from ${from} to ${to} is longer than ${MAX_RANGE_DAYS} days.`);
  }
  return { from, to, category: text('category'), country: text('country'), problems };
}

/**
 * The range to show: what was asked, with a missing end filled in from `latest` (the newest date
 * in the data) and a missing start 29 days before the end.
 */
export function resolveRange(p: Pick<ParsedFilters, 'from' | 'to'>, latest: string): { from: string; to: string } {
  const to = p.to ?? (p.from && p.from > latest ? p.from : latest);
  const from = p.from ?? addDays(to, -29);
  return { from, to };
}

/** The range of the same length just before [from, to]: what the overview's changes compare with. */
export function previousRange(f: { from: string; to: string }): { from: string; to: string } {
  const days = dayNumber(f.to) - dayNumber(f.from) + 1;
  return { from: addDays(f.from, -days), to: addDays(f.from, -1) };
}

/** The filters as a query string (empty values left out), for links that keep them. */
export function filterQuery(f: Partial<Filters>): string {
  const q = new URLSearchParams();
  for (const k of ['from', 'to', 'category', 'country'] as const) {
    const v = f[k];
    if (v) q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
