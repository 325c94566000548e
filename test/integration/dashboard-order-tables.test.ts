/**
 * The tables behind the dashboard's country and high-value panels (sql/analytics/067_dashboard_orders.sql,
 * kept by work.refresh_metrics and work.refresh_customer_days): loaded by dates in a shuffled order, then changed (orders cancelled,
 * removed and added, a customer moved to another country) and refreshed again, some dates in two
 * transactions at once. After each round the linked order days must equal a rebuild from scratch,
 * and the panels' SQL must give, for every range of the dates and every country filter, exactly what
 * the old queries over the order lines give (count(distinct), percentile_cont). Real PostgreSQL.
 */
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { panelById } from '../../dashboard/panels';
import { Rng } from '../../shop/generator/prng';
import { until } from '../support/wait';

const DATES = Array.from({ length: 14 }, (_, i) => new Date(Date.UTC(2026, 5, 1 + i)).toISOString().slice(0, 10));
const COUNTRIES = ['DE', 'FR', 'PL'];

/** The old countries panel (before 067): grouped from the order lines. */
const OLD_COUNTRIES = `with o as (
  select source, order_id, customer_id, country, sum(quantity) as quantity, sum(amount) as amount from order_lines_country
  where not cancelled and order_date between $1::date and $2::date and ($3::text is null or country = $3::text)
  group by source, order_id, customer_id, country)
select country, count(distinct customer_id) as customers, count(*) as orders, sum(quantity)::bigint as quantity, sum(amount) as revenue,
       round(avg(quantity), 2) as avg_quantity
from o group by country order by revenue desc, country`;

/** The old high-value panel: percentile_cont over the range's orders. */
const OLD_HIGH_VALUE = `with o as (select source, order_id, min(order_date) as order_date, customer_id, country, sum(amount) as amount from order_lines_country
           where not cancelled and order_date between $1::date and $2::date and ($3::text is null or country = $3::text)
           group by source, order_id, customer_id, country)
select * from o where amount >= (select percentile_cont(0.95) within group (order by amount) from o)
order by amount desc, order_id limit 50`;

