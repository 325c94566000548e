/**
 * runLoad against a real staging database, at the edge of its pool: as many loads failing at once
 * as the pool has connections. Each must give its connection back before it records its failure
 * through another one, or the pool is full of loads waiting for a ninth connection, forever.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { makePool } from '../../lib/clients';
import { runLoad } from '../../activities/common/loads';

const POOL = 8;
const staging = makePool(loadConfig(), 'staging', POOL);
afterAll(async () => staging.end());

describe('runLoad at a full pool', () => {
  it(`${POOL} loads failing at once all fail with their own error, and each failure is recorded`, async () => {
    const tag = randomUUID().slice(0, 8);
    let entered = 0;
    let allIn!: () => void;
    const barrier = new Promise<void>((r) => (allIn = r));
    const loads = Array.from({ length: POOL }, (_, i) => runLoad(staging, { loadId: `test/${tag}/${i}`, pipeline: 'test', source: 'loads' }, async (client) => {
      await client.query('select 1');
      // Every load holds its connection before any fails: the pool is full when the failures are recorded.
      if (++entered === POOL) allIn();
      await barrier;
      throw new Error(`planted failure ${i}`);
    }));
    const settled = await Promise.allSettled(loads);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : 'fulfilled'))).toEqual(Array.from({ length: POOL }, (_, i) => `planted failure ${i}`));
    const { rows } = await staging.query<{ load_id: string; status: string; error: string }>(
      "select load_id, status, detail->>'error' as error from etl.loads where load_id like $1 order by load_id", [`test/${tag}/%`]);
    expect(rows).toEqual(Array.from({ length: POOL }, (_, i) => ({ load_id: `test/${tag}/${i}`, status: 'failed', error: `planted failure ${i}` })));
    // Nothing is left checked out.
    expect([staging.totalCount - staging.idleCount, staging.waitingCount]).toEqual([0, 0]);
  });
});

describe('a pooled connection the server ends', () => {
  it('a checked-out connection whose server ends it between queries fails its next query, is discarded on release, and the process goes on', async () => {
    // What a PostgreSQL restart does to a connection an activity holds (bench/chaos.ts (--faults postgres)):
    // the server sends it a FATAL between two queries. Unheard, that 'error' event kills the worker
    // (here: vitest reports an unhandled error and the run fails).
    const client = await staging.connect();
    const { rows: [me] } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const before = staging.totalCount;
    await staging.query('select pg_terminate_backend($1)', [me?.pid]);
    await new Promise((r) => setTimeout(r, 300)); // the FATAL arrives while no query is running
    await expect(client.query('select 1')).rejects.toThrow();
    client.release(); // not marked broken by the caller: the pool must see it is and drop it
    expect(staging.totalCount).toBe(before - 1);
    expect((await staging.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
  });
});
