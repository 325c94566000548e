/**
 * The schedule definitions: one per partitioned pipeline, with a stable id, and explicit overlap
 * and catch-up policies. Every schedule starts scheduledPipelineWorkflow, which derives its window
 * from the scheduled time, so the interval here must equal the pipeline's cadence.
 *
 * Overlap BUFFER_ALL: each run is a distinct data window, so none may be skipped (SKIP or
 * BUFFER_ONE would drop windows when a run is slow and leave gaps until someone backfills), and
 * windows of one pipeline run one at a time, in order, so they never race on the incremental
 * cursor. A slow run raises a 'slow' alert, and the queued windows drain once it finishes.
 * Catch-up one day: after an outage of the Temporal server up to a day, missed windows run on
 * their own; anything older is a job for `etl backfill`.
 */
import { ScheduleOverlapPolicy, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { parseNamedMinutes } from '../lib/named-minutes';
import { PIPELINES, PIPELINE_NAMES, type PipelineName } from '../workflows/partitions';
import type { scheduledPipelineWorkflow, ScheduledPipelineInput } from '../workflows/scheduled';
import { DEFAULT_BACKLOG_THRESHOLD, type scheduleMonitorWorkflow, type ScheduleMonitorInput } from '../workflows/monitor';
import { EtlPipeline } from '../workflows/search-attributes';
import type { churnWorkflow } from '../workflows/churn';
import type { freshnessWorkflow } from '../workflows/freshness';

/** When each schedule fires: every `cadence` minutes, `lagMinutes` after the window closes. */
export const SCHEDULE_TIMING: Record<PipelineName, { lagMinutes: number; description: string }> = {
  // A couple of minutes after each window closes: a row stamped just before T may become visible
  // (commit, API replication, S3 listing) just after it; a run at exactly T would miss it for good.
  orders: { lagMinutes: 2, description: 'orders API, every 10 minutes, 2 minutes after the window' },
  catalog: { lagMinutes: 2, description: 'shop database (products, users, inventory, reviews), every 30 minutes, 2 minutes after the window' },
  files: { lagMinutes: 1, description: 'file drops, every 5 minutes, 1 minute after the window' },
  // At minute 5, so the last ingestion runs of the hour (10, 30 and 5 minute windows ending at :00) are in.
  transform: { lagMinutes: 5, description: 'hourly transform at minute 5' },
};

export const OVERLAP_POLICY = ScheduleOverlapPolicy.BUFFER_ALL;
export const CATCHUP_WINDOW = '1 day';

export interface ScheduleContext {
  /** The task queue the started workflows run on (TEMPORAL_TASK_QUEUE; tests use their own). */
  taskQueue: string;
  /** Prefix of schedule ids; `etl-` for the real ones, something unique in tests. */
  idPrefix?: string;
  /** Prefix of the started workflows' ids; Temporal appends the scheduled time. */
  workflowIdPrefix?: string;
  /** SLA per pipeline in minutes; a pipeline not named gets its cadence. */
  slaMinutes?: Partial<Record<PipelineName, number>>;
  pipelines?: readonly PipelineName[];
  /** Create new schedules paused (an existing schedule keeps its own state). */
  startPaused?: boolean;
  /** Also apply the schedule monitor (default true). */
  monitor?: boolean;
  /** Also apply the weekly churn training (default true). */
  churn?: boolean;
  /** Also apply the freshness check (default true), with these SLA overrides (ETL_FRESHNESS_MINUTES). */
  freshness?: boolean;
  freshnessMinutes?: Record<string, number>;
  /** Buffered starts that raise a backlog alert (ETL_SCHEDULE_BACKLOG_ALERT); 0 turns it off. */
  backlogThreshold?: number;
}

export interface ScheduleDefinition {
  scheduleId: string;
  pipeline: PipelineName;
  options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof scheduledPipelineWorkflow>>;
}

export const DEFAULT_ID_PREFIX = 'etl-';

export function scheduleId(pipeline: PipelineName, idPrefix = DEFAULT_ID_PREFIX): string {
  return `${idPrefix}${pipeline}`;
}

export function scheduleDefinitions(ctx: ScheduleContext): ScheduleDefinition[] {
  return (ctx.pipelines ?? PIPELINE_NAMES).map((pipeline) => {
    const cadence = PIPELINES[pipeline].cadenceMinutes;
    const { lagMinutes, description } = SCHEDULE_TIMING[pipeline];
    const args: ScheduledPipelineInput = { pipeline, lagMinutes, slaMinutes: ctx.slaMinutes?.[pipeline] ?? cadence };
    const id = scheduleId(pipeline, ctx.idPrefix);
    return {
      scheduleId: id,
      pipeline,
      options: {
        scheduleId: id,
        spec: { intervals: [{ every: `${cadence} minutes`, offset: `${lagMinutes} minutes` }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'scheduledPipelineWorkflow',
          workflowId: `${ctx.workflowIdPrefix ?? 'scheduled/'}${pipeline}`,
          taskQueue: ctx.taskQueue,
          args: [args],
          typedSearchAttributes: [{ key: EtlPipeline, value: pipeline }],
        },
        policies: { overlap: OVERLAP_POLICY, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
        state: { paused: ctx.startPaused ?? false, note: `${description}; managed by etl schedules apply` },
      },
    };
  });
}

/** The monitor's schedule id and cadence. */
export const MONITOR_NAME = 'monitor';
export const MONITOR_EVERY_MINUTES = 5;

export interface MonitorScheduleDefinition {
  scheduleId: string;
  options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof scheduleMonitorWorkflow>>;
}

/**
 * A check every few minutes (the schedule monitor, the freshness check): overlap SKIP and a
 * catch-up of one interval, since a check is about now and a missed one is worth nothing later.
 */
function periodicCheck<W extends Workflow>(ctx: ScheduleContext, name: string, everyMinutes: number, workflowType: string, args: Parameters<W>, note: string): { scheduleId: string; options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<W>> } {
  const id = `${ctx.idPrefix ?? DEFAULT_ID_PREFIX}${name}`;
  return {
    scheduleId: id,
    options: {
      scheduleId: id,
      spec: { intervals: [{ every: `${everyMinutes} minutes` }] },
      // The generic start options resolve per workflow; the caller's `args` are typed by W above.
      action: { type: 'startWorkflow', workflowType, workflowId: `${ctx.workflowIdPrefix ?? 'scheduled/'}${name}`, taskQueue: ctx.taskQueue, args } as ScheduleOptionsStartWorkflowAction<W>,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${everyMinutes} minutes`, pauseOnFailure: false },
      state: { paused: ctx.startPaused ?? false, note: `${note}; managed by etl schedules apply` },
    },
  };
}

/** The schedule monitor (workflows/monitor.ts): every 5 minutes it checks the project's schedules for starts buffered behind a stuck run, or dropped. */
export function monitorScheduleDefinition(ctx: ScheduleContext): MonitorScheduleDefinition {
  const args: ScheduleMonitorInput = { idPrefix: ctx.idPrefix ?? DEFAULT_ID_PREFIX, backlogThreshold: ctx.backlogThreshold ?? DEFAULT_BACKLOG_THRESHOLD };
  return periodicCheck<typeof scheduleMonitorWorkflow>(ctx, MONITOR_NAME, MONITOR_EVERY_MINUTES, 'scheduleMonitorWorkflow', [args],
    `checks the schedules' buffered and dropped starts every ${MONITOR_EVERY_MINUTES} minutes`);
}

/** The churn training's schedule id (workflows/churn.ts), and when it fires: weekly, Monday 03:30 UTC. */
export const CHURN_NAME = 'churn';
export const CHURN_WHEN = { dayOfWeek: 'MONDAY', hour: 3, minute: 30 } as const;

export interface ChurnScheduleDefinition {
  scheduleId: string;
  options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof churnWorkflow>>;
}

/**
 * The weekly churn training (docs/churn.md): on the latest data, with the horizon chosen from it.
 * Overlap SKIP and a one-day catch-up: a training is about the data now, and two at once would only
 * compete for the ML worker.
 */
export function churnScheduleDefinition(ctx: ScheduleContext): ChurnScheduleDefinition {
  const id = `${ctx.idPrefix ?? DEFAULT_ID_PREFIX}${CHURN_NAME}`;
  return {
    scheduleId: id,
    options: {
      scheduleId: id,
      spec: { calendars: [{ dayOfWeek: CHURN_WHEN.dayOfWeek, hour: CHURN_WHEN.hour, minute: CHURN_WHEN.minute }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'churnWorkflow',
        workflowId: `${ctx.workflowIdPrefix ?? 'scheduled/'}${CHURN_NAME}`,
        taskQueue: ctx.taskQueue,
        args: [{}],
        typedSearchAttributes: [{ key: EtlPipeline, value: CHURN_NAME }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
      state: { paused: ctx.startPaused ?? false, note: 'trains and scores the churn models weekly (Monday 03:30 UTC); managed by etl schedules apply' },
    },
  };
}

/** The freshness check's schedule id and cadence (workflows/freshness.ts). */
export const FRESHNESS_NAME = 'freshness';
export const FRESHNESS_EVERY_MINUTES = 5;

export interface FreshnessScheduleDefinition {
  scheduleId: string;
  options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof freshnessWorkflow>>;
}

/** The freshness check (workflows/freshness.ts): every 5 minutes, with the SLA overrides. */
export function freshnessScheduleDefinition(ctx: ScheduleContext): FreshnessScheduleDefinition {
  return periodicCheck<typeof freshnessWorkflow>(ctx, FRESHNESS_NAME, FRESHNESS_EVERY_MINUTES, 'freshnessWorkflow', [{ slaMinutes: ctx.freshnessMinutes ?? {} }],
    `checks every table's freshness against its SLA every ${FRESHNESS_EVERY_MINUTES} minutes (stale alerts)`);
}

/** Parses ETL_SLA_MINUTES, e.g. `orders=8,transform=45`; throws naming the bad entry. */
export function parseSlaMinutes(text: string | undefined): Partial<Record<PipelineName, number>> {
  return parseNamedMinutes(text, { variable: 'ETL_SLA_MINUTES', noun: 'pipeline', names: PIPELINE_NAMES, zero: 'disables the SLA' });
}
