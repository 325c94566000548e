import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { loadConfig } from '../../config';
import { makePool } from '../../lib/clients';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { EtlPartition, EtlPipeline } from '../../workflows/search-attributes';
import { readLive, renderLive } from '../live-view';

// The realtime loop is one long-running workflow with a fixed id, beside events/stream.
export const REALTIME_WORKFLOW_ID = 'realtime/metrics';
const REALTIME_WORKFLOW_TYPE = 'realtimeMetricsWorkflow';

function parseAt(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`--at ${v} is not a date; use ISO 8601, e.g. 2026-11-22T02:15:00Z`);
  return d;
}

export function register(program: Command): void {
  const live = program
    .command('live')
    .description('Near-real-time view: active users, events/min by type, conversion (minute and rolling hour), recent spike alerts.')
    .option('--once', 'print one snapshot and exit')
    .option('--json', 'print the snapshot as JSON (implies --once)')
    .option('--interval <seconds>', 'refresh period', '3')
    .option('--minutes <n>', 'minutes of history in the table', '10')
    .option('--at <iso>', 'show the minutes up to this time instead of now (replays, tests)')
    .action(async (opts: { once?: boolean; json?: boolean; interval: string; minutes: string; at?: string }) => {
      const config = loadConfig();
      const analytics = makePool(config, 'analytics', 2);
      const read = () => readLive(analytics, { at: parseAt(opts.at), minutes: Math.max(1, Number(opts.minutes) || 10) });
      try {
        if (opts.json) {
          console.log(JSON.stringify(await read(), null, 2));
          return;
        }
        if (opts.once || !process.stdout.isTTY) {
          console.log(renderLive(await read()).join('\n'));
          return;
        }
        const period = Math.max(0.5, Number(opts.interval) || 3) * 1000;
        let stop = false;
        process.once('SIGINT', () => void (stop = true));
        while (!stop) {
          const lines = renderLive(await read());
          process.stdout.write(`\x1b[2J\x1b[H${lines.join('\n')}\n\n(refreshing every ${period / 1000} s; Ctrl-C to quit)\n`);
          await new Promise((r) => setTimeout(r, period));
        }
      } finally {
        await analytics.end();
      }
    });

  live
    .command('start')
    .description(`Start the realtime metrics loop (workflow ${REALTIME_WORKFLOW_ID}); idempotent.`)
    .action(async () => {
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      try {
        await client.workflow.start(REALTIME_WORKFLOW_TYPE, {
          taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: REALTIME_WORKFLOW_ID, args: [{}],
          typedSearchAttributes: [{ key: EtlPipeline, value: 'realtime' }, { key: EtlPartition, value: 'live' }],
        });
        console.log(`started ${REALTIME_WORKFLOW_ID}: ${workflowUiUrl(config, REALTIME_WORKFLOW_ID)}`);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        console.log(`${REALTIME_WORKFLOW_ID} is already running: ${workflowUiUrl(config, REALTIME_WORKFLOW_ID)}`);
      } finally {
        await client.connection.close();
      }
    });

  live
    .command('stop')
    .description('Ask the realtime loop to stop after its current pass (loads committed meanwhile stay marked and are applied on the next start).')
    .action(async () => {
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      try {
        await client.workflow.getHandle(REALTIME_WORKFLOW_ID).signal('stop');
        console.log(`stop sent to ${REALTIME_WORKFLOW_ID}`);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        console.log(`${REALTIME_WORKFLOW_ID} is not running`);
      } finally {
        await client.connection.close();
      }
    });
}
