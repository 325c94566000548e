/**
 * The steps of `etl demo`, each small and reusable: start the pipeline's continuous parts, wait
 * for the event stream to catch up, run one partition workflow directly, print the results.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { workflowUiUrl } from '../../lib/temporal';
import { eventsStreamWorkflow } from '../../workflows';
import { PIPELINES, partitionWorkflowId, type PartitionInput, type PartitionOutput, type PipelineName } from '../../workflows/partitions';
import { printTable } from '../output';

export const EVENTS_STREAM_ID = 'events/stream';

/** Starts the continuous events workflow unless it already runs. */
export async function ensureEventsStream(client: Client, config: Config): Promise<string> {
  try {
    await client.workflow.start(eventsStreamWorkflow, { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: EVENTS_STREAM_ID, args: [{}] });
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
      const ends = await admin.fetchTopicOffsets(topic);
      const { rows } = await staging.query<{ partition: number; next_offset: string }>(
        'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
      const done = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
      const lag = ends.reduce((sum, e) => sum + Number(BigInt(e.high) - (done.get(e.partition) ?? 0n)), 0);
      if (lag <= 0) return ends.reduce((s, e) => s + Number(e.high), 0);
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

/** Prints the headline metrics from the analytics database. */
export async function printHeadlines(analytics: Pool): Promise<void> {
  const top = await analytics.query('select product_id, product_name, units, revenue from product_sales order by units desc, revenue desc limit 10');
  console.log('\nTop products (product_sales):');
  printTable(top.rows);
  const monthly = await analytics.query("select to_char(month, 'YYYY-MM') as month, orders, revenue from monthly_revenue order by month");
  console.log('\nMonthly revenue (monthly_revenue):');
  printTable(monthly.rows);
  const traffic = await analytics.query('select event_date, event_name, events from daily_traffic order by event_date, event_name');
  console.log('\nDaily traffic (daily_traffic):');
  printTable(traffic.rows);
}

export function printLinks(config: Config, ids: string[]): void {
  console.log('\nIn the Temporal UI:');
  console.log(`  all runs:     ${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows`);
  console.log(`  by pipeline:  ${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows?query=${encodeURIComponent('EtlPipeline="transform"')}`);
  for (const id of ids) console.log(`  ${id.padEnd(13)} ${workflowUiUrl(config, id)}`);
}
