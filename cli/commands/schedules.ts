import type { Command } from 'commander';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../config';
import { makeTemporalClient } from '../../lib/temporal';
import { applySchedules } from '../../schedules/apply';
import { deleteSchedules } from '../../schedules/delete';
import { listSchedules } from '../../schedules/list';
import { pauseSchedules } from '../../schedules/pause';
import { CHURN_NAME, DEFAULT_ID_PREFIX, FRESHNESS_NAME, MONITOR_NAME, parseSlaMinutes } from '../../schedules/specs';
import { parseFreshnessMinutes } from '../../activities/monitor/freshness';
import { triggerSchedule } from '../../schedules/trigger';
import { unpauseSchedules } from '../../schedules/unpause';
import { PIPELINE_NAMES } from '../../workflows/partitions';
import { printData } from '../output';

const NAMES: string[] = [...PIPELINE_NAMES, MONITOR_NAME, CHURN_NAME, FRESHNESS_NAME];
const ALL_IDS = NAMES.map((p) => `${DEFAULT_ID_PREFIX}${p}`);

async function withClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await makeTemporalClient(config);
  try {
    return await fn(client, config);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new Error(`no schedule "${err.scheduleId.replace(/^temporal-sys-scheduler:/, '')}"; the project's are ${ALL_IDS.join(', ')} (create them with etl schedules apply; etl schedules list shows what exists)`);
    }
    throw err;
  } finally {
    await client.connection.close();
  }
}

/** Accepts `etl-orders` or just `orders`; no ids means all of the project's schedules. */
function resolveIds(ids: string[]): string[] {
  if (ids.length === 0) return ALL_IDS;
  return ids.map((id) => (NAMES.includes(id) ? `${DEFAULT_ID_PREFIX}${id}` : id));
}

export function register(program: Command): void {
  const schedules = program.command('schedules').description(`Temporal schedules of the pipelines (${ALL_IDS.join(', ')}).`);

  schedules
    .command('apply')
    .description('Create or update every schedule (idempotent; a paused schedule stays paused).')
    .option('--task-queue <name>', 'task queue the scheduled runs go to (default TEMPORAL_TASK_QUEUE)')
    .option('--paused', 'create new schedules paused')
    .option('--json', 'print JSON')
    .action(async (opts: { taskQueue?: string; paused?: boolean; json?: boolean }) => {
      await withClient(async (client, config) => {
        const applied = await applySchedules(client, {
          taskQueue: opts.taskQueue ?? config.TEMPORAL_TASK_QUEUE,
          slaMinutes: parseSlaMinutes(config.ETL_SLA_MINUTES),
          startPaused: opts.paused ?? false,
          backlogThreshold: config.ETL_SCHEDULE_BACKLOG_ALERT,
          freshnessMinutes: parseFreshnessMinutes(config.ETL_FRESHNESS_MINUTES),
        });
        printData(applied.map((a) => ({ ...a })), opts);
      });
    });

  schedules
    .command('list')
    .description('The schedules with their state, next runs, latest run, and starts buffered behind a running one or dropped (the server keeps at most 1,000).')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => printData((await listSchedules(client)).map((r) => ({ ...r, nextRuns: r.nextRuns.join(' '), running: r.running.join(' ') })), opts));
    });

  schedules
    .command('pause [ids...]')
    .description('Pause schedules (all when no id is given): no new runs until unpaused.')
    .option('--note <text>', 'why, shown in the Temporal UI')
    .action(async (ids: string[], opts: { note?: string }) => {
      await withClient(async (client) => printData((await pauseSchedules(client, resolveIds(ids), opts.note)).map((r) => ({ ...r })), {}));
    });

  schedules
    .command('unpause [ids...]')
    .description('Unpause schedules (all when no id is given). Windows missed while paused need `etl backfill`.')
    .option('--note <text>', 'why, shown in the Temporal UI')
    .action(async (ids: string[], opts: { note?: string }) => {
      await withClient(async (client) => printData((await unpauseSchedules(client, resolveIds(ids), opts.note)).map((r) => ({ ...r })), {}));
    });

  schedules
    .command('trigger <id>')
    .description('Run a schedule now; the run covers the window ending now.')
    .action(async (id: string) => {
      await withClient(async (client) => printData([{ ...(await triggerSchedule(client, resolveIds([id])[0] ?? id)) }], {}));
    });

  schedules
    .command('delete [ids...]')
    .description('Delete schedules (all when no id is given); runs already started go on.')
    .action(async (ids: string[]) => {
      await withClient(async (client) => printData((await deleteSchedules(client, resolveIds(ids))).map((r) => ({ ...r })), {}));
    });
}
