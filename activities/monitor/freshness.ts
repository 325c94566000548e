/**
 * Freshness SLAs (issue 16, docs/operations.md): how old each target's newest data may be, and the
 * check that raises a `stale` alert when a target is late and clears it when it catches up.
 *
 * A target is a staging source (the end of the newest window its pipeline loaded, in etl.loads; for
 * the events stream, its newest range) or a set of analytics tables (the transform's newest extract
 * in work.loads; the realtime loop's newest refresh; the churn model's newest run). Its age is now minus that moment. A target with no data
 * yet is `no_data` and raises nothing: a pipeline never started is not late.
 */
import type { Pool } from 'pg';
import { insertAlert } from '../common/alerts';
import { parseNamedMinutes } from '../../lib/named-minutes';

export interface FreshnessTarget {
  target: string;
  db: 'staging' | 'analytics';
  tables: string[];
  /** Default SLA in minutes: from the cadence (twice it for the partitioned pipelines). */
  defaultMinutes: number;
  /** The newest moment of data, as `at` (timestamptz; null: none). */
  sql: string;
}

/**
 * A windowed pipeline's data reaches the end of the newest window it loaded: max(partition_end), so a
 * backfill or a rebuild of old windows does not make a paused schedule look fresh.
 */
const windowsOf = (pipeline: string) => `select max(partition_end) as at from etl.loads where pipeline = '${pipeline}' and status = 'succeeded' and partition_end <= now()`;
/** The events stream has no windows: its newest successful range. */
const loadsOf = (pipeline: string) => `select max(finished_at) as at from etl.loads where pipeline = '${pipeline}' and status = 'succeeded'`;

export const FRESHNESS_TARGETS: readonly FreshnessTarget[] = [
  { target: 'orders', db: 'staging', tables: ['staging.orders', 'staging.order_lines'], defaultMinutes: 20, sql: windowsOf('orders') },
  { target: 'catalog', db: 'staging', tables: ['staging.products', 'staging.users', 'staging.inventory', 'staging.reviews'], defaultMinutes: 60, sql: windowsOf('catalog') },
  { target: 'files', db: 'staging', tables: ['staging.purchases'], defaultMinutes: 10, sql: windowsOf('files') },
  { target: 'events', db: 'staging', tables: ['staging.events'], defaultMinutes: 5, sql: loadsOf('events') },
  // Hourly at minute 5, plus the run itself: a transform older than 75 minutes missed an hour.
  { target: 'transform', db: 'analytics', tables: ['fact_order_line', 'fact_event', 'the daily metric tables'], defaultMinutes: 75, sql: 'select max(finished_at) as at from work.loads' },
  { target: 'realtime', db: 'analytics', tables: ['realtime_minute', 'realtime_alerts'], defaultMinutes: 5, sql: 'select max(refreshed_at) as at from realtime_minute' },
  // Weekly, plus a day of slack.
  { target: 'churn', db: 'analytics', tables: ['churn_model_runs', 'churn_scores'], defaultMinutes: 8 * 24 * 60, sql: 'select max(created_at) as at from churn_model_runs' },
];

export const FRESHNESS_NAMES = FRESHNESS_TARGETS.map((t) => t.target);

/** Parses ETL_FRESHNESS_MINUTES, e.g. `orders=30,events=2`; throws naming the bad entry. 0 turns a target's check off. */
export function parseFreshnessMinutes(text: string | undefined): Record<string, number> {
  return parseNamedMinutes(text, { variable: 'ETL_FRESHNESS_MINUTES', noun: 'target', names: FRESHNESS_NAMES, zero: 'turns the check off' }) as Record<string, number>;
}

export type FreshnessState = 'fresh' | 'stale' | 'no_data' | 'off';
export interface Freshness { target: string; tables: string[]; lastAt: string | null; ageSeconds: number | null; slaMinutes: number; state: FreshnessState }

/** Pure: a target's state from its newest moment, the time now and its SLA. */
export function judge(lastAt: Date | null, now: Date, slaMinutes: number): { ageSeconds: number | null; state: FreshnessState } {
  if (slaMinutes === 0) return { ageSeconds: lastAt ? (now.getTime() - lastAt.getTime()) / 1000 : null, state: 'off' };
  if (!lastAt) return { ageSeconds: null, state: 'no_data' };
  const ageSeconds = Math.max(0, (now.getTime() - lastAt.getTime()) / 1000);
  return { ageSeconds, state: ageSeconds > slaMinutes * 60 ? 'stale' : 'fresh' };
}

/** Every target's freshness now; `slaMinutes` overrides the defaults. */
export async function readFreshness(pools: { staging: Pool; analytics: Pool }, slaMinutes: Record<string, number> = {}): Promise<Freshness[]> {
  const { rows: [clock] } = await pools.staging.query<{ now: Date }>('select now() as now');
  const now = clock!.now;
  return Promise.all(FRESHNESS_TARGETS.map(async (t) => {
    const { rows: [row] } = await pools[t.db].query<{ at: Date | null }>(t.sql);
    const sla = slaMinutes[t.target] ?? t.defaultMinutes;
    const lastAt = row?.at ?? null;
    return { target: t.target, tables: t.tables, lastAt: lastAt?.toISOString() ?? null, slaMinutes: sla, ...judge(lastAt, now, sla) };
  }));
}

/** The alert of a staleness episode: one per target and newest moment, however often the check runs. */
export const staleAlertId = (f: Freshness) => `freshness/${f.target}/${f.lastAt ?? 'none'}`;

export function staleMessage(f: Freshness): string {
  const age = f.ageSeconds === null ? '?' : f.ageSeconds >= 3600 ? `${(f.ageSeconds / 3600).toFixed(1)} h` : `${Math.round(f.ageSeconds / 60)} min`;
  return `${f.target} is stale: its newest data (${f.tables.join(', ')}) is from ${f.lastAt}, ${age} old, past its SLA of ${f.slaMinutes} min`;
}

export interface CheckFreshnessInput { slaMinutes?: Record<string, number>; workflowId: string; runId: string }
export interface CheckFreshnessOutput { targets: Freshness[]; raised: string[]; cleared: string[] }

/**
 * Raises a `stale` alert for each stale target (one per episode: the id names its newest moment)
 * and clears the open ones of every target that is fresh again. Idempotent: a retry or a second
 * check raises and clears nothing more.
 */
export async function checkFreshness(pools: { staging: Pool; analytics: Pool }, input: CheckFreshnessInput): Promise<CheckFreshnessOutput> {
  const targets = await readFreshness(pools, input.slaMinutes);
  const raised: string[] = [];
  const cleared: string[] = [];
  for (const f of targets) {
    if (f.state === 'stale') {
      const id = staleAlertId(f);
      if (await insertAlert(pools.staging, { alertId: id, pipeline: f.target, kind: 'stale', message: staleMessage(f), workflowId: input.workflowId, runId: input.runId })) raised.push(id);
    }
    // Fresh again (or its check turned off): every open stale alert of the target is cleared. A
    // stale target's older episodes are cleared too: its data moved, then stopped again.
    const { rows } = await pools.staging.query<{ alert_id: string }>(
      `update etl.alerts set cleared_at = now() where kind = 'stale' and pipeline = $1 and cleared_at is null and ($2 or alert_id <> $3) returning alert_id`,
      [f.target, f.state === 'fresh' || f.state === 'off', staleAlertId(f)]);
    cleared.push(...rows.map((r) => r.alert_id));
  }
  return { targets, raised, cleared };
}
