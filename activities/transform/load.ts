/**
 * Enrich + aggregate + load: rebuilds one date partition of the analytics database (facts, then
 * metrics) in ONE transaction, from the work layer. The SQL lives in sql/analytics (work.load_facts,
 * work.refresh_metrics), one readable function per stage. Delete-then-insert of a date's order
 * lines and metrics, and its events brought up to the work layer (whose rows never change), make a
 * re-run or a retry leave identical rows; a per-date advisory lock stops two partitions that touch
 * the same date from interleaving their deletes and inserts. The data checks (checks.ts) run
 * inside that transaction, before it commits: a blocking one that fails keeps the previous version.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import type { DataCheck } from '../../lib/data-checks';
import { rethrowClassified } from '../../lib/errors';
import { activityLog } from '../common/heartbeat';
import { analyzeTables, outdatedSince, partitionedOutdated, tablesToAnalyze, underestimatedDates, writeMark } from '../common/statistics';
import { inTransaction } from '../common/transaction';
import { DataCheckFailed, orphanFactResult, raiseCheckAlerts, recordResults, runChecks, type CheckResult, type CheckRun } from './checks';

/** date is a UTC day YYYY-MM-DD; partition names the transform run, for error messages. */
export interface LoadDateInput { date: string; partition: string }
/**
 * snapshot: the first statement's snapshot; pending marks visible in it are covered by this load (clearPendingDates).
 * checks: how many data checks passed, warned (published anyway) and were skipped (too little data to judge).
 * dimsInferred: dimension rows the date's inferred customers and products inserted or renamed (absent when none).
 * dimsPending: some load's inferred rows (this one's, or an earlier one's) are in no curated dimension snapshot yet (work.dims_pending).
 */
export interface LoadDateOutput {
  date: string; orderLines: number; events: number; orders: number; snapshot?: string; dimsInferred?: number; dimsPending?: true;
  checks?: { passed: number; warned: number; skipped: number };
}

/** What the data checks need: the checks, staging (its checks and the alerts) and who runs them. */
export interface DateChecks { checks: readonly DataCheck[]; staging: Pool; run: CheckRun }

/**
 * The fact tables a date load writes in bulk, analyzed after it when it changed them past
 * autovacuum's threshold or their statistics underestimate the date's rows (statistics.ts):
 * fact_event's partition of the date (sql/analytics/071) and fact_order_line.
 */
const LINE_DATES = { table: 'public.fact_order_line', column: 'order_date' };

/**
 * A query over every date of fact_event (one customer's behaviour, the churn features) locks each
 * date's partition and its four indexes: about 5 locks per date, held to the end of its transaction,
 * in a shared lock table of max_locks_per_transaction × (max_connections + max_prepared_transactions)
 * entries (12,800 with PostgreSQL's defaults). The warning names the setting once four such queries
 * at once would fill it, before "out of shared memory" does. null when there is room.
 */
export function lockTableWarning(dates: number, maxLocks: number, connections: number): string | null {
  const perQuery = 5 * dates;
  const slots = maxLocks * connections;
  if (4 * perQuery <= slots) return null;
  const enough = Math.ceil((4 * perQuery) / connections / 64) * 64;
  return `fact_event has ${dates} date partitions: a query across all of them takes about ${perQuery} locks, and the lock table holds ${slots} `
    + `(max_locks_per_transaction ${maxLocks} × ${connections} connections), so a few such queries at once can fail with "out of shared memory". `
    + `Raise max_locks_per_transaction to ${enough} or more (a restart), or drop or detach old dates' partitions (docs/transform.md)`;
}

