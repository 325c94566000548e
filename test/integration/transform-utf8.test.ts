/**
 * Non-ASCII text through the transform: 50k users whose names are mostly 2-, 3- and 4-byte UTF-8
 * characters stream from staging to analytics with their ids rewritten (lib/copy-transfer.ts), so
 * COPY chunk boundaries land inside characters; none may come out as U+FFFD, in analytics or in
 * the curated Parquet.
 */
import { inTransaction } from '../../activities/common/transaction';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURATED_BY_DATE, CURATED_SNAPSHOTS, PART_NAME } from '../../activities/transform/lake';
import { copyRows, type CopyValue } from '../../lib/bulk';
import { lakeKey } from '../../lib/lake';
import { getObjectBytes, listObjects } from '../../lib/s3';
import { partitionAt } from '../../workflows/partitions';
import { testEnv, type TestEnv } from '../support/env';
import { freshTestDay } from '../support/transform-expected';
import { runTransforms } from '../support/transform-run';

const USERS = 50_000;
const PRODUCTS = 10;
const FFFD = '\uFFFD';
// 2-, 3- and 4-byte UTF-8 characters; all NFC and none whitespace, so work.norm_text keeps them.
const WIDE = [['ë', 'é', 'ñ', 'ø', 'ß', 'Ж', 'Ω', 'ğ'], ['€', '中', '文', 'ア', '한', 'ก', '語'], ['😀', '𝄞', '🎉', '𠜎', '🦊']];
// The pseudonym by its definition (HMAC-SHA256, hex, 32 characters), not by lib/pseudonym.ts: that is code under test.
const hmacId = (userId: string, key: string) => createHmac('sha256', key).update(userId, 'utf8').digest('hex').slice(0, 32);
const range = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
const ch = (width: number, i: number) => WIDE[width % 3]![i % WIDE[width % 3]!.length]!;
/**
 * Nine multi-byte characters a name, starting 2, 3 and 4 bytes wide in turn: a fifth of the users'
 * 4 MB of COPY text are continuation bytes, so of ~65 chunk boundaries (64 KiB) a dozen split a character.
 */
const nameOf = (i: number) => {
  const c = range(9, (k) => ch(i + k, i >> k));
  return `${c.slice(0, 6).join('')} ${c.slice(6).join('')}${i.toString(36)}`;
};
const masked = (name: string) => `${Array.from(name)[0]}***`;

async function seed(env: TestEnv, prefix: string, day: string): Promise<void> {
  const at = `${day}T00:00:00.000Z`;
  const load = `test/${prefix}`;
  await inTransaction(env.deps.staging, async (client) => {
    const put = (table: string, columns: string[], rows: CopyValue[][]) => copyRows(client, `staging.${table}`, [...columns, 'load_id'], rows.map((r) => [...r, load]));
    await put('products', ['product_id', 'updated_at', 'product_name', 'category', 'price'], range(PRODUCTS, (p) => [`${prefix}P${p}`, at, `Café ${nameOf(p)}`, 'Küche', '9.99']));
    await put('users', ['user_id', 'updated_at', 'user_name', 'country', 'signup_date'], range(USERS, (i) => [`${prefix}U${i}`, at, nameOf(i), 'DE', day]));
    await put('events', ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'order_id', 'price', 'ts', 'kafka_partition', 'kafka_offset'],
      range(USERS, (i) => [`${prefix}E${i}`, 'view', `${prefix}U${i}`, `${prefix}S${i}${ch(i, i)}`, `${prefix}P${i % PRODUCTS}`, null, null, new Date(Date.parse(at) + i * 1500), 0, i]));
    // Orders for every tenth user: order_lines_enriched and customers carry names too, and the
    // day gets an orders_by_date row, so freshTestDay of other tests stays off this month.
    const orders = range(USERS / 10, (k) => k * 10);
    await put('orders', ['order_id', 'updated_at', 'user_id', 'status', 'created_at'], orders.map((i) => [`${prefix}O${i}`, at, `${prefix}U${i}`, 'paid', new Date(Date.parse(at) + i * 1500)]));
    await put('order_lines', ['order_id', 'updated_at', 'line_no', 'product_id', 'quantity', 'unit_price'], orders.map((i) => [`${prefix}O${i}`, at, 1, `${prefix}P${i % PRODUCTS}`, 1, '9.99']));
  });
}

