/**
 * Planner statistics after a bulk write. Autovacuum analyzes a table once 50 rows + 10 % of it have
 * changed, but only at its next look (a minute apart by default), so the statements right after a
 * big load plan with statistics that have never seen the new rows: a new date of a million events
 * estimated at one row, read by nested loops over both dimensions and sorted on disk (the curated
 * `user_behavior` read of a busy date took 5.6 s so, and 1.9 s after an ANALYZE: docs/transform.md).
 * A writer asks, before its commit, which tables its transaction changed past that threshold,
 * and analyzes them right after the commit. Never inside the transaction: ANALYZE's lock conflicts
 * with itself, so loads running side by side would wait for each other's commits. (The one
 * exception is not made here: a date's fact_event partition, built and analyzed inside the load's
 * transaction before anyone else can see it, work.load_events in sql/analytics/code/020.)
 *
 * The threshold alone misses the case that matters most once a table holds many dates: a new date
 * is a few percent of it, so nothing is analyzed, and while the table's dates all sit in the
 * statistics' most-common-values list (up to 100 of them), a date outside it is estimated at about
 * one row. So a writer also names the dates it wrote, and a table whose statistics underestimate a
 * date's rows by more than 4× (1,000 rows or more) is analyzed too.
 */
import type { Pool, PoolClient } from 'pg';

/** A schema-qualified table name made of plain lower-case identifiers: the only kind put into SQL here. */
const PLAIN_TABLE = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/**
 * Rows this connection has inserted, updated and deleted in each of `tables` (schema-qualified) and
 * not yet reported. `pg_stat_xact_user_tables` holds the backend's pending counters, which include
 * earlier transactions' until they are flushed (checked on PostgreSQL 17), so a writer takes this
 * mark when its transaction begins and compares against it (outdatedSince).
 */
export async function writeMark(client: PoolClient, tables: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ name: string; n: string }>(
    `select t.name, coalesce(x.n_tup_ins + x.n_tup_upd + x.n_tup_del, 0) as n
     from unnest($1::text[]) t(name) left join pg_stat_xact_user_tables x on x.schemaname || '.' || x.relname = t.name`,
    [tables],
  );
  return new Map(rows.map((r) => [r.name, Number(r.n)]));
}

/** Of the mark's tables, those written since it by more than autovacuum's analyze threshold (50 rows + 10 % of the planner's count). */
export async function outdatedSince(client: PoolClient, mark: ReadonlyMap<string, number>): Promise<string[]> {
  const now = await writeMark(client, [...mark.keys()]);
  const { rows } = await client.query<{ name: string; reltuples: number }>(
    `select t.name, greatest(c.reltuples, 0)::float8 as reltuples from unnest($1::text[]) t(name) join pg_class c on c.oid = to_regclass(t.name)`,
    [[...mark.keys()]],
  );
  return rows.filter((r) => (now.get(r.name) ?? 0) - (mark.get(r.name) ?? 0) > 50 + 0.1 * r.reltuples).map((r) => r.name).sort();
}

/** A table and its date column, as `underestimatedDates` checks them. */
export interface DateColumn { table: string; column: string }

/** The planner's row estimate for `sql` (EXPLAIN, not run). */
async function estimate(client: PoolClient, sql: string): Promise<number> {
  const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(`explain (format json) ${sql}`);
  return rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0;
}

/**
 * Of `columns`, the tables whose statistics underestimate the rows of one of `dates` (as this
 * transaction sees them) more than 4×, where the date holds at least 1,000 rows. Each check is an
 * EXPLAIN and, for a date estimated under 100,000 rows (one planned as big is planned well enough),
 * a count over the date's index that stops at 4× the estimate.
 */
export async function underestimatedDates(client: PoolClient, columns: readonly DateColumn[], dates: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const { table, column } of columns) {
    if (!PLAIN_TABLE.test(table) || !/^[a-z_][a-z0-9_]*$/.test(column)) throw new TypeError(`not a plain table and column: ${table}.${column}`);
    for (const d of dates) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new TypeError(`not a date: ${d}`);
      const where = `from ${table} where ${column} = '${d}'::date`;
      const planned = await estimate(client, `select 1 ${where}`);
      if (planned >= 100_000) continue;
      const enough = Math.max(1000, Math.floor(4 * planned) + 1);
      const seen = Number((await client.query<{ n: string }>(`select count(*) as n from (select 1 ${where} limit ${enough}) t`)).rows[0]?.n ?? 0);
      if (seen >= enough) {
        out.push(table);
        break;
      }
    }
  }
  return out;
}