export async function loadDate(analytics: Pool, input: LoadDateInput, gate?: DateChecks): Promise<LoadDateOutput> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.date)) rethrowClassified(new TypeError(`date must be YYYY-MM-DD, got ${input.date}`), `transform ${input.partition}`);
  let results: CheckResult[] = [];
  let outdated: string[] = [];
  let newDate = false; // this load built the date's fact_event partition
  try {
    const out: LoadDateOutput = await inTransaction(analytics, async (client) => {
      await client.query(`select pg_advisory_xact_lock(hashtext('transform-date:' || $1))`, [input.date]);
      // Every extract committed by now is seen by the statements below (each takes a newer snapshot).
      const snap = await client.query<{ s: string }>('select pg_current_snapshot()::text as s');
      // The date's fact_event partition. A date's first load builds it and analyzes it before reading
      // it (work.load_events), or has no events and builds none: either way it needs no check below.
      const part = (await client.query<{ name: string; existed: boolean }>(
        `select 'partitions.' || work.event_partition($1::date) as name, to_regclass('partitions.' || work.event_partition($1::date)) is not null as existed`, [input.date])).rows[0];
      const facts = [...(part?.existed ? [{ table: part.name, column: 'event_date' }] : []), LINE_DATES];
      const mark = await writeMark(client, facts.map((f) => f.table));
      // Rows infer_dimensions wrote (this transaction's own counters): the curated dimension
      // snapshot must be written again when a date adds an inferred customer or product.
      const dimWrites = async () => Number((await client.query<{ n: string }>(
        `select coalesce(sum(n_tup_ins + n_tup_upd), 0) as n from pg_stat_xact_user_tables where schemaname = 'public' and relname in ('dim_customer', 'dim_product')`)).rows[0]?.n ?? 0);
      const dimsBefore = await dimWrites();
      await client.query('select work.infer_dimensions($1::date)', [input.date]);
      const dimsInferred = (await dimWrites()) - dimsBefore;
      // The mark commits with the load, so it outlives a lost result or a run that fails before its snapshot.
      if (dimsInferred > 0) await client.query('insert into work.dims_pending (load_date, rows) values ($1::date, $2)', [input.date, dimsInferred]);
      const dimsPending = (await client.query('select 1 from work.dims_pending limit 1')).rows.length > 0;
      await client.query('select work.load_facts($1::date)', [input.date]);
      await client.query('select work.refresh_metrics($1::date)', [input.date]);
      const { rows } = await client.query<{ lines: string; events: string; orders: string }>(
        `select (select count(*) from fact_order_line where order_date = $1) as lines,
                (select count(*) from fact_event where event_date = $1) as events,
                (select coalesce(sum(orders), 0) from orders_by_date where order_date = $1) as orders`,
        [input.date],
      );
      // The gate: the date commits only if no blocking check fails (the throw rolls it back).
      if (gate) {
        results = await runChecks(client, gate.staging, gate.checks, input.date);
        if (results.some((c) => c.status === 'fail')) throw new DataCheckFailed(input.date, results);
        await recordResults(client, gate.run, input.date, results, true);
      }
      // This load built the date's partition (a date without events gets none: work.load_events).
      newDate = part?.existed === false && (await client.query<{ built: boolean }>('select to_regclass($1) is not null as built', [part.name])).rows[0]?.built === true;
      // Before the lock below, which every date's load waits for: the facts are written by now.
      // fact_event's own statistics (read across dates), which a new date's partition can leave
      // behind, are the date's curated write's to refresh (analyzeFactEvent), beside its reads.
      outdated = await tablesToAnalyze(client, async () => {
        const past = await outdatedSince(client, mark);
        return [...past, ...await underestimatedDates(client, facts.filter((f) => !past.includes(f.table)), [input.date])];
      }, (m) => activityLog().warn(`loading ${input.date}: ${m}`));
      // Last: its lock (dates relink customers' order days one at a time) is held until the commit.
      await client.query('select work.refresh_customer_days($1::date)', [input.date]);
      const r = rows[0];
      return { date: input.date, orderLines: Number(r?.lines ?? 0), events: Number(r?.events ?? 0), orders: Number(r?.orders ?? 0), snapshot: snap.rows[0]?.s,
        ...(dimsInferred > 0 ? { dimsInferred } : {}), ...(dimsPending ? { dimsPending: true as const } : {}) };
    });
    // The date's curated read comes next, and the next dates' loads: they plan with statistics that
    // have seen this date's rows. Only an optimisation, so a failure is a warning.
    await analyzeTables(analytics, outdated)
      .catch((e: unknown) => activityLog().warn(`analyze after loading ${input.date} failed (autovacuum will do it later): ${e instanceof Error ? e.message : String(e)}`));
    if (newDate) {
      // Advice only: a failure to ask costs the warning, not the load.
      const room = (await analytics.query<{ dates: number; locks: number; connections: number }>(
        `select (select count(*) from pg_inherits where inhparent = 'public.fact_event'::regclass)::int as dates, current_setting('max_locks_per_transaction')::int as locks,
                current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int as connections`).catch(() => undefined))?.rows[0];
      const warning = room ? lockTableWarning(room.dates, room.locks, room.connections) : null;
      if (warning) activityLog().warn(warning);
    }
    if (gate) {
      // Published: an alert that cannot be written now must not fail (and so rebuild) the date again.
      await raiseCheckAlerts(gate.staging, analytics, gate.run, input.date, results, true)
        .catch((e: unknown) => activityLog().warn(`data-check warnings of ${input.date} were not raised as alerts (data_checks has them): ${e instanceof Error ? e.message : String(e)}`));
      const n = (s: string) => results.filter((c) => c.status === s).length;
      out.checks = { passed: n('pass'), warned: n('warn'), skipped: n('skip') };
    }
    return out;
  } catch (err) {
    const orphan = gate ? orphanFactResult(err) : undefined;
    if (gate && (err instanceof DataCheckFailed || orphan)) {
      const blocked = err instanceof DataCheckFailed ? err : new DataCheckFailed(input.date, [orphan as CheckResult]);
      // Rolled back: the date keeps its previous version. The alert and the results say why, then
      // the run fails. Both are tried; if either fails the attempt is retried (and blocked again).
      const written = await Promise.allSettled([
        raiseCheckAlerts(gate.staging, analytics, gate.run, input.date, blocked.results, false),
        recordResults(analytics, gate.run, input.date, blocked.results, false),
      ]);
      const lost = written.find((w): w is PromiseRejectedResult => w.status === 'rejected');
      if (lost) rethrowClassified(lost.reason, `transform ${input.partition}: analytics date ${input.date} was blocked by a data check, but recording it failed`);
      throw ApplicationFailure.nonRetryable(`transform ${input.partition}: ${blocked.message}. Fix the data or the check's threshold (docs/data-checks.md), then re-run the partition`, 'DataCheckFailed');
    }
    // A constraint violation here (e.g. a fact whose dimension row is missing) is a bug, not bad
    // data: classified non-retryable, naming the date and the run so it can be found and re-run.
    rethrowClassified(err, `transform ${input.partition}: loading analytics date ${input.date} failed (re-run the partition after fixing the cause)`);
  }
}

