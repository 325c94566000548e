import { ApplicationFailure, condition, continueAsNew, defineQuery, defineSignal, patched, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { EventsActivities, EventsSessionOutput } from '../activities/events';
import { invalidShard, type EventsShard } from './events-shard';
import { addCounts } from './helpers';
import { batchActivityOptions, sessionActivityOptions, superviseSessions, type StopState } from './supervise';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { activitiesOn } from './queues';

export interface EventsTotals {
  batches: number; received: number; loaded: number; quarantined: number; duplicates: number; runs: number;
  /** Sessions that failed for good and were restarted (supervised runs only). */
  restarts?: number;
}

/**
 * The continuous events stream. Topic and group default to the activity's (KAFKA_EVENTS_TOPIC,
 * etl-events); tests pass their own. `totals` is carried across continue-as-new; leave it unset.
 */
export interface EventsStreamInput {
  topic?: string;
  consumerGroup?: string;
  /** Per batch: messages (default 20000) and the longest wait for them (default 1000 ms). */
  maxMessages?: number;
  maxWaitMs?: number;
  /** Pause after an empty batch (default 1000 ms); a stop signal ends it early. */
  idleSleepMs?: number;
  /** Batches per run before continue-as-new (default 200); runs from before the supervised sessions only. */
  batchesPerRun?: number;
  /** How long one session (one long activity) runs before it reports its totals (default one hour). */
  sessionMs?: number;
  /** Sessions per run before continue-as-new (default 24). */
  sessionsPerRun?: number;
  /** Delay before the first restart of a failed session (default 5000 ms, doubling to 5 min). */
  restartDelayMs?: number;
  /** The supervisor's failure streak; carried across continue-as-new, leave it unset. */
  failureStreak?: number;
  /**
   * 'batches' runs the shape from before the supervised sessions (one activity per batch or pass, a
   * timer when idle), for benchmarks that compare the two in one run; default 'sessions'.
   */
  loop?: 'sessions' | 'batches';
  /**
   * Read only partitions p with p % count === index, so `count` streams with one group split the
   * topic (on as many workers): `etl events start --shards N`. Absent: every partition.
   */
  shard?: EventsShard;
  /** Stop after this many batches in all (tests); without it the stream runs until a stop signal. */
  maxBatches?: number;
  totals?: EventsTotals;
}

export interface EventsStreamOutput extends EventsTotals { stoppedBy: 'signal' | 'maxBatches' }

/** What a batch or a session counts, summed into the totals. */
const COUNTS = ['received', 'loaded', 'quarantined', 'duplicates'] as const;

export const stopEventsSignal = defineSignal('stop');
export const eventsProgressQuery = defineQuery<EventsTotals>('progress');

/** Runs from before it ran one short activity per batch and a timer when idle (thousands of history events an hour). */
export const SUPERVISED_SESSION_PATCH = 'supervised-session';

// A worker killed mid-session or mid-batch is noticed within 20 s, and the work re-read elsewhere from the stored offsets.
const { runEventsSession } = activitiesOn<EventsActivities>('stream', sessionActivityOptions('20 seconds'));
const { consumeEventsBatch } = activitiesOn<EventsActivities>('stream', batchActivityOptions('20 seconds'));

function invalid(input: EventsStreamInput | undefined): string | undefined {
  if (!input || typeof input !== 'object') return 'events: input must be an object (use {} for the defaults)';
  for (const k of ['maxMessages', 'maxWaitMs', 'idleSleepMs', 'batchesPerRun', 'maxBatches', 'sessionMs', 'sessionsPerRun', 'restartDelayMs'] as const) {
    const v = input[k];
    if (v !== undefined && (!Number.isInteger(v) || v < (k === 'maxWaitMs' || k === 'idleSleepMs' ? 0 : 1))) return `events: ${k} must be a positive integer, got ${String(v)}`;
  }
  for (const k of ['topic', 'consumerGroup'] as const) {
    if (input[k] !== undefined && (typeof input[k] !== 'string' || input[k] === '')) return `events: ${k} must be a non-empty string`;
  }
  const shard = invalidShard(input.shard);
  return shard ? `events: ${shard}` : undefined;
}

/** Consumes the event stream batch after batch until stopped; continues as new to keep histories small. */
export async function eventsStreamWorkflow(input: EventsStreamInput): Promise<EventsStreamOutput> {
  const problem = invalid(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  const where = `${input.topic ?? 'default'}${input.shard ? ` shard ${input.shard.index}/${input.shard.count}` : ''}`;
  upsertSearchAttributes([{ key: EtlPipeline, value: 'events' }, { key: EtlPartition, value: where }]);
  const totals: EventsTotals = { batches: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0, runs: 0, ...input.totals };
  totals.runs++;
  const state: StopState = { stop: false, failures: input.failureStreak ?? 0 };
  setHandler(stopEventsSignal, () => {
    state.stop = true;
    state.cancel?.();
  });
  setHandler(eventsProgressQuery, () => totals);

  if (input.loop !== 'batches' && patched(SUPERVISED_SESSION_PATCH)) {
    const topic = input.topic ?? 'the default topic';
    const end = await superviseSessions<EventsSessionOutput>({
      pipeline: 'events',
      name: `the events stream (group ${input.consumerGroup ?? 'etl-events'}, ${topic}${input.shard ? `, shard ${input.shard.index}/${input.shard.count}` : ''})`,
      session: () => runEventsSession({
        topic: input.topic, consumerGroup: input.consumerGroup, shard: input.shard, maxMessages: input.maxMessages, maxWaitMs: input.maxWaitMs, idleSleepMs: input.idleSleepMs,
        maxBatches: input.maxBatches === undefined ? undefined : input.maxBatches - totals.batches, sessionMs: input.sessionMs,
      }),
      record: (o) => addCounts(totals, o, ['batches', ...COUNTS]),
      finished: () => input.maxBatches !== undefined && totals.batches >= input.maxBatches,
      sessionsPerRun: input.sessionsPerRun ?? 24,
      restartDelayMs: input.restartDelayMs,
      failed: () => void (totals.restarts = (totals.restarts ?? 0) + 1),
    }, state);
    if (end === 'signal') return { ...totals, stoppedBy: 'signal' };
    if (end === 'finished') return { ...totals, stoppedBy: 'maxBatches' };
    return continueAsNew<typeof eventsStreamWorkflow>({ ...input, totals, failureStreak: state.failures });
  }

  // Runs from before the supervised sessions: one activity per batch.
  // The handler above sets state.stop (a signal buffered before it was registered went to it).

  const batchesPerRun = input.batchesPerRun ?? 200;
  for (let i = 0; i < batchesPerRun && !workflowInfo().continueAsNewSuggested; i++) {
    if (state.stop) return { ...totals, stoppedBy: 'signal' };
    if (input.maxBatches !== undefined && totals.batches >= input.maxBatches) return { ...totals, stoppedBy: 'maxBatches' };
    const b = await consumeEventsBatch({ topic: input.topic, consumerGroup: input.consumerGroup, shard: input.shard, maxMessages: input.maxMessages, maxWaitMs: input.maxWaitMs });
    totals.batches++;
    addCounts(totals, b, COUNTS);
    if (b.received === 0) await condition(() => state.stop, input.idleSleepMs ?? 1000);
  }
  // A stop that arrived during the last batch ends the stream here instead of being lost in the next run.
  if (state.stop) return { ...totals, stoppedBy: 'signal' };
  return continueAsNew<typeof eventsStreamWorkflow>({ ...input, totals });
}
