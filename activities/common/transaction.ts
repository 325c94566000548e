/**
 * One transaction on a pooled client: committed when `fn` returns, rolled back when it throws.
 * `begin` is the statement that opens it, e.g. with an isolation level.
 */
import type { Pool, PoolClient } from 'pg';

export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, begin = 'begin'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => undefined); // the client must be clean before release
    throw err;
  } finally {
    client.release();
  }
}