/**
 * Of `tables`, the partitioned ones (fact_event: sql/analytics/071) whose own statistics are missing
 * or count 10 % fewer rows than their partitions hold now. A query across many partitions (one
 * customer over every date, the churn features) plans with these, and autovacuum never analyzes a
 * partitioned table, only its partitions: this is autovacuum's rule (50 rows + 10 %) for the table
 * as a whole. ANALYZE of a partitioned table analyzes every partition again as well (2 s for
 * 1,095 partitions of 1,000 rows in psql; a scale-10 date's partition alone takes about 0.2 s), so
 * a date's partition is analyzed on its own, and the whole only this seldom.
 */
export async function partitionedOutdated(client: PoolClient, tables: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select t.name from unnest($1::text[]) t(name) join pg_class p on p.oid = to_regclass(t.name) and p.relkind = 'p'
     where p.reltuples < 0
        or (select coalesce(sum(greatest(c.reltuples, 0)), 0) from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = p.oid) > 50 + 1.1 * p.reltuples`,
    [tables],
  );
  return rows.map((r) => r.name).sort();
}

/**
 * Runs a writer's statistics checks (outdatedSince, underestimatedDates) in a savepoint of its
 * transaction: statistics are an optimisation, so a check that fails (a statement timeout, say)
 * costs its answer, reported to `warn`, and not the writer's transaction.
 */
export async function tablesToAnalyze(client: PoolClient, check: () => Promise<string[]>, warn: (message: string) => void): Promise<string[]> {
  await client.query('savepoint statistics_check');
  try {
    const tables = await check();
    await client.query('release savepoint statistics_check');
    return tables;
  } catch (err) {
    await client.query('rollback to savepoint statistics_check');
    warn(`the statistics check failed, so nothing is analyzed now (autovacuum will): ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}

/**
 * ANALYZE each table (names from outdatedSince, underestimatedDates or partitionedOutdated), each in
 * a statement of its own outside a transaction block, waiting at most 10 s for each lock (a manual
 * VACUUM or an index build holds it longer). A table the role may not analyze is only a WARNING in
 * PostgreSQL: it is thrown here, so the caller can say so. Given a connection (not in a transaction
 * block), it analyzes on that one: a caller holding a session lock needs no second connection. Its
 * lock_timeout is reset to the session's default afterwards.
 */
export async function analyzeTables(from: Pool | PoolClient, tables: readonly string[]): Promise<void> {
  const own = 'release' in from ? from : undefined;
  for (const t of tables) if (!PLAIN_TABLE.test(t)) throw new TypeError(`not a plain schema-qualified table name: ${t}`);
  const problems: string[] = [];
  for (const t of tables) {
    // Each table is tried whatever became of the one before.
    const warnings: string[] = [];
    // `severity` is localised with lc_messages; `message` names the table in any language.
    const heard = (n: { severity?: string; message?: string }) => {
      if (n.severity !== 'NOTICE' && n.severity !== 'LOG' && n.severity !== 'DEBUG' && n.severity !== 'INFO') warnings.push(n.message ?? '');
    };
    // Outside a transaction block: ANALYZE of a partitioned table (fact_event) then takes each
    // partition in a transaction of its own, instead of holding every partition's lock to the end.
    const client = own ?? await (from as Pool).connect().catch((e: unknown) => {
      warnings.push(e instanceof Error ? e.message : String(e));
      return undefined;
    });
    if (client) {
      let broken: Error | undefined;
      client.on('notice', heard);
      try {
        await client.query(`set lock_timeout = '10s'`);
        await client.query(`analyze ${t}`);
      } catch (e) {
        warnings.push(e instanceof Error ? e.message : String(e));
      } finally {
        client.off('notice', heard);
        await client.query('reset lock_timeout').catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
        if (!own) client.release(broken);
        // The caller's connection is lost: the tables left cannot be analyzed on it.
        else if (broken) throw new Error([...problems, `analyze ${t}: ${[...warnings, broken.message].join('; ')}`].join('; '));
      }
    }
    if (warnings.length) problems.push(`analyze ${t}: ${warnings.join('; ')}`);
  }
  if (problems.length) throw new Error(problems.join('; '));
}
