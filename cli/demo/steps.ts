/**
 * The steps of `etl demo`, each small and reusable: start the pipeline's continuous parts, wait
 * for the event stream to catch up, run one partition workflow directly, print the results.
 */
import { consumerLag } from '../../lib/kafka-lag';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { workflowUiUrl } from '../../lib/temporal';
import { EtlPartition, EtlPipeline } from '../../workflows/search-attributes';
import { PIPELINES, partitionWorkflowId, type PartitionInput, type PartitionOutput, type PipelineName } from '../../workflows/partitions';
import { printTable } from '../output';


/** Starts one of the long-running workflows (events stream, realtime loop) unless it already runs. */
export async function ensureRunning(client: Client, config: Config, workflowType: string, workflowId: string, label: string): Promise<string> {
  try {
    await client.workflow.start(workflowType, {
      taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId, args: [{}],
      typedSearchAttributes: [{ key: EtlPipeline, value: label }, { key: EtlPartition, value: 'live' }],
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already running';
    throw err;
  }
}

/** Waits until the stream's committed offsets (in staging) reach the topic's end offsets. */
export async function waitEventsCaughtUp(kafka: Kafka, staging: Pool, topic: string, group: string, timeoutMs: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const parts = await consumerLag(admin, staging, topic, group);
      const lag = parts.reduce((sum, p) => sum + Number(p.lag), 0);
      if (lag <= 0) return parts.reduce((s, p) => s + Number(p.end), 0);
      if (Date.now() > deadline) throw new Error(`events stream still ${lag} messages behind on ${topic} after ${timeoutMs / 1000} s; is the worker running? (npx etl worker)`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Runs one partition of a pipeline as its own workflow, with the canonical id. */
export async function runPartition(client: Client, config: Config, pipeline: PipelineName, window: PartitionInput): Promise<PartitionOutput> {
  return client.workflow.execute(PIPELINES[pipeline].workflowType, {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: partitionWorkflowId(pipeline, window.partitionStart),
    args: [window],
  }) as Promise<PartitionOutput>;
}

export function summariseLoads(out: PartitionOutput): string {
  const t = out.loads.reduce((a, l) => ({ r: a.r + l.received, l: a.l + l.loaded, q: a.q + l.quarantined, d: a.d + l.duplicates }), { r: 0, l: 0, q: 0, d: 0 });
  return `${out.pipeline}: received ${t.r} = loaded ${t.l} + quarantined ${t.q} + duplicates ${t.d} (${out.loads.length} loads)`;
}

/**
 * Prints the headline metrics for the demo's date range [from, to): the same definitions as the
 * contract views (product_sales, monthly_revenue, daily_traffic), restricted to the dataset's dates
 * so that other data in a shared database does not blur the picture.
 */
export async function printHeadlines(analytics: Pool, from: string, to: string): Promise<void> {
  const range = [from.slice(0, 10), to.slice(0, 10)];
  const top = await analytics.query(
    `select s.product_id, p.product_name, sum(s.units)::bigint as units, sum(s.revenue) as revenue
     from product_sales_daily s join dim_product p using (product_id)
     where s.order_date >= $1 and s.order_date < $2
     group by 1, 2 order by units desc, revenue desc limit 10`, range);
  console.log(`\nTop products, ${range[0]} .. ${range[1]} (as product_sales):`);
  printTable(top.rows);
  const monthly = await analytics.query(
    `select to_char(date_trunc('month', order_date), 'YYYY-MM') as month, sum(orders)::bigint as orders, sum(revenue) as revenue
     from orders_by_date where order_date >= $1 and order_date < $2 group by 1 order by 1`, range);
  console.log('\nMonthly revenue (as monthly_revenue):');
  printTable(monthly.rows);
  const traffic = await analytics.query(
    `select to_char(event_date, 'YYYY-MM-DD') as event_date, event_name, events from daily_traffic
     where event_date >= $1 and event_date < $2 order by 1, 2`, range);
  console.log('\nDaily traffic (daily_traffic):');
  printTable(traffic.rows);
  const checks = await analytics.query(
    `select status, count(*)::int as results, count(distinct check_date)::int as dates from data_checks_latest
     where check_date >= $1 and check_date < $2 group by 1 order by 1`, range);
  console.log('\nData checks run before each date was published (data_checks_latest; details: npx etl checks):');
  printTable(checks.rows);
}

export function printLinks(config: Config, ids: string[]): void {
  console.log('\nIn the Temporal UI:');
  console.log(`  all runs:     ${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows`);
  console.log(`  by pipeline:  ${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows?query=${encodeURIComponent('EtlPipeline="transform"')}`);
  for (const id of ids) console.log(`  ${id.padEnd(13)} ${workflowUiUrl(config, id)}`);
}
