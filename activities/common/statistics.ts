/**
 * Planner statistics after a bulk write. Autovacuum analyzes a table once 50 rows + 10 % of it have
 * changed, but only at its next look (a minute apart by default), so the statements right after a
 * big load plan with statistics that have never seen the new rows: a new date of a million events
 * estimated at one row, read by nested loops over both dimensions and sorted on disk (the curated
 * `user_behavior` read of a busy date took 5.6 s so, and 1.9 s after an ANALYZE: docs/transform.md).
 * A writer asks, before its commit, which tables its own transaction changed past that threshold,
 * and analyzes them right after the commit. Never inside the transaction: ANALYZE's lock conflicts
 * with itself, so loads running side by side would wait for each other's commits.
 */
import type { Pool, PoolClient } from 'pg';

/** Of `tables` (schema-qualified), those this transaction changed by more than autovacuum's analyze threshold. */
export async function outdatedByThisTransaction(client: PoolClient, tables: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select x.schemaname || '.' || x.relname as name
     from pg_stat_xact_user_tables x join pg_class c on c.oid = x.relid
     where x.schemaname || '.' || x.relname = any($1::text[])
       and x.n_tup_ins + x.n_tup_upd + x.n_tup_del > 50 + 0.1 * greatest(c.reltuples, 0)
     order by 1`,
    [tables],
  );
  return rows.map((r) => r.name);
}

/** ANALYZE each table (names from outdatedByThisTransaction), one statement each, outside any transaction. */
export async function analyzeTables(pool: Pool, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(t)) throw new TypeError(`not a plain schema-qualified table name: ${t}`);
    await pool.query(`analyze ${t}`);
  }
}
