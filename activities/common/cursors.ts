/**
 * The live incremental cursors (etl.cursors). Written in a load's transaction, so the cursor says
 * exactly how far committed data goes; it only ever moves forward, so a late retry of an older
 * partition cannot pull it back. Backfills never call this.
 */
import type { PoolClient } from 'pg';

/** `value` is an ISO 8601 instant: the end of the window that was loaded. */
export interface CursorAdvance { pipeline: string; source: string; column: string; value: string }

export async function advanceCursor(client: PoolClient, c: CursorAdvance): Promise<void> {
  const value = new Date(c.value).toISOString();
  await client.query(
    `insert into etl.cursors (pipeline, source, cursor_column, last_value) values ($1, $2, $3, $4)
     on conflict (pipeline, source) do update set
       cursor_column = excluded.cursor_column,
       last_value = case when excluded.last_value::timestamptz > etl.cursors.last_value::timestamptz
                         then excluded.last_value else etl.cursors.last_value end,
       updated_at = now()`,
    [c.pipeline, c.source, c.column, value],
  );
}

export async function readCursor(client: Pick<PoolClient, 'query'>, pipeline: string, source: string): Promise<string | null> {
  const { rows } = await client.query<{ last_value: string }>('select last_value from etl.cursors where pipeline = $1 and source = $2', [pipeline, source]);
  return rows[0]?.last_value ?? null;
}
