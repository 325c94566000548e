/**
 * Blocking data checks (docs/data-checks.md): run on an analytics date inside the transaction that
 * rebuilt it, before it commits. A blocking check that fails rolls the date back (its previous
 * version stays, the curated copy is not rewritten), records the results, raises a `data_check`
 * alert naming the check, the date and the numbers, and fails the activity non-retryably, so the run
 * fails. A warning check that fails publishes and raises the alert. Every result goes to
 * analytics.data_checks. The checks themselves are SQL files in sql/checks (lib/data-checks.ts).
 */
import type { Pool, PoolClient } from 'pg';
import { boundQuery, type DataCheck, type Severity } from '../../lib/data-checks';
import { insertAlert } from '../common/alerts';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
export interface CheckResult {
  check: string;
  severity: Severity;
  status: CheckStatus;
  observed: string | null;
  expected: string | null;
  detail: string;
}

/** Who ran the checks: the transform run (`<workflowId>/<runId>`), for data_checks.run_id and the alert ids. */
export interface CheckRun { workflowId: string; runId: string }

/** The constraint of a fact's foreign key to its dimension (fact_order_line_customer_id_fkey …). */
const DIMENSION_FK = /^fact_[a-z_]+_(customer|product)_id_fkey$/;

/** A blocking check failed: the date's transaction is rolled back. */
export class DataCheckFailed extends Error {
  constructor(public readonly date: string, public readonly results: CheckResult[]) {
    const failed = results.filter((r) => r.status === 'fail');
    super(`analytics date ${date} not published: blocking data check${failed.length > 1 ? 's' : ''} failed: ${failed.map((r) => `${r.check} (${r.detail})`).join('; ')}`);
    this.name = 'DataCheckFailed';
  }
}

function statusOf(ok: boolean | null, severity: Severity): CheckStatus {
  if (ok === null) return 'skip';
  if (ok) return 'pass';
  return severity === 'blocking' ? 'fail' : 'warn';
}

/** Runs every check on `date`: analytics ones on `client` (the date's transaction), staging ones on `staging`. */
export async function runChecks(client: PoolClient, staging: Pool, checks: readonly DataCheck[], date: string): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const check of checks) {
    const q = boundQuery(check, date);
    const db = check.database === 'staging' ? staging : client;
    const { rows } = await db.query<{ ok: boolean | null; observed: string | null; expected: string | null; detail: string | null }>(q.text, q.values);
    const r = rows[0];
    if (!r || rows.length !== 1) throw new Error(`data check ${check.name} returned ${rows.length} rows for ${date}; a check returns exactly one`);
    out.push({ check: check.name, severity: check.severity, status: statusOf(r.ok, check.severity), observed: r.observed, expected: r.expected, detail: r.detail ?? '' });
  }
  return out;
}

/**
 * A fact refused by its dimension foreign key (sqlstate 23503) is the facts_have_dimensions check
 * failing before it could run: recorded as its result, so the same alert and row say why.
 */
export function orphanFactResult(err: unknown): CheckResult | undefined {
  const e = err as { code?: string; constraint?: string; detail?: string; message?: string } | null;
  if (e?.code !== '23503' || !e.constraint || !DIMENSION_FK.test(e.constraint)) return undefined;
  return {
    check: 'facts_have_dimensions', severity: 'blocking', status: 'fail', observed: '1', expected: '0',
    detail: `a fact row has no dimension row: ${e.constraint} refused it (${e.detail ?? e.message ?? 'no detail'})`,
  };
}

/** Writes the results of one date's checks (inside the date's transaction, or on their own when it rolled back). */
export async function recordResults(db: Pool | PoolClient, run: CheckRun, date: string, results: readonly CheckResult[], published: boolean): Promise<void> {
  if (results.length === 0) return;
  await db.query(
    // clock_timestamp, not the transaction's start: a result written after a rollback must not sort
    // before the pass of a run that started earlier but committed later (data_checks_latest).
    `insert into data_checks (check_date, check_name, run_id, severity, status, observed, expected, detail, published, checked_at)
     select $1::date, r.check_name, $2, r.severity, r.status, r.observed, r.expected, r.detail, $3, clock_timestamp()
     from unnest($4::text[], $5::text[], $6::text[], $7::numeric[], $8::numeric[], $9::text[]) as r(check_name, severity, status, observed, expected, detail)
     on conflict (check_date, check_name, run_id) do update
       set severity = excluded.severity, status = excluded.status, observed = excluded.observed, expected = excluded.expected,
           detail = excluded.detail, published = excluded.published, checked_at = excluded.checked_at`,
    [date, `${run.workflowId}/${run.runId}`, published,
      results.map((r) => r.check), results.map((r) => r.severity), results.map((r) => r.status),
      results.map((r) => r.observed), results.map((r) => r.expected), results.map((r) => r.detail)],
  );
}

/** The alert id of one check on one date in one run: a retried activity raises it once. */
export const checkAlertId = (run: CheckRun, date: string, check: string) => `${run.workflowId}/${run.runId}/data_check/${date}/${check}`;

/**
 * One `data_check` alert per failed or warned check, in staging's etl.alerts (the schedule monitor
 * sends it to the webhook), unless the check's previous result on that date, by another run, had the
 * same status: a date that stays blocked run after run is alerted once, and again after it passed.
 */
export async function raiseCheckAlerts(staging: Pool, analytics: Pool, run: CheckRun, date: string, results: readonly CheckResult[], published: boolean): Promise<string[]> {
  const bad = results.filter((x) => x.status === 'fail' || x.status === 'warn');
  if (bad.length === 0) return [];
  const { rows } = await analytics.query<{ check_name: string; status: string }>(
    `select distinct on (check_name) check_name, status from data_checks
     where check_date = $1::date and run_id <> $2 and check_name = any($3) order by check_name, checked_at desc`,
    [date, `${run.workflowId}/${run.runId}`, bad.map((r) => r.check)]);
  const before = new Map(rows.map((r) => [r.check_name, r.status]));
  const ids: string[] = [];
  for (const r of bad.filter((x) => before.get(x.check) !== x.status)) {
    const alertId = checkAlertId(run, date, r.check);
    const outcome = published ? 'published with a warning' : 'NOT published, its previous version kept';
    await insertAlert(staging, {
      alertId, pipeline: 'transform', partitionStart: `${date}T00:00:00Z`, kind: 'data_check',
      message: `data check ${r.check} ${r.status === 'fail' ? 'failed' : 'warned'} on analytics date ${date} (${outcome}): ${r.detail} [observed ${r.observed ?? '-'}, expected ${r.expected ?? '-'}]`,
      workflowId: run.workflowId, runId: run.runId,
    });
    ids.push(alertId);
  }
  return ids;
}
