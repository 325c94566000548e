/**
 * Rebuild from the raw lake (docs/recovery.md, `etl rebuild --from-raw`): every raw partition
 * (source, dt) of the chosen sources is replayed through the live validation and staging merge
 * (activities/rebuild); each source's partitions one after another in date order (the order the
 * live loads had), a few sources at a time; the events one Kafka partition per activity, its ranges
 * in offset order across every date. Then the transform runs as a backfill over the hours the rows
 * now in staging arrived in, which rebuilds every date they touch, and the curated lake with it.
 * Resumable (each replayed object is a load with an id) and idempotent (a second run skips every
 * load); continues as new every MAX_UNITS_PER_RUN units.
 */
import { ApplicationFailure, continueAsNew, defineQuery, executeChild, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RebuildActivities, ReplayRawOutput } from '../activities/rebuild';
import { DEFAULT_EVENTS_GROUP, RAW_SOURCES, type RawSource } from '../contract/pipeline';
import { backfillWorkflow } from './backfill';
import { DEFAULT_RUN_SIZES } from './backfill-plan';
import { slidingWindow } from './helpers';
import { activitiesOn } from './queues';
import { EtlPartition, EtlPipeline } from './search-attributes';

/** Raw partitions replayed per run before continuing as new (about 6 history events each). */
export const MAX_UNITS_PER_RUN = 300;
/** Objects replayed inexactly (or not at all) whose reasons a run carries and reports; all are counted, and each is in its activity's result. */
const INEXACT_KEPT = 50;

/** A raw date of one source, or (events) one Kafka partition over every raw date in range. */
export type RebuildUnit = { source: Exclude<RawSource, 'events'>; dt: string } | { source: 'events'; topic: string; partition: number };
export interface RebuildTotals { objects: number; received: number; loaded: number; quarantined: number; duplicates: number }
export interface RebuildState { startedAt: string; units: RebuildUnit[]; total: number; done: number; totals: RebuildTotals; inexact: string[]; inexactCount?: number; continuedAsNew: number }

export interface RebuildInput {
  /** Default: every source. */
  sources?: RawSource[];
  /** Raw partitions (dt) from and to, inclusive, YYYY-MM-DD; default: all. */
  from?: string;
  to?: string;
  /** Sources (and Kafka partitions) replayed at once (default 4). */
  concurrency?: number;
  /** The consumer group whose stored offsets the events restore (default the stream's). */
  consumerGroup?: string;
  /** Units per run before continuing as new (default MAX_UNITS_PER_RUN; tests use a few). */
  maxUnitsPerRun?: number;
  /** Run the transform afterwards (default true). */
  transform?: boolean;
  /** Carried across continue-as-new. */
  state?: RebuildState;
}

export interface RebuildProgress { phase: 'listing' | 'replaying' | 'transform' | 'done'; total: number; done: number; running: string[]; totals: RebuildTotals; inexact: number; continuedAsNew: number }
/** transformRuns: the transform partitions (hours) the closing backfill ran. */
export interface RebuildOutput extends RebuildProgress { inexactObjects: string[]; transformRuns?: number }

export const rebuildProgressQuery = defineQuery<RebuildProgress>('rebuildProgress');

