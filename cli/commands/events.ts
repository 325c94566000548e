import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { loadConfig, type Config } from '../../config';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { EtlPartition, EtlPipeline } from '../../workflows/search-attributes';
import { printData } from '../output';

// The continuous events pipeline is one long-running workflow with a fixed id, not a schedule.
// Addressed by type, signal and query names so this command does not load the workflow code.
export const EVENTS_WORKFLOW_ID = 'events/stream';
const EVENTS_WORKFLOW_TYPE = 'eventsStreamWorkflow';

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
    .action(async () => {
      await withClient(async (client, config) => {
        try {
          await client.workflow.start(EVENTS_WORKFLOW_TYPE, {
            taskQueue: config.TEMPORAL_TASK_QUEUE,
            workflowId: EVENTS_WORKFLOW_ID,
            args: [{}],
            typedSearchAttributes: [{ key: EtlPipeline, value: 'events' }, { key: EtlPartition, value: 'default' }],
          });
          console.log(`started ${EVENTS_WORKFLOW_ID}: ${workflowUiUrl(config, EVENTS_WORKFLOW_ID)}`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          console.log(`${EVENTS_WORKFLOW_ID} is already running: ${workflowUiUrl(config, EVENTS_WORKFLOW_ID)}`);
        }
      });
    });

  events
    .command('stop')
    .description('Ask the stream to stop after its current batch (offsets are committed with the rows, so nothing is lost).')
    .action(async () => {
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(EVENTS_WORKFLOW_ID);
        if ((await handle.describe()).status.name !== 'RUNNING') {
          console.log(`${EVENTS_WORKFLOW_ID} is not running`);
          return;
        }
        await handle.signal('stop');
        const out = await Promise.race([handle.result(), new Promise((r) => setTimeout(() => r(undefined), 120_000))]);
        console.log(out ? `${EVENTS_WORKFLOW_ID} stopped: ${JSON.stringify(out)}` : `stop sent; ${EVENTS_WORKFLOW_ID} is still finishing its batch`);
      });
    });

  events
    .command('status')
    .description('Whether the stream runs, and its totals.')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client, config) => {
        const handle = client.workflow.getHandle(EVENTS_WORKFLOW_ID);
        try {
          const desc = await handle.describe();
          const totals: Record<string, number> = desc.status.name === 'RUNNING' ? await handle.query<Record<string, number>>('progress').catch(() => ({})) : {};
          // The running session's own counts, from its last heartbeat: the query has the finished sessions'.
          const live = sessionProgress(desc.raw);
          const sum = (k: string) => (totals[k] ?? 0) + (live?.[k] ?? 0);
          const now = live ? { batches: sum('batches'), received: sum('received'), loaded: sum('loaded'), quarantined: sum('quarantined'), duplicates: sum('duplicates') } : {};
          printData([{ workflowId: EVENTS_WORKFLOW_ID, status: desc.status.name, since: desc.startTime.toISOString(), ...totals, ...now, ui: workflowUiUrl(config, EVENTS_WORKFLOW_ID) }], opts);
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
