/**
 * mergeEvents COPYs new events straight into staging.events after looking up which ids it holds
 * already. A load in another transaction may commit one of the same event_ids in between: the COPY
 * then fails on the primary key, and the range falls back to ON CONFLICT DO NOTHING inside the same
 * transaction. Both paths keep the earlier offset of a repeated id and report only the new events.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeEvents, type MergedEvent } from '../../activities/events/load';
import { testEnv, type TestEnv } from '../support/env';

describe('merging events into staging (real PostgreSQL)', () => {
  let env: TestEnv;
  let tag: string;
  beforeAll(async () => {
    env = await testEnv('events-merge');
    tag = `em${randomUUID().slice(0, 6)}`;
  });
  afterAll(async () => env?.close());

  const event = (id: string, offset: number): MergedEvent => ({
    eventId: `${tag}-${id}`, eventName: 'view', userId: 'u1', sessionId: 's1', productId: null, orderId: null, price: null,
    ts: new Date('2026-09-01T10:00:00Z'), partition: 0, offset: String(offset),
  } as unknown as MergedEvent);
  const stored = async () => (await env.deps.staging.query<{ event_id: string; kafka_offset: string; load_id: string }>(
    'select event_id, kafka_offset::text, load_id from staging.events where event_id like $1 order by event_id', [`${tag}-%`])).rows;

  it('loads new events, keeps the first offset of an id repeated in the batch, and skips the ids already stored', async () => {
    const c = await env.deps.staging.connect();
    try {
      await c.query('begin');
      expect((await mergeEvents(c, [event('a', 1), event('b', 2), event('a', 3)], 'load-1')).map((e) => e.offset)).toEqual(['1', '2']);
      await c.query('commit');
      await c.query('begin');
      expect((await mergeEvents(c, [event('b', 4), event('c', 5)], 'load-2')).map((e) => e.eventId)).toEqual([`${tag}-c`]);
      await c.query('commit');
    } finally {
      c.release();
    }
    expect(await stored()).toEqual([
      { event_id: `${tag}-a`, kafka_offset: '1', load_id: 'load-1' },
      { event_id: `${tag}-b`, kafka_offset: '2', load_id: 'load-1' },
      { event_id: `${tag}-c`, kafka_offset: '5', load_id: 'load-2' },
    ]);
  });

  it('falls back to ON CONFLICT when another transaction commits one of its ids after the lookup', async () => {
    const other = await env.deps.staging.connect();
    const c = await env.deps.staging.connect();
    try {
      await other.query('begin');
      await mergeEvents(other, [event('x', 10)], 'other-load'); // not committed yet: invisible to the lookup
      await c.query('begin');
      const pid = (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const merging = mergeEvents(c, [event('x', 20), event('y', 21)], 'this-load'); // its COPY waits on x's key
      // Commit only once this COPY waits on the other transaction: the lookup has missed x for sure.
      await expect.poll(async () => (await env.deps.staging.query<{ w: string | null }>('select wait_event_type as w from pg_stat_activity where pid = $1', [pid])).rows[0]?.w,
        { timeout: 10_000, interval: 50 }).toBe('Lock');
      await other.query('commit');
      expect((await merging).map((e) => e.eventId)).toEqual([`${tag}-y`]);
      await c.query('commit');
    } finally {
      other.release();
      c.release();
    }
    const rows = await stored();
    expect(rows.filter((r) => r.event_id.endsWith('-x') || r.event_id.endsWith('-y'))).toEqual([
      { event_id: `${tag}-x`, kafka_offset: '10', load_id: 'other-load' },
      { event_id: `${tag}-y`, kafka_offset: '21', load_id: 'this-load' },
    ]);
  });
});
