/**
 * Comparing analytics views with the expected rows of metrics-expected-views.ts and -rankings.ts:
 * an analyst's connection that returns every value as PostgreSQL's text, one canonical form per
 * column (money strictly two decimals, times ISO), and the checks for views that rank over the
 * whole shared database, where other runs' rows take ranks too.
 */
import { randomInt } from 'node:crypto';
import { Client, type CustomTypesConfig, type Pool } from 'pg';
import { expect } from 'vitest';
import type { Config } from '../../config';
import { databaseUrl } from '../../lib/clients';
import { RANK_ORDER } from './metrics-expected-rankings';
import { money, type Approx, type ViewRow } from './metrics-expected-views';
import { toCents } from './transform-expected';

/** etl_analyst (names masked), every value as text: numerics stay exact, dates stay dates. */
export async function connectAnalyst(config: Config): Promise<Client> {
  const types = { getTypeParser: () => (v: string) => v } as unknown as CustomTypesConfig;
  const client = new Client({ connectionString: databaseUrl(config, 'analyst'), types });
  await client.connect();
  await client.query(`set timezone = 'UTC'`);
  return client;
}

const MONEY = new Set(['price', 'unit_price', 'amount', 'revenue', 'spend', 'avg_purchase_value', 'avg_spend_per_session', 'avg_price', 'avg_unit_price']);
const TIMES = new Set(['first_event_at', 'last_event_at']);
function canon(col: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (MONEY.has(col)) return money(toCents(String(v))); // refuses a third decimal
  if (TIMES.has(col)) return new Date(String(v).replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')).toISOString();
  return String(v);
}

const pow10 = (n: number) => 10n ** BigInt(n);
/** num/den rounded half up to `places` decimals (non-negative). */
export const approxText = (a: Approx) => {
  const digits = ((2n * a.num * pow10(a.places) + a.den) / (2n * a.den)).toString().padStart(a.places + 1, '0');
  return `${digits.slice(0, -a.places)}.${digits.slice(-a.places)}`;
};
/** v is num/den rounded to `places` decimals, either way at a tie (+1e-12 for PostgreSQL's inexact division). */
function near(v: string, a: Approx): boolean {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(v);
  if (!m) return false;
  const scale = (m[2] ?? '').length;
  const actual = BigInt(m[1]! + (m[2] ?? ''));
  const diff = actual * a.den - a.num * pow10(scale);
  return (diff < 0n ? -diff : diff) * 2n * pow10(a.places + 12) <= a.den * pow10(scale) * (pow10(12) + 2n * pow10(a.places));
}

function canonRows(rows: Array<Record<string, unknown>>, expected: ViewRow[], key: (r: ViewRow) => string) {
  const actual: ViewRow[] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([c, v]) => [c, canon(c, v)])));
  const byKey = new Map(expected.map((r) => [key(r), r]));
  const show = (r: ViewRow, other?: ViewRow): ViewRow => Object.fromEntries(Object.entries(r).map(([c, v]) => {
    const e = other?.[c];
    if (v !== null && typeof v === 'object') return [c, approxText(v)];
    if (typeof v === 'string' && e !== null && typeof e === 'object' && e !== undefined && near(v, e)) return [c, approxText(e)];
    return [c, v];
  }));
  return { actual: actual.map((r) => show(r, byKey.get(key(r)))), expected: expected.map((r) => show(r)) };
}

/**
 * Runs `sql` as the analyst and expects exactly `expected` (any order; sorted by `keys`), with the
 * view's columns in the order of the expected rows' keys.
 */