describe('the dashboard order tables: linked order days kept per date, panels equal to the queries over the lines (real PostgreSQL)', () => {
  let db: Pool;
  const rng = new Rng(7, 'dashboard-order-tables');
  let nextOrder = 0;

  const addOrders = async (date: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const id = `O${nextOrder++}`;
      const customer = `c${rng.int(1, 40)}`;
      const cancelled = rng.next() < 0.1;
      for (let l = 1; l <= rng.int(1, 3); l++) {
        const qty = rng.int(1, 4);
        const price = rng.int(1, 300) + rng.int(0, 99) / 100;
        await db.query(`insert into fact_order_line (order_date, source, order_id, line_no, customer_id, product_id, quantity, unit_price, amount, status, cancelled)
          values ($1, $2, $3, $4, $5, 'p1', $6::int, $7::numeric, $6::int * $7::numeric, $8, $9)`, [date, i % 4 === 0 ? 'file' : 'api', id, l, customer, qty, price, cancelled ? 'cancelled' : 'delivered', cancelled]);
      }
    }
  };
  const refreshOn = async (q: { query: Pool['query'] }, d: string) => {
    await q.query('select work.refresh_metrics($1::date)', [d]);
    await q.query('select work.refresh_customer_days($1::date)', [d]);
  };
  const refresh = async (dates: string[]) => { for (const d of dates) await refreshOn(db, d); };
  const shuffled = <T>(xs: T[]) => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
  const rows = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows;

  /** The linked days and their gap counts equal a rebuild from order_values; order_values equals the lines. */
  async function consistent(): Promise<void> {
    expect(await rows(`select country, customer_id, order_date::text, prev_date::text from customer_order_days order by 1, 2, 3`)).toEqual(
      await rows(`select country, customer_id, order_date::text, lag(order_date) over (partition by country, customer_id order by order_date)::text as prev_date
        from (select distinct country, customer_id, order_date from order_values) d order by 1, 2, 3`));
    expect(await rows(`select order_date::text, country, gap, customers from customer_order_gaps order by 1, 2, 3`)).toEqual(
      await rows(`select order_date::text, country, gap, count(*)::int as customers from (
        select order_date, country, coalesce(order_date - lag(order_date) over (partition by country, customer_id order by order_date), 0) as gap
        from (select distinct country, customer_id, order_date from order_values) d) x group by 1, 2, 3 order by 1, 2, 3`));
    expect(await rows(`select order_date::text, source, order_id, customer_id, country, amount::text from order_values order by 1, 2, 3`)).toEqual(
      await rows(`select order_date::text, source, order_id, customer_id, country, sum(amount)::text as amount from order_lines_country where not cancelled group by 1, 2, 3, 4, 5 order by 1, 2, 3`));
    // The high-value panel's n: the segment table's kept orders are the rows of order_values.
    expect(await rows(`select order_date::text, country, kept_orders as orders from sales_daily_segment where category = '*' and kept_orders > 0 order by 1, 2`)).toEqual(
      await rows(`select order_date::text, case when grouping(country) = 1 then '*' else country end as country, count(*)::int as orders
        from order_values group by grouping sets ((order_date, country), (order_date)) order by 1, 2`));
  }

  /** Every range of the dates, under every country filter: the panels give what the old queries give. */
  async function panelsAgree(): Promise<number> {
    const countries = panelById('countries');
    const high = panelById('high-value-orders');
    if (!countries || !high) throw new Error('panels missing');
    let compared = 0;
    for (let a = 0; a < DATES.length; a++) {
      for (let b = a; b < DATES.length; b += 1 + (b % 3)) {
        for (const country of [null, ...COUNTRIES]) {
          const params = [DATES[a], DATES[b], country];
          expect(await rows(countries.sql, params), `countries ${DATES[a]}..${DATES[b]} ${country}`).toEqual(await rows(OLD_COUNTRIES, params));
          expect(await rows(high.sql, params), `high-value ${DATES[a]}..${DATES[b]} ${country}`).toEqual(await rows(OLD_HIGH_VALUE, params));
          compared++;
        }
      }
    }
    return compared;
  }

  beforeAll(async () => {
    db = new Pool({ connectionString: loadConfig().ANALYTICS_DATABASE_URL, max: 3 });
    await db.query(`insert into dim_product (product_id, product_name, category, category_key, price, updated_at, inferred) values ('p1', 'P', 'C', 'c', 1, now(), false)`);
    await db.query(`insert into dim_customer (customer_id, user_name, country, signup_date, updated_at, inferred)
      select 'c' || i, 'n', (array['DE', 'FR', 'PL'])[1 + i % 3], date '2026-01-01', now(), false from generate_series(1, 40) i`);
  });
  afterAll(async () => {
    await db?.end();
  });

  it('dates refreshed in any order, changed and refreshed again, leave the same tables as a rebuild, and the panels equal the old queries', async () => {
    for (const d of DATES) await addOrders(d, rng.int(0, 12));
    await refresh(shuffled(DATES));
    await consistent();
    expect(await panelsAgree()).toBeGreaterThan(100);

    // Changes: orders cancelled, removed and added on some dates, each date refreshed again.
    for (let round = 0; round < 3; round++) {
      const some = shuffled(DATES).slice(0, 5);
      for (const d of some) {
        await db.query(`update fact_order_line set cancelled = not cancelled where order_date = $1 and order_id in
          (select order_id from fact_order_line where order_date = $1 order by md5(order_id || $2) limit 2)`, [d, round]);
        await db.query(`delete from fact_order_line where order_date = $1 and order_id in
          (select order_id from fact_order_line where order_date = $1 order by md5(order_id || $2 || 'x') limit 2)`, [d, round]);
        await addOrders(d, rng.int(0, 4));
      }
      await refresh(shuffled(some));
      await consistent();
    }

    // Two dates at once, in two transactions, each with the first order day of one new customer: the
    // later date goes first, and the earlier one must wait for its links (the lock), or each sees
    // no other order day and both are left as the customer's first.
    const [d1, d2] = [DATES[3] as string, DATES[9] as string];
    await db.query(`insert into dim_customer (customer_id, user_name, country, signup_date, updated_at, inferred) values ('c-new', 'n', 'FR', date '2026-01-01', now(), false)`);
    for (const d of [d1, d2]) {
      await db.query(`insert into fact_order_line (order_date, source, order_id, line_no, customer_id, product_id, quantity, unit_price, amount, status, cancelled)
        values ($1, 'api', $2, 1, 'c-new', 'p1', 1, 5, 5, 'delivered', false)`, [d, `O${nextOrder++}`]);
    }
    const [t1, t2] = [await db.connect(), await db.connect()];
    try {
      await t1.query('begin');
      await t2.query('begin');
      await refreshOn(t1, d2);
      let secondDone = false;
      const second = refreshOn(t2, d1).finally(() => { secondDone = true; });
      // t1 commits only once t2 waits for the lock, or (without the lock) has finished without it.
      await until('the second refresh waiting for the lock, or done', async () => {
        if (secondDone) return 'done';
        const { rows } = await db.query(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory' and query like '%refresh_customer_days%'`);
        return rows.length > 0 ? 'waiting' : undefined;
      }, 30_000, 20);
      await t1.query('commit');
      await second;
      await t2.query('commit');
    } finally {
      t1.release();
      t2.release();
    }
    await consistent();

    // A customer moves to another country; every date is refreshed again (as a rebuild would).
    await db.query(`update dim_customer set country = 'PL' where customer_id = (select customer_id from order_values where country <> 'PL' group by 1 order by count(*) desc, 1 limit 1)`);
    await refresh(shuffled(DATES));
    await consistent();
    expect(await panelsAgree()).toBeGreaterThan(100);
  }, 300_000);
});
