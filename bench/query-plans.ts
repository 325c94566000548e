/**
 * EXPLAIN (ANALYZE, BUFFERS) of the metric queries analysts run, against whatever the analytics
 * database holds (load a big day first with bench/transform-day.ts). Prints each plan and its
 * execution time, best of 3, as markdown for docs/query-plans.md.
 * Run: npx tsx bench/query-plans.ts [label]
 */
import { loadConfig } from '../config';
import { makePool } from '../lib/clients';

async function main() {
  const label = process.argv[2] ?? 'now';
  const pool = makePool(loadConfig(), 'analytics', 2);
  try {
    // Parameters from the data: the busiest day and its most active customer.
    const { rows: [p] } = await pool.query<{ day: string; customer: string }>(
      `select to_char(event_date, 'YYYY-MM-DD') as day,
              (select customer_id from fact_event where event_date = d.event_date group by 1 order by count(*) desc limit 1) as customer
       from (select event_date from daily_traffic group by 1 order by sum(events) desc limit 1) d`);
    if (!p) throw new Error('analytics is empty: run bench/transform-day.ts first');
    const { rows: [counts] } = await pool.query<{ events: string; lines: string }>('select (select count(*) from fact_event) events, (select count(*) from fact_order_line) lines');
    const queries: Array<[string, string]> = [
      ['user_behavior of one user', `select * from user_behavior where user_id = '${p.customer}' order by event_id`],
      ['customer behaviour metrics of one customer', `select * from customers where customer_id = '${p.customer}'`],
      ['average purchase value of one customer', `select * from avg_purchase_value_per_customer where customer_id = '${p.customer}'`],
      ['average spend per user per session (all users)', `select count(*), avg(avg_spend_per_session) from avg_spend_per_session`],
      ['user_behavior of one day, orders only', `select * from user_behavior where date = '${p.day}' and event_name = 'order'`],
      ['orders_by_date over a month', `select * from orders_by_date where order_date >= date '${p.day}' - 30 and order_date <= '${p.day}'`],
      ['product_sales top 10', `select * from product_sales order by revenue desc limit 10`],
    ];
    console.log(`## ${label}\n\nfact_event ${counts?.events} rows, fact_order_line ${counts?.lines} rows; day ${p.day}.\n`);
    for (const [name, sql] of queries) {
      let best = Infinity;
      let plan = '';
      for (let i = 0; i < 3; i++) {
        const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off) ${sql}`);
        const text = rows.map((r) => r['QUERY PLAN']).join('\n');
        const ms = Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? NaN);
        if (ms < best) [best, plan] = [ms, text];
      }
      console.log(`### ${name}: ${best.toFixed(2)} ms\n\n\`\`\`sql\n${sql.replace(p.customer, '<busiest customer>')}\n\`\`\`\n\n\`\`\`\n${plan.replace(new RegExp(p.customer, 'g'), '<busiest customer>')}\n\`\`\`\n`);
    }
  } finally {
    await pool.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
