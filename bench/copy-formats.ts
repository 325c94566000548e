/**
 * The transform extract's move of a window from staging to analytics (lib/copy-transfer.ts
 * `transferRows`), in COPY's text format (the code before stop 37: every line decoded, its user id
 * cell rewritten, encoded again) and in its binary format (stop 37: the user id field rewritten in
 * place, the other bytes passed through, nothing parsed or formatted as text by either server).
 *
 * Rows: `--rows` events shaped like staging.events' extract columns, with `--users` distinct user
 * ids (event, user and session ids are UUIDs, as many shops' are), made by generate_series in a temporary table of the staging connection; the target is a
 * temporary table shaped like work.events' columns, rolled back after each pass. Rounds alternate
 * the two formats (which goes first alternates too). Per pass: wall time and the CPU time of the
 * three processes at work, from /proc: this Node process, the staging backend and the analytics
 * backend. The machine is shared, so the CPU sums are the steadier figure. Both formats must leave
 * the same rows (checked once, by a digest of the target's rows).
 *
 *   npx tsx bench/copy-formats.ts [--rows 931000] [--users 200000] [--rounds 3]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Pool, type PoolClient } from 'pg';
import { loadConfig } from '../config';
import { transferRows } from '../lib/copy-transfer';
import { pseudonym } from '../lib/pseudonym';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '931000' }, users: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } });
const ROWS = Number(values.rows);
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
const KEY = 'bench-pseudonym-key';
const COLUMNS = ['event_id', 'event_name', 'customer_id', 'session_id', 'product_id', 'order_id', 'price', 'ts'];
const SELECT = 'select event_id, event_name, user_id, session_id, product_id, order_id, price, ts from _bench_events';
const USER = 2;

/** CPU seconds (user + system) of a process so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
const cpuOf = (pid: number) => {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const backendPid = async (c: PoolClient) => Number((await c.query<{ p: number }>('select pg_backend_pid() as p')).rows[0]?.p);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Pass { wall: number; node: number; staging: number; analytics: number; digest: string }

async function pass(src: PoolClient, dst: PoolClient, format: 'binary' | 'text'): Promise<Pass> {
  const ps = await backendPid(src);
  const pd = await backendPid(dst);
  await dst.query('begin');
  await dst.query(`create temp table _in on commit drop as select ${COLUMNS.join(', ')} from work.events with no data`);
  await src.query('begin isolation level repeatable read read only');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const s0 = cpuOf(ps);
  const d0 = cpuOf(pd);
  const used = await transferRows(src, SELECT, dst, '_in', COLUMNS, { index: USER, f: (id: string) => pseudonym(id, KEY) }, format === 'text' ? 'text' : 'binary or text');
  if (used !== format) throw new Error(`transferRows used ${used} for the ${format} pass: the bench's types no longer match`);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const out = { wall, node: (cpu.user + cpu.system) / 1e6, staging: cpuOf(ps) - s0, analytics: cpuOf(pd) - d0 };
  const { rows } = await dst.query<{ n: string; h: string }>(`select count(*)::text as n, md5(string_agg(t::text, '|' order by event_id)) as h from _in t`);
  await src.query('commit');
  await dst.query('rollback');
  return { ...out, digest: `${rows[0]?.n}:${rows[0]?.h}` };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const staging = new Pool({ connectionString: config.STAGING_DATABASE_URL, max: 1 });
  const analytics = new Pool({ connectionString: config.ANALYTICS_DATABASE_URL, max: 1 });
  const src = await staging.connect();
  const dst = await analytics.connect();
  try {
    await src.query(`create temp table _bench_events as
      select md5('e' || g)::uuid::text as event_id, (array['view', 'add_to_cart', 'wishlist', 'order', 'return'])[1 + g % 5] as event_name,
             md5('u' || (g::bigint * 7919 % $2::int))::uuid::text as user_id, md5('s' || (g / 9))::uuid::text as session_id,
             case when g % 3 = 0 then null else 'P' || (g % 5000) end as product_id,
             case when g % 5 = 3 then 'O' || (g / 5) end as order_id,
             case when g % 5 = 3 then ((g % 100000) / 100.0)::numeric(14, 2) end as price,
             timestamptz '2024-03-01' + g * interval '80 ms' as ts
      from generate_series(1, $1::int) g`, [ROWS, USERS]);
    console.log(`${ROWS} rows, ${USERS} users; ${ROUNDS} rounds, text and binary alternating`);
    const runs: Record<'binary' | 'text', Pass[]> = { binary: [], text: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order: ('binary' | 'text')[] = r % 2 === 0 ? ['text', 'binary'] : ['binary', 'text'];
      for (const format of order) {
        const p = await pass(src, dst, format);
        runs[format].push(p);
        console.log(`  round ${r + 1} ${format.padEnd(6)} wall ${p.wall.toFixed(2)} s; CPU: node ${p.node.toFixed(2)}, staging ${p.staging.toFixed(2)}, analytics ${p.analytics.toFixed(2)}, sum ${(p.node + p.staging + p.analytics).toFixed(2)} s`);
      }
    }
    const digests = new Set([...runs.binary, ...runs.text].map((p) => p.digest));
    if (digests.size !== 1) throw new Error(`the formats left different rows: ${[...digests].join(' / ')}`);
    const summary = (ps: Pass[]) => ({
      wall: median(ps.map((p) => p.wall)), node: median(ps.map((p) => p.node)), staging: median(ps.map((p) => p.staging)),
      analytics: median(ps.map((p) => p.analytics)), cpu: median(ps.map((p) => p.node + p.staging + p.analytics)),
    });
    const b = summary(runs.binary);
    const t = summary(runs.text);
    console.log(JSON.stringify({ rows: ROWS, users: USERS, rounds: ROUNDS, sameRows: true, medianSeconds: { text: t, binary: b },
      binaryVsText: { wall: +(b.wall / t.wall).toFixed(2), cpu: +(b.cpu / t.cpu).toFixed(2) } }));
  } finally {
    src.release();
    dst.release();
    await Promise.all([staging.end(), analytics.end()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
