/**
 * Two statements of the transform, each timed in its current shape against the one it replaced
 * (written out here), on whatever the analytics database holds (load a busy day first:
 * `npx tsx bench/transform-day.ts --scale 10`). Read-only: each shape's rows go to a temp table,
 * and the two must be equal.
 * - segments: sales_daily_segment of the date with the most order lines (work.refresh_metrics,
 *   sql/analytics/code/030): orders counted by the text `source:order_id`, against the row
 *   (source, order_id);
 * - latest users: the latest version of --users customers with their newest non-null name, country
 *   and signup date (activities/transform/dimensions.ts): one aggregate pass, against a correlated
 *   subquery per customer and column.
 * Rounds alternate which shape goes first; prints the medians and ratios.
 *   npx tsx bench/load-statements.ts [--rounds 3] [--users 210000]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { latestVersions } from '../activities/transform/dimensions';
import { loadConfig } from '../config';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const segments = (orderKey: string) => `
  select case when grouping(p.category_key) = 1 then '*' else coalesce(p.category_key, '(none)') end as category,
         case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end as country,
         count(distinct ${orderKey}) as orders, count(distinct ${orderKey}) filter (where not f.cancelled) as kept_orders,
         coalesce(sum(f.quantity) filter (where not f.cancelled), 0) as units, coalesce(sum(f.amount) filter (where not f.cancelled), 0) as revenue
  from fact_order_line f left join dim_product p using (product_id) left join dim_customer c using (customer_id)
  where f.order_date = $1
  group by grouping sets ((p.category_key, c.country), (p.category_key), (c.country), ())
  having count(*) > 0`;

const before = (col: string) =>
  `(select q.${col} from work.users q where q.customer_id = s.customer_id and q.${col} is not null order by q.updated_at desc limit 1) as ${col}`;
const CARRIED = ['user_name', 'country', 'signup_date'];

const SHAPES = {
  segments: {
    now: segments(`f.source || ':' || f.order_id`),
    before: segments('(f.source, f.order_id)'),
  },
  latestUsers: {
    // The extract's own select (dimensions.ts), over `_in` as there.
    now: latestVersions('work.users', 'customer_id', CARRIED),
    before: `select distinct on (s.customer_id) s.customer_id, s.updated_at, ${CARRIED.map(before).join(', ')}
             from work.users s where s.customer_id in (select customer_id from _in) order by s.customer_id, s.updated_at desc`,
  },
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, users: { type: 'string', default: '210000' } } });
  const db = new pg.Client({ connectionString: loadConfig().ANALYTICS_DATABASE_URL });
  await db.connect();
  try {
    const { rows: [busiest] } = await db.query<{ d: string; n: string }>(
      `select to_char(order_date, 'YYYY-MM-DD') as d, count(*)::text as n from fact_order_line group by order_date order by count(*) desc limit 1`);
    if (!busiest) throw new Error('fact_order_line is empty: load a day first (bench/transform-day.ts)');
    await db.query('begin');
    await db.query(`create temp table _in on commit drop as
                    select customer_id from (select distinct customer_id from work.users) u order by random() limit $1`, [Number(values.users)]);
    await db.query('analyze _in');
    const { rows: [ids] } = await db.query<{ n: string; several: string }>(
      `select count(*)::text as n, (select count(*) from (select customer_id from work.users where customer_id in (select customer_id from _in) group by 1 having count(*) > 1) x)::text as several from _in`);
    console.log(JSON.stringify({ date: busiest.d, orderLines: Number(busiest.n), customers: Number(ids?.n), withSeveralVersions: Number(ids?.several) }));
    const results: Record<string, unknown> = {};
    for (const [name, shapes] of Object.entries(SHAPES)) {
      const times: Record<'now' | 'before', number[]> = { now: [], before: [] };
      for (let round = 0; round < Number(values.rounds); round++) {
        for (const way of round % 2 === 0 ? (['now', 'before'] as const) : (['before', 'now'] as const)) {
          await db.query(`drop table if exists bench_${way}`);
          const params = name === 'segments' ? [busiest.d] : [];
          const t = performance.now();
          await db.query(`create temp table bench_${way} as ${shapes[way]}`, params);
          times[way].push((performance.now() - t) / 1000);
        }
        const { rows: [diff] } = await db.query<{ n: string; a: string; b: string }>(
          `select (select count(*) from bench_now)::text as n, (select count(*) from (select * from bench_now except all select * from bench_before) x)::text as a,
                  (select count(*) from (select * from bench_before except all select * from bench_now) x)::text as b`);
        if (diff?.a !== '0' || diff.b !== '0') throw new Error(`${name}: the two shapes disagree (${JSON.stringify(diff)})`);
        results[`${name}Rows`] = Number(diff.n);
      }
      const m = { now: median(times.now), before: median(times.before) };
      results[name] = { now: +m.now.toFixed(3), before: +m.before.toFixed(3), nowVsBefore: +(m.now / m.before).toFixed(3) };
    }
    console.log(JSON.stringify({ rounds: Number(values.rounds), medianSeconds: results }));
  } finally {
    await db.query('rollback').catch(() => undefined);
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
