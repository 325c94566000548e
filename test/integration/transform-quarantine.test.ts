/**
 * The transform's own quarantine rules (activities/transform/sources.ts), fed rows that ingestion
 * would never stage but a hand-written load, an old migration or another writer could: inserted
 * straight into staging. Each must be kept out of the work layer, quarantined with its reason in
 * etl.quarantine and the lake, and counted: the load's `quarantined` equals the rows etl.quarantine
 * holds for it, counted by query.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeKey, safeName, utcDate } from '../../lib/lake';
import { getObjectText } from '../../lib/s3';
import { partitionAt } from '../../workflows/partitions';
import type { TransformOutput } from '../../workflows/transform';
import { testEnv, type TestEnv } from '../support/env';
import { freshTestDay } from '../support/transform-expected';
import { runTransforms } from '../support/transform-run';

describe('transform quarantine of bad staging rows (real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let run: TransformOutput & { workflowId: string };
  const t = `tq${randomUUID().slice(0, 6)}-`;
  const loadId = `test/${t}`;
  // A blank primary key of this run's own: 16 whitespace characters of 4 kinds.
  const blankUser = Array.from({ length: 16 }, () => [' ', '\t', '\u00a0', '\u2003'][randomInt(4)]).join('');
  let day: string;

  const insert = (table: string, cols: string[], rows: unknown[][]) =>
    env.deps.staging.query(
      `insert into staging.${table} (${cols.join(', ')}, load_id) select ${cols.join(', ')}, $2 from json_populate_recordset(null::staging.${table}, $1)`,
      [JSON.stringify(rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])))), loadId],
    );

  beforeAll(async () => {
    env = await testEnv('transform-quarantine');
    day = await freshTestDay(env.deps.analytics);
    const ts = `${day}T10:00:00Z`;
    const nextDay = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    await insert('events', ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'order_id', 'price', 'ts', 'kafka_partition', 'kafka_offset'], [
      [`${t}E-ok`, 'view', `${t}U1`, `${t}S1`, `${t}P1`, null, null, ts, 0, 1],
      [`${t}E-name`, 'teleport', `${t}U1`, `${t}S1`, `${t}P1`, null, null, ts, 0, 2],
      [`${t}E-user`, 'view', '   ', `${t}S1`, `${t}P1`, null, null, ts, 0, 3],
      [`${t}E-session`, 'view', `${t}U1`, ' \t ', `${t}P1`, null, null, ts, 0, 4],
    ]);
    await insert('orders', ['order_id', 'updated_at', 'user_id', 'status', 'created_at'], [
      [`${t}O-ok`, ts, `${t}U1`, 'paid', ts],
      [`${t}O-status`, ts, `${t}U1`, 'teleported', ts],
      [`${t}O-user`, ts, '  ', 'paid', ts],
    ]);
    await insert('order_lines', ['order_id', 'updated_at', 'line_no', 'product_id', 'quantity', 'unit_price'], [
      [`${t}O-ok`, ts, 1, `${t}P1`, 1, '2.00'],
      [`${t}O-ok`, ts, 2, '   ', 1, '3.00'],
    ]);
    await insert('purchases', ['order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'source_file', 'source_line'], [
      [`${t}H-ok`, `${t}P1`, `${t}U1`, day, 'X', 1, '1.00', null, false, `${t}f.csv`, 2],
      [`${t}H-user`, `${t}P1`, ' ', day, 'X', 1, '1.00', null, false, `${t}f.csv`, 3],
      // One order, lines on two dates with two customers and a product the catalogue lacks: the later
      // line's customer and product must be inferred before the order's facts reference them.
      [`${t}H-split`, `${t}P-late`, `${t}U9`, nextDay, 'X', 1, '1.00', null, false, `${t}f.csv`, 4],
      [`${t}H-split`, `${t}P-new`, `${t}U8`, day, 'Y', 2, '1.50', null, false, `${t}f.csv`, 5],
    ]);
    await insert('users', ['user_id', 'updated_at', 'user_name', 'email', 'country', 'signup_date'], [[blankUser, ts, 'Nobody', null, 'xx', null]]);
    await insert('inventory', ['product_id', 'warehouse', 'updated_at', 'stock_level'], [[`${t}P1`, 'wh', ts, -5], [`${t}P1`, 'wh2', ts, 7]]);
    [run] = (await runTransforms(env, [partitionAt('transform', new Date())], `/test-${t}`)) as [TransformOutput & { workflowId: string }];
  }, 300_000);
  afterAll(async () => {
    await env?.close();
  });

  const quarantined = async (source: string) =>
    (await env.deps.staging.query<{ record_ref: string; reason: string }>(
      'select record_ref, reason from etl.quarantine where load_id = $1 order by record_ref', [`${run.workflowId}/extract/${source}`])).rows;

  it('keeps each bad row out of the work layer and quarantines it with its reason', async () => {
    const events = await quarantined('events');
    expect(events.filter((q) => q.record_ref.startsWith(`event ${t}`))).toEqual([
      { record_ref: `event ${t}E-name`, reason: expect.stringMatching(/event_name is not one of/) },
      { record_ref: `event ${t}E-session`, reason: 'session_id is missing' },
      { record_ref: `event ${t}E-user`, reason: 'user_id is missing' },
    ]);
    const orders = await quarantined('orders');
    expect(orders.filter((q) => q.record_ref.includes(t)).map((q) => [q.record_ref.split(' @ ')[0], q.reason])).toEqual([
      [`order ${t}O-status`, 'status is not a known order status'],
      [`order ${t}O-user`, 'user_id is missing'],
    ]);
    const lines = await quarantined('order_lines');
    expect(lines.filter((q) => q.record_ref.includes(t)).map((q) => [q.record_ref.replace(/ @ .* line/, ' line'), q.reason])).toEqual([[`order ${t}O-ok line 2`, 'product_id is missing']]);
    const purchases = await quarantined('purchases');
    expect(purchases.filter((q) => q.record_ref.startsWith(t))).toEqual([{ record_ref: `${t}f.csv:3`, reason: 'CustomerID is missing' }]);
    const users = await quarantined('users');
    expect(users.filter((q) => q.reason === 'user_id is missing').length).toBeGreaterThanOrEqual(1);
    const inventory = await quarantined('inventory');
    expect(inventory.filter((q) => q.record_ref.includes(`${t}P1/wh @`))).toEqual([{ record_ref: expect.stringMatching(/\/wh @/), reason: 'stock_level is negative' }]);

    const a = env.deps.analytics;
    const count = async (sql: string, params: unknown[]) => Number((await a.query<{ n: string }>(sql, params)).rows[0]?.n);
    expect(await count('select count(*) n from work.events where event_id like $1', [`${t}%`])).toBe(1);
    expect(await count('select count(*) n from work.orders where order_id like $1', [`${t}%`])).toBe(1);
    expect(await count('select count(*) n from work.order_lines where order_id like $1', [`${t}%`])).toBe(1);
    expect(await count('select count(*) n from work.purchases where order_id like $1', [`${t}%`])).toBe(3);
    // The split order: both lines under its earliest date, with one customer (the least pseudonym of its lines).
    const split = await a.query<{ d: string; customers: string; lines: string }>(
      `select min(order_date)::text d, count(distinct customer_id)::text customers, count(*)::text lines from fact_order_line where order_id = $1`, [`${t}H-split`]);
    expect(split.rows[0]).toEqual({ d: day, customers: '1', lines: '2' });
    expect(await count("select count(*) n from work.inventory where product_id = $1 and warehouse = 'WH2'", [`${t}P1`])).toBe(1);
    expect(await count('select count(*) n from work.inventory where product_id = $1 and stock_level < 0', [`${t}P1`])).toBe(0);
    expect(await count('select count(*) n from fact_event where event_id like $1', [`${t}%`])).toBe(1);
  });

  it("counts them: each load's quarantined equals the rows etl.quarantine holds for it, and the lake has each", async () => {
    for (const load of run.loads) {
      const rows = await quarantined(load.source);
      expect(rows.length, load.loadId).toBe(load.quarantined);
      expect(load.received, load.loadId).toBe(load.loaded + load.quarantined + load.duplicates);
    }
    const key = lakeKey('quarantine', 'transform_events', utcDate(run.partitionStart), `${safeName(`${run.workflowId}/extract/events`)}.jsonl`);
    const text = await getObjectText(env.deps.s3, env.deps.bucket, key);
    for (const id of ['E-name', 'E-user', 'E-session']) expect(text).toContain(`event ${t}${id}`);
  });
});