/**
 * ANALYZE of fact_event as a whole when its partitions hold 10 % more rows than its statistics
 * count, or it has none (partitionedOutdated): a date's new partition leaves them behind, and
 * autovacuum never keeps them for a partitioned table. It analyzes every partition again too (1.6 s
 * after a busy scale-10 date on a fresh database), so the transform runs it beside the date's
 * curated reads, on the other core, instead of before them. Only an optimisation: a failure is a
 * warning.
 */
export async function analyzeFactEvent(analytics: Pool): Promise<void> {
  let client: PoolClient | undefined;
  let locked = false;
  try {
    client = await analytics.connect();
    // One at a time: four dates' curated writes could all find the statistics behind at once, and
    // each ANALYZE reads every partition. One that finds another running leaves it to that one.
    locked = (await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(hashtext('analyze:fact_event')) as ok`)).rows[0]?.ok === true;
    if (!locked) return;
    // Again while behind (a few passes at most): a date that committed while a pass read the
    // partitions, and skipped because this one held the lock, is covered by the next pass.
    for (let pass = 0; pass < 3; pass++) {
      const tables = await partitionedOutdated(client, ['public.fact_event']);
      if (tables.length === 0) break;
      // On this connection: another from the pool while this one waits could time out under load.
      await analyzeTables(client, tables);
    }
  } catch (e) {
    activityLog().warn(`analyze of fact_event as a whole failed (queries across dates plan with older statistics until it runs): ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    // A session lock that cannot be released must not go back to the pool with its connection.
    const unlocked = !locked || await client?.query(`select pg_advisory_unlock(hashtext('analyze:fact_event'))`).then(() => true, () => false);
    client?.release(unlocked ? undefined : true);
  }
}

/**
 * Clears a date's pending marks (work.pending_dates) that a load with `snapshot` could see: called
 * once the date's analytics and curated copies are both written. Marks of extracts that committed
 * after the load began stay, and their run (or the next) rebuilds the date again.
 */
export async function clearPendingDates(analytics: Pool, date: string, snapshot: string): Promise<number> {
  const { rowCount } = await analytics.query('delete from work.pending_dates where date = $1::date and pg_visible_in_snapshot(xid, $2::pg_snapshot)', [date, snapshot]);
  return rowCount ?? 0;
}
