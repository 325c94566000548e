/**
 * sql/analytics/073 on a database that already holds work events (an upgrade, not a fresh
 * install): the analytics migrations up to 072 applied to a scratch database of their own, events
 * of three dates stored the old way, then 073. Every row is kept, each date in its partition, in
 * key order and analyzed, and the date's load and the merge work on the migrated partitions.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { migrate, SQL_DIR } from '../../lib/migrate';
import { connectGrants, DATABASES, inDatabase } from '../../services/postgres-bootstrap';

describe('sql/analytics/073 on a populated work layer (real PostgreSQL, a scratch database)', () => {
  const config = loadConfig(process.env);
  const db = `migrate_we_${randomUUID().slice(0, 8)}`;
  const ownerUrl = (() => {
    const u = new URL(config.ANALYTICS_DATABASE_URL);
    u.pathname = `/${db}`;
    return u.toString();
  })();
  const dir = mkdtempSync(join(tmpdir(), 'etl-migrate-073-'));
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: config.PG_ADMIN_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  let owner: Client;
  const dates = ['2031-02-01', '2031-02-02', '2031-02-03'];
  /** The stored events as text, in key order: equal before and after the migration. */
  const rows = async () => (await owner.query<{ r: string }>(
    `select md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s', event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date), ',' order by event_id)) as r, count(*)::text as n from work.events`)).rows[0];

  beforeAll(async () => {
    // The analytics series as it stood before 073: its migrations up to 072, and today's code/.
    mkdirSync(join(dir, 'analytics'));
    for (const f of readdirSync(join(SQL_DIR, 'analytics'))) {
      if (/^\d{3}_/.test(f) && f >= '073') continue;
      cpSync(join(SQL_DIR, 'analytics', f), join(dir, 'analytics', f), { recursive: true });
    }
    await admin(`create database ${db} owner ${DATABASES.analytics.owner} encoding 'UTF8' template template0`);
    for (const sql of connectGrants('analytics', db)) await admin(sql);
    await inDatabase(config, db, [...DATABASES.analytics.inside]);
    await migrate('analytics', ownerUrl, dir);
    owner = new Client({ connectionString: ownerUrl });
    await owner.connect();
  }, 120_000);
  afterAll(async () => {
    await owner?.end();
    await admin(`drop database if exists ${db} with (force)`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every event, each date in its own analyzed partition, and the transform works on them', async () => {
    expect((await owner.query<{ k: string }>(`select relkind::text as k from pg_class where oid = 'work.events'::regclass`)).rows[0]?.k).toBe('r');
    // Old shape: event_date generated from ts; ids inserted out of key order.
    await owner.query(`insert into work.events (event_id, event_name, customer_id, session_id, product_id, order_id, price, ts)
      select 'm-' || g, 'view', 'c' || (g % 40), 's' || (g % 90), 'p' || (g % 7), null, null, timestamptz '2031-02-01 00:00:00+00' + (g % 3) * interval '1 day' + g * interval '1 s'
      from (select g from generate_series(1, 3000) g order by md5(g::text)) x`);
    const before = await rows();
    cpSync(join(SQL_DIR, 'analytics', '073_work_events_by_date.sql'), join(dir, 'analytics', '073_work_events_by_date.sql'));
    expect(await migrate('analytics', ownerUrl, dir)).toMatchObject({ applied: ['073_work_events_by_date.sql'] });

    expect(await rows()).toEqual(before);
    const parts = (await owner.query<{ name: string; bound: string; n: string; planned: number; first: string }>(
      `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound, c.reltuples as planned,
              (xpath('//n/text()', query_to_xml(format('select count(*) as n from work.%I', c.relname), false, false, '')))[1]::text as n,
              (xpath('//f/text()', query_to_xml(format('select event_id as f from work.%I limit 1', c.relname), false, false, '')))[1]::text as first
       from pg_inherits h join pg_class c on c.oid = h.inhrelid where h.inhparent = 'work.events'::regclass order by 1`)).rows;
    expect(parts.map((p) => p.bound)).toEqual(dates.map((d) => `FOR VALUES IN ('${d}')`));
    for (const p of parts) {
      expect(Number(p.planned), p.name).toBe(Number(p.n)); // analyzed by the migration
      // Stored in key order: the first row of the heap is the date's smallest id.
      const min = (await owner.query<{ m: string }>(`select min(event_id) as m from work.${p.name}`)).rows[0]?.m;
      expect(p.first, p.name).toBe(min);
    }
    // The key now holds the date; the check keeps the date ts's own.
    await expect(owner.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ('m-1', 'view', 'c', 's', '2031-02-02 01:00+00', '2031-02-02')`)).rejects.toThrow(/events_\d+_pkey|duplicate key/);
    await expect(owner.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ('m-x', 'view', 'c', 's', '2031-02-02 01:00+00', '2031-02-03')`)).rejects.toThrow(/events_event_date/);
    // The date's load builds fact_event's partition from the migrated one.
    await owner.query(`select work.load_events($1::date)`, [dates[1]]);
    const facts = (await owner.query<{ n: string }>('select count(*) as n from fact_event where event_date = $1', [dates[1]])).rows[0]?.n;
    expect(facts).toBe(parts[1]?.n);
  });
});
