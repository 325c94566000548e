import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { loadConfig, type Config } from '../../config';
import { makeKafka } from '../../lib/clients';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { EtlPartition, EtlPipeline } from '../../workflows/search-attributes';
import { printData } from '../output';

// The continuous events pipeline is one long-running workflow with a fixed id, not a schedule, or
// with --shards N, N of them (events/stream/shard-<i>-of-<N>), each reading its share of the
// partitions, so the stream spreads over N workers. Addressed by type, signal and query names so
// this command does not load the workflow code.
export const EVENTS_WORKFLOW_ID = 'events/stream';
const EVENTS_WORKFLOW_TYPE = 'eventsStreamWorkflow';

/** The workflow ids of a stream split `shards` ways (one: the plain id). */
export function streamIds(shards: number): string[] {
  return shards === 1 ? [EVENTS_WORKFLOW_ID] : Array.from({ length: shards }, (_, i) => `${EVENTS_WORKFLOW_ID}/shard-${i}-of-${shards}`);
}

/** The events topic's partition count. */
async function topicPartitions(config: Config): Promise<number> {
  const admin = makeKafka(config, 'shop-etl-cli').admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(config.KAFKA_EVENTS_TOPIC)).length;
  } finally {
    await admin.disconnect();
  }
}

/** The ids of the stream's running workflows, sharded or not. */
async function runningStreams(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = "${EVENTS_WORKFLOW_TYPE}" AND ExecutionStatus = "Running"` })) {
    if (w.workflowId === EVENTS_WORKFLOW_ID || w.workflowId.startsWith(`${EVENTS_WORKFLOW_ID}/shard-`)) ids.push(w.workflowId);
  }
  return ids.sort();
}

async function withClient(fn: (client: Client, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const client = await makeTemporalClient(config);
  try {
    await fn(client, config);
  } finally {
    await client.connection.close();
  }
}

export function register(program: Command): void {
  const events = program.command('events').description(`The continuous Kafka events stream (workflow ${EVENTS_WORKFLOW_ID}).`);

  events
    .command('start')
    .description('Start the stream; if it is already running, say so and leave it alone.')
    .option('--shards <n>', 'split the topic between n streams (partition p goes to stream p mod n), so n workers read it at once; n up to the partition count', '1')
    .action(async (opts: { shards: string }) => {
      const shards = Number(opts.shards);
      if (!Number.isInteger(shards) || shards < 1 || shards > 1000) throw new Error(`--shards must be a whole number from 1 to 1000, got ${opts.shards}`);
      await withClient(async (client, config) => {
        if (shards > 1) {
          const partitions = await topicPartitions(config);
          if (shards > partitions) throw new Error(`--shards ${shards} is more than the ${partitions} partitions of ${config.KAFKA_EVENTS_TOPIC}: a shard without a partition would only idle; give the topic more partitions first (kafka-topics.sh --alter --partitions N)`);
        }
        const ids = streamIds(shards);
        const other = (await runningStreams(client)).filter((id) => !ids.includes(id));
        if (other.length > 0) {
          throw new Error(`the stream is running split another way (${other.join(', ')}); stop it first with etl events stop, then start it with --shards ${shards}: offsets are stored per partition, so it goes on where it was`);
        }
        for (const [index, workflowId] of ids.entries()) {
          try {
            await client.workflow.start(EVENTS_WORKFLOW_TYPE, {
              taskQueue: config.TEMPORAL_TASK_QUEUE,
              workflowId,
              args: [shards === 1 ? {} : { shard: { index, count: shards } }],
              typedSearchAttributes: [{ key: EtlPipeline, value: 'events' }, { key: EtlPartition, value: shards === 1 ? 'default' : `default shard ${index}/${shards}` }],
            });
            console.log(`started ${workflowId}: ${workflowUiUrl(config, workflowId)}`);
          } catch (err) {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            console.log(`${workflowId} is already running: ${workflowUiUrl(config, workflowId)}`);
          }
        }
      });
    });

  events
    .command('stop')
    .description('Ask the stream (every shard) to stop after its current batch (offsets are committed with the rows, so nothing is lost).')
    .action(async () => {
      await withClient(async (client) => {
        const ids = await runningStreams(client);
        if (ids.length === 0) {
          console.log(`${EVENTS_WORKFLOW_ID} is not running`);
          return;
        }
        await Promise.all(ids.map(async (id) => {
          const handle = client.workflow.getHandle(id);
          await handle.signal('stop');
          const out = await Promise.race([handle.result(), new Promise((r) => setTimeout(() => r(undefined), 120_000))]);
          console.log(out ? `${id} stopped: ${JSON.stringify(out)}` : `stop sent; ${id} is still finishing its batch`);
        }));
      });
    });

  events
    .command('status')
    .description('Whether the stream runs, and its totals (one row per shard when split).')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client, config) => {
        // Every running shard, or the plain stream (running, finished, or never started).
        const running = await runningStreams(client);
        try {
          printData(await Promise.all((running.length > 0 ? running : [EVENTS_WORKFLOW_ID]).map((id) => streamRow(client, config, id))), opts);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          printData([{ workflowId: EVENTS_WORKFLOW_ID, status: 'NOT STARTED', hint: 'etl events start' }], opts);
        }
      });
    });
}

/**
 * The heartbeat details of a loop's running session (workflows/supervise.ts): its counts so far.
 * Undefined when no session is running or it has not reported yet.
 */
export function sessionProgress(raw: { pendingActivities?: Array<{ heartbeatDetails?: { payloads?: Array<{ data?: Uint8Array | null }> | null } | null }> | null }): Record<string, number> | undefined {
  const data = raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    const v = JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, number>) : undefined;
  } catch {
    return undefined;
  }
}

/** One stream workflow's status and totals: the finished sessions' (the query) plus the running one's (its last heartbeat). */
async function streamRow(client: Client, config: Config, workflowId: string): Promise<Record<string, unknown>> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const totals: Record<string, number> = desc.status.name === 'RUNNING' ? await handle.query<Record<string, number>>('progress').catch(() => ({})) : {};
  const live = sessionProgress(desc.raw);
  const sum = (k: string) => (totals[k] ?? 0) + (live?.[k] ?? 0);
  const now = live ? { batches: sum('batches'), received: sum('received'), loaded: sum('loaded'), quarantined: sum('quarantined'), duplicates: sum('duplicates') } : {};
  return { workflowId, status: desc.status.name, since: desc.startTime.toISOString(), ...totals, ...now, ui: workflowUiUrl(config, workflowId) };
}