export async function expectView(db: Client, label: string, sql: string, params: unknown[], expected: ViewRow[], keys: string[]): Promise<void> {
  const res = await db.query<Record<string, unknown>>(sql, params);
  if (expected[0]) expect(res.fields.map((f) => f.name), `${label}: columns`).toEqual(Object.keys(expected[0]));
  const key = (r: ViewRow) => keys.map((k) => String(r[k])).join('|');
  const sort = (rs: ViewRow[]) => [...rs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const { actual, expected: wanted } = canonRows(res.rows, expected, key);
  expect(sort(actual), label).toEqual(sort(wanted));
}

export interface RankSpec { key: string; value: string; dir: 'desc' | 'asc'; k: number; ours: (id: string) => boolean }

/**
 * A top-k over the whole database, where other runs' rows compete: the listed rows are ranked 1..n
 * in the view's own order; the test's rows among them are exactly the head of the test's own ranking
 * (same values, same order); and the test's next row, if any, ranks after the last listed row.
 */
export function expectRanking(label: string, listedRaw: Array<Record<string, unknown>>, ours: ViewRow[], spec: RankSpec): void {
  const listed = listedRaw.map((r) => Object.fromEntries(Object.entries(r).map(([c, v]) => [c, canon(c, v)]))) as Record<string, string | null>[];
  const order = RANK_ORDER[spec.dir](spec.value, spec.key);
  expect(listed.map((r) => r.rank), `${label}: ranks 1..n`).toEqual(listed.map((_, i) => String(i + 1)));
  expect(listed.length, `${label}: at most ${spec.k} rows`).toBeLessThanOrEqual(spec.k);
  for (let i = 1; i < listed.length; i++) expect(order(listed[i - 1]!, listed[i]!), `${label}: row ${i + 1} ranks after row ${i}`).toBeLessThan(0);
  const oursListed = listed.filter((r) => spec.ours(String(r[spec.key]))).map(({ rank: _rank, ...r }) => r);
  expect(oursListed, `${label}: the test's rows are the head of its own ranking`).toEqual(ours.slice(0, oursListed.length));
  const next = ours[oursListed.length];
  if (!next) return;
  expect(listed.length, `${label}: ${String(next[spec.key])} should be listed, there is room`).toBe(spec.k);
  expect(order(listed[listed.length - 1]!, next), `${label}: ${String(next[spec.key])} (${String(next[spec.value])}) would rank above the last listed row`).toBeLessThan(0);
}

/** The test's rows of high_value_orders are its non-cancelled orders at or above some amount. */
export function expectUpwardClosed(label: string, listedRaw: Array<Record<string, unknown>>, candidates: ViewRow[]): void {
  const id = (r: ViewRow) => `${String(r.source)}|${String(r.order_id)}`;
  const listed: ViewRow[] = listedRaw.map((r) => Object.fromEntries(Object.entries(r).map(([c, v]) => [c, canon(c, v)])));
  const byId = new Map(candidates.map((r) => [id(r), r]));
  expect(listed, `${label}: values`).toEqual(listed.map((r) => byId.get(id(r)) ?? `${id(r)} is no non-cancelled order of the test`));
  const ids = new Set(listed.map(id));
  const cents = (rs: ViewRow[]) => rs.map((r) => toCents(String(r.amount)));
  const minIn = cents(listed).reduce((a, b) => (b < a ? b : a), 2n ** 63n);
  const out = candidates.filter((r) => !ids.has(id(r))).sort((a, b) => (toCents(String(b.amount)) > toCents(String(a.amount)) ? 1 : -1));
  if (listed.length && out[0]) expect(toCents(String(out[0].amount)), `${label}: ${id(out[0])} (${String(out[0].amount)}) is not listed but as high as a listed one`).toBeLessThan(minIn);
}

/**
 * A start day whose dataset (from `lookbackDays` before it) begins in the month after the latest
 * order or event date in analytics (and after 2086, beyond freshTestDay's years). So the test's dates
 * are the database's latest (top_products_last_month's window ends at the latest order date of the
 * whole database), and its dates and months hold no other run's rows.
 */
export async function latestTestDay(analytics: Pool, lookbackDays: number): Promise<string> {
  const { rows } = await analytics.query<{ d: string }>(`select to_char(date_trunc('month', greatest((select max(order_date) from orders_by_date),
    (select max(event_date) from daily_traffic), (select max(order_date) from fact_order_line), date '2086-01-01')) + interval '1 month', 'YYYY-MM-DD') d`);
  const day = new Date(Date.parse(rows[0]!.d) + (lookbackDays + randomInt(0, 10)) * 86_400_000);
  if (day.getUTCFullYear() > 9000) throw new Error(`analytics holds dates up to ${rows[0]!.d}: clear old test rows (orders_by_date, fact_event) before running the metrics test`);
  return day.toISOString().slice(0, 10);
}
