/** Helpers of the transform integration tests: run partitions, checksum a test's own analytics rows. */
import type { Pool } from 'pg';
import { transformWorkflow, type TransformOutput } from '../../workflows/transform';
import { partitionWorkflowId, type PartitionInput } from '../../workflows/partitions';
import type { TestEnv } from './env';
import { inTransaction } from '../../activities/common/transaction';

/** Runs transform partitions (at most `limit` at once) on the test's worker; ids get `suffix`. */
export async function runTransforms(env: TestEnv, parts: PartitionInput[], suffix = '', limit = 4): Promise<Array<TransformOutput & { workflowId: string }>> {
  return env.withWorker(async () => {
    const out: Array<TransformOutput & { workflowId: string }> = [];
    let next = 0;
    const lane = async () => {
      while (next < parts.length) {
        const p = parts[next++]!;
        const workflowId = partitionWorkflowId('transform', p.partitionStart) + suffix;
        const r = await env.client.workflow.execute(transformWorkflow, { taskQueue: env.taskQueue, workflowId, args: [p] });
        out.push({ ...r, workflowId });
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, parts.length) }, lane));
    return out;
  });
}

/** md5 over every analytics row of the test's dates and products, plus per-table counts. */
export async function analyticsChecksum(analytics: Pool, dates: string[], prefix: string): Promise<{ md5: string; rows: number }> {
  const byDate: Array<[string, string]> = [
    ['orders_by_date', 'order_date'], ['daily_traffic', 'event_date'], ['daily_unique_visitors', 'event_date'],
    ['product_sales_daily', 'order_date'], ['product_events_daily', 'event_date'], ['funnel_daily', 'event_date'],
    ['dq_findings', 'finding_date'], ['fact_order_line', 'order_date'], ['fact_event', 'event_date'],
    ['sales_daily_segment', 'order_date'], ['visitors_daily_country', 'event_date'],
    ['order_values', 'order_date'], ['customer_order_days', 'order_date'], ['customer_order_gaps', 'order_date'],
  ];
  const parts = [
    ...byDate.map(([t, c]) => `select '${t}' || t::text as x from ${t} t where ${c} = any($1::date[])`),
    `select 'dim_product' || t::text from dim_product t where product_id like $2`,
    `select 'product_sales' || t::text from product_sales t where product_id like $2`,
    `select 'monthly_revenue' || t::text from monthly_revenue t where month = any(select date_trunc('month', d)::date from unnest($1::date[]) d)`,
  ];
  const { rows } = await analytics.query<{ md5: string; n: string }>(
    `select md5(string_agg(x, '|' order by x)) as md5, count(*) as n from (${parts.join(' union all ')}) s`,
    [dates, `${prefix}%`],
  );
  return { md5: rows[0]?.md5 ?? '', rows: Number(rows[0]?.n ?? 0) };
}

/** Forgets the test's facts in the work layer and rebuilds its dates empty (dimensions stay). */
export async function forgetFacts(analytics: Pool, dates: string[], prefix: string): Promise<void> {
  await inTransaction(analytics, async (client) => {
    for (const t of ['work.events:event_id', 'work.order_lines:order_id', 'work.orders:order_id', 'work.purchases:order_id']) {
      const [table, col] = t.split(':');
      await client.query(`delete from ${table} where ${col} like $1`, [`${prefix}%`]);
    }
    for (const d of dates) {
      await client.query('select work.load_facts($1::date)', [d]);
      await client.query('select work.refresh_metrics($1::date)', [d]);
      await client.query('select work.refresh_customer_days($1::date)', [d]);
    }
  });
}