/** Rows of curated Parquet objects, read with DuckDB; objects that don't exist are left out. */
async function readParquet(env: TestEnv, keys: string[]): Promise<Map<string, Array<Record<string, unknown>>>> {
  const dir = await mkdtemp(join(tmpdir(), 'etl-utf8-'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const out = new Map<string, Array<Record<string, unknown>>>();
  try {
    for (const [i, key] of keys.entries()) {
      if ((await listObjects(env.deps.s3, env.deps.bucket, key)).length === 0) continue;
      const file = join(dir, `${i}.parquet`);
      await writeFile(file, await getObjectBytes(env.deps.s3, env.deps.bucket, key));
      out.set(key, (await con.runAndReadAll(`select * from read_parquet('${file}')`)).getRowObjectsJson() as Array<Record<string, unknown>>);
    }
  } finally {
    con.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

describe('non-ASCII names through the transform (real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let prefix: string;
  let day: string;
  let snapshotDay: string;
  const names = new Map<string, string>(); // pseudonym -> seeded name

  beforeAll(async () => {
    env = await testEnv('transform-utf8');
    prefix = `tu${randomUUID().slice(0, 6)}-`;
    day = await freshTestDay(env.deps.analytics);
    for (let i = 0; i < USERS; i++) names.set(hmacId(`${prefix}U${i}`, env.config.PSEUDONYM_KEY), nameOf(i));
    await seed(env, prefix, day);
    const partition = partitionAt('transform', new Date());
    snapshotDay = partition.partitionStart.slice(0, 10);
    const [run] = await runTransforms(env, [partition], `/test-${prefix}`);
    expect(run!.dates).toContain(day);
  }, 300_000);
  afterAll(async () => {
    await env?.close();
  });

  it('seeds names that are NFC, distinct, and split by byte width', () => {
    const all = [...names.values()];
    expect(new Set(all).size).toBe(USERS);
    for (const n of all.slice(0, 100)) expect(n.normalize('NFC')).toBe(n);
    expect(new Set(all.slice(0, 3).map((n) => Buffer.byteLength(Array.from(n)[0]!)))).toEqual(new Set([2, 3, 4]));
  });

  it('leaves no U+FFFD in any text column of the analytics rows of the test, and keeps every name', async () => {
    const a = env.deps.analytics;
    const { rows: rels } = await a.query<{ s: string; t: string; text: string[]; all: string[] }>(
      `select table_schema s, table_name t, array_agg(column_name::text order by ordinal_position) all,
              array_agg(column_name::text order by ordinal_position) filter (where data_type in ('text', 'character varying')) text
       from information_schema.columns where table_schema in ('public', 'work') and table_name not like 'realtime%' group by 1, 2`,
    );
    const ids = [...names.keys()];
    let scanned = 0;
    for (const { s, t, text, all } of rels) {
      if (!text?.length) continue;
      // Only the test's rows: other tests' data is theirs to check.
      const id = ['customer_id', 'user_id'].find((c) => all.includes(c));
      const key = ['event_id', 'order_id', 'product_id'].find((c) => all.includes(c));
      const date = ['date', 'event_date', 'order_date', 'finding_date'].find((c) => all.includes(c));
      const [where, param]: [string, unknown] = id ? [`"${id}" = any($1::text[])`, ids] : key ? [`"${key}" like $1`, `${prefix}%`] : date ? [`"${date}" = $1::date`, day] : ['$1::int = 1', 1];
      const counts = text.map((c) => `count(*) filter (where "${c}" like '%' || chr(65533) || '%') as "${c}"`).join(', ');
      const { rows } = await a.query<Record<string, string>>(`select count(*) as "#rows", ${counts} from "${s}"."${t}" where ${where}`, [param]);
      const { '#rows': n, ...bad } = rows[0]!;
      expect(Object.entries(bad).filter(([, v]) => v !== '0'), `${s}.${t}`).toEqual([]);
      scanned += Number(n);
    }
    expect(scanned).toBeGreaterThan(4 * USERS);
    const dim = await a.query<{ customer_id: string; user_name: string }>('select customer_id, user_name from dim_customer where customer_id = any($1::text[])', [ids]);
    expect(dim.rows.length).toBe(USERS);
    for (const r of dim.rows) if (r.user_name !== names.get(r.customer_id)) expect(r.user_name, r.customer_id).toBe(names.get(r.customer_id));
    const ub = await a.query<{ user_id: string; user_name: string }>('select user_id, user_name from user_behavior where date = $1 and user_id = any($2::text[])', [day, ids]);
    expect(ub.rows.length).toBe(USERS);
    for (const r of ub.rows) if (r.user_name !== masked(names.get(r.user_id)!)) expect(r.user_name, r.user_id).toBe(masked(names.get(r.user_id)!));
  });

  it('leaves no U+FFFD in the curated Parquet, and its masked names are the seeded ones', async () => {
    const byDate = Object.keys(CURATED_BY_DATE).map((t) => lakeKey('curated', t, day, PART_NAME));
    const snapshots = Object.keys(CURATED_SNAPSHOTS).map((t) => lakeKey('curated', t, snapshotDay, PART_NAME));
    const files = await readParquet(env, [...byDate, ...snapshots]);
    // Snapshots hold every customer and product: only the test's rows are its to check.
    const mine = (key: string, r: Record<string, unknown>) => !snapshots.includes(key) || names.has(String(r.customer_id)) || String(r.product_id).startsWith(prefix);
    let strings = 0;
    for (const [key, rows] of files) {
      for (const r of rows) {
        if (!mine(key, r)) continue;
        for (const v of Object.values(r)) {
          if (typeof v !== 'string') continue;
          strings++;
          if (v.includes(FFFD)) expect(v, key).not.toContain(FFFD);
        }
      }
    }
    expect(strings).toBeGreaterThan(10 * USERS);
    for (const table of ['user_behavior', 'dim_customer']) {
      const key = table === 'user_behavior' ? lakeKey('curated', table, day, PART_NAME) : lakeKey('curated', table, snapshotDay, PART_NAME);
      const id = table === 'user_behavior' ? 'user_id' : 'customer_id';
      const rows = (files.get(key) ?? []).filter((r) => names.has(String(r[id])));
      expect(rows.length, key).toBe(USERS);
      for (const r of rows) if (r.user_name !== masked(names.get(String(r[id]))!)) expect(r.user_name, `${key} ${String(r[id])}`).toBe(masked(names.get(String(r[id]))!));
    }
  });
});