const acts = activitiesOn<RebuildActivities>('heavy', {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const hourFloor = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();

export async function rebuildWorkflow(input: RebuildInput): Promise<RebuildOutput> {
  const sources: readonly RawSource[] = input.sources ?? RAW_SOURCES;
  const unknown = sources.filter((s) => !RAW_SOURCES.includes(s));
  if (unknown.length) throw ApplicationFailure.nonRetryable(`unknown source ${unknown.join(', ')}; use ${RAW_SOURCES.join(', ')}`, 'InvalidRebuildInput');
  for (const d of [input.from, input.to]) if (d !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw ApplicationFailure.nonRetryable(`from/to must be YYYY-MM-DD, got ${d}`, 'InvalidRebuildInput');
  upsertSearchAttributes([{ key: EtlPipeline, value: 'rebuild' }, { key: EtlPartition, value: `${input.from ?? 'all'}/${input.to ?? 'all'}` }]);

  let phase: RebuildProgress['phase'] = input.state ? 'replaying' : 'listing';
  const running = new Set<string>();
  let state = input.state;
  const progress = (): RebuildProgress => ({
    phase, total: state?.total ?? 0, done: state?.done ?? 0, running: [...running],
    totals: state?.totals ?? { objects: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0 }, inexact: state?.inexactCount ?? state?.inexact.length ?? 0, continuedAsNew: state?.continuedAsNew ?? 0,
  });
  setHandler(rebuildProgressQuery, progress);

  if (!state) {
    const group = input.consumerGroup;
    const lists = await Promise.all(sources.map(async (source): Promise<RebuildUnit[]> => (source === 'events'
      ? (await acts.eventPartitions({ from: input.from, to: input.to, group })).map((p) => ({ source, ...p }))
      : (await acts.rawDates({ source, from: input.from, to: input.to })).map((dt) => ({ source, dt })))));
    const units = lists.flat();
    state = { startedAt: new Date().toISOString(), units, total: units.length, done: 0, totals: { objects: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0 }, inexact: [], inexactCount: 0, continuedAsNew: 0 };
  }
  const s = state;
  phase = 'replaying';
  const batch = s.units.slice(0, Math.max(1, input.maxUnitsPerRun ?? MAX_UNITS_PER_RUN));
  const add = (o: ReplayRawOutput) => {
    for (const k of ['objects', 'received', 'loaded', 'quarantined', 'duplicates'] as const) s.totals[k] += o[k];
    for (const x of o.inexact) if (s.inexact.length < INEXACT_KEPT) s.inexact.push(x);
    s.inexactCount = (s.inexactCount ?? 0) + o.inexact.length;
    s.done++;
  };
  const replay = async (u: RebuildUnit) => {
    const name = u.source === 'events' ? `events/${u.topic}[${u.partition}]` : `${u.source}/dt=${u.dt}`;
    running.add(name);
    try {
      add(u.source === 'events'
        ? await acts.replayEventsPartition({ topic: u.topic, partition: u.partition, group: input.consumerGroup ?? DEFAULT_EVENTS_GROUP, from: input.from, to: input.to })
        : await acts.replayRawPartition({ source: u.source, dt: u.dt }));
    } finally {
      running.delete(name);
    }
  };
  // Lanes: a source's dates in order (what the live loads did first stays first: a review keeps its
  // first version), one lane per source or Kafka partition, `concurrency` lanes at once.
  const lanes = new Map<string, RebuildUnit[]>();
  for (const u of batch) {
    const lane = u.source === 'events' ? `events/${u.topic}/${u.partition}` : u.source;
    lanes.set(lane, [...(lanes.get(lane) ?? []), u]);
  }
  await slidingWindow([...lanes.values()], Math.max(1, input.concurrency ?? 4), async (lane) => {
    for (const u of lane) await replay(u);
  });
  if (s.units.length > batch.length) {
    return continueAsNew<typeof rebuildWorkflow>({ ...input, state: { ...s, units: s.units.slice(batch.length), continuedAsNew: s.continuedAsNew + 1 } });
  }

  let transformRuns: number | undefined;
  if (input.transform !== false) {
    phase = 'transform';
    // The window is when the rows now in staging arrived, not this run's start: a re-run after a
    // failed transform (every load skipped) still transforms everything the rebuild staged. The
    // transform backfill reads what arrived in its window (its extracts look back 2 hours too) and
    // rebuilds every date those rows touch.
    const arrived = await acts.stagingArrivals();
    if (arrived) {
      const out = await executeChild(backfillWorkflow, {
        workflowId: `${workflowInfo().workflowId}/transform`,
        args: [{ pipelines: ['transform'], from: hourFloor(Date.parse(arrived.first)), to: hourFloor(Date.parse(arrived.last) + 3_600_000), concurrency: 1, runSizes: { transform: DEFAULT_RUN_SIZES.transform } }],
      });
      transformRuns = out.partitions?.completed;
    }
  }
  phase = 'done';
  return { ...progress(), inexactObjects: s.inexact, ...(transformRuns !== undefined ? { transformRuns } : {}) };
}
