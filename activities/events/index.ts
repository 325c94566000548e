/**
 * The events pipeline's activity: one batch from the Kafka topic, exactly once into staging. Offsets
 * are read from etl.kafka_offsets (not from Kafka), the raw messages go to the lake, and each
 * partition's range is one load whose rows, quarantine and new offset commit together.
 */
import { Context } from '@temporalio/activity';
import { activityLog, handOver, heartbeat, keepAlive } from '../common/heartbeat';
import type { Pool } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import { classifyError, rethrowClassified } from '../../lib/errors';
import { lakeKey, utcDate } from '../../lib/lake';
import { putObject } from '../../lib/s3';
import type { LoadSummary } from '../../contract/pipeline';
import { createAlertActivities, insertAlert, type RaiseAlertInput } from '../common/alerts';
import type { EventsShard } from '../../workflows/events-shard';
import { eventReader, logStartOffsets, type ReadMessage } from './reader';
import { judgeRangeYielding, loadEventRange, moveOffsetPast, StaleOffsetsError, type EventsBatchHook } from './load';
import { runLoad } from '../common/loads';
import { rawMessages } from '../common/raw';

export interface EventsDeps {
  staging: Pool; s3: S3Client; bucket: string; kafka: Kafka; eventsTopic: string; alertWebhookUrl?: string;
  /** How long a range must have been failing before it is called stuck (EVENTS_STUCK_ALERT_SECONDS); default 30 s. */
  stuckAlertAfterMs?: number;
}

/** The stored offsets' owner when a run names none; tests pass their own with their own topic. */
import { DEFAULT_EVENTS_GROUP } from '../../contract/pipeline';
export { DEFAULT_EVENTS_GROUP };
/** Bytes of message values per batch (at least one message per partition is taken whatever its size). */
export const DEFAULT_BATCH_BYTES = 32 << 20;

/** topic defaults to KAFKA_EVENTS_TOPIC. A batch ends at maxMessages or maxBytes, or after maxWaitMs, whichever is first. */
export interface ConsumeEventsBatchInput {
  topic?: string; consumerGroup?: string; maxMessages?: number; maxBytes?: number; maxWaitMs?: number;
  /** Read only this shard's partitions (reader.ts EventsShard); absent: every partition. */
  shard?: EventsShard;
}

/**
 * A session of the stream: batches one after another in this one activity, pinned to its worker
 * (and its Kafka reader) while it lives. It ends by itself after `sessionMs` or `maxBatches`, so the
 * workflow records its totals; a stop cancels it, and it ends at its next heartbeat.
 */
export interface EventsSessionInput extends ConsumeEventsBatchInput {
  /** Pause after an empty batch (default 1000 ms). */
  idleSleepMs?: number;
  /** End after this many batches (the workflow passes what is left of its maxBatches). */
  maxBatches?: number;
  /** End after this long (default one hour). */
  sessionMs?: number;
}

/** endedBy 'handover': a retried attempt handing back what the failed one did (handOver in common/heartbeat.ts). */
export interface EventsSessionOutput { batches: number; received: number; loaded: number; quarantined: number; duplicates: number; endedBy: 'maxBatches' | 'time' | 'handover' }

export const DEFAULT_SESSION_MS = 3_600_000;

const COUNTS = ['received', 'loaded', 'quarantined', 'duplicates'] as const;
type Counts = Record<(typeof COUNTS)[number], number>;

/** The loads that ended well, of a batch's settled ones. */
const fulfilled = (settled: readonly PromiseSettledResult<LoadSummary>[]): LoadSummary[] => settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));

/** What loads counted, summed (a skipped load was someone else's). */
function sums(loads: readonly LoadSummary[]): Counts {
  const out: Counts = { received: 0, loaded: 0, quarantined: 0, duplicates: 0 };
  for (const l of loads) if (!l.skipped) for (const k of COUNTS) out[k] += l[k];
  return out;
}

export interface ConsumeEventsBatchOutput {
  received: number;
  loaded: number;
  quarantined: number;
  duplicates: number;
  /** One per partition range read; empty when nothing was waiting. */
  loads: LoadSummary[];
}


/**
 * The raw object's date partition: the first message's Kafka timestamp (the same on every re-read).
 * A producer sets it freely, so it is held to 1970..9999: year 10000 would make no dt=YYYY-MM-DD.
 */
export function kafkaDt(timestamp: string): string {
  const ms = Number(timestamp);
  return utcDate(new Date(Number.isFinite(ms) ? Math.min(Math.max(ms, 0), Date.UTC(9999, 11, 31)) : 0));
}

/**
 * A range read ahead and not tried: the range before it on its partition failed (that failure is the
 * one to report), or the session was ending on an error or a stop. It leaves no load record.
 */
export class RangeNotBegunError extends Error {
  override readonly name = 'RangeNotBegunError';
}

/**
 * A range whose load fails with a retryable error is called stuck once it has failed on this attempt
 * or a later one AND has been failing for at least `stuckAfterMs` (30 s unless configured). Attempts
 * alone are not enough: the session's retries come 1 s, 2 s, 4 s apart, so a PostgreSQL restart of a
 * few seconds reached attempt 3 and paged someone for a fault the stream recovered from.
 */
export const STUCK_ALERT_ATTEMPT = 3;
export const DEFAULT_STUCK_ALERT_AFTER_MS = 30_000;
/**
 * A range quiet this long is not failing in a row: longer than a slow attempt (a session fails
 * within its 5-minute heartbeat-guarded batch) plus the supervisor's longest restart back-off (5 min).
 */
const STREAK_GAP_MS = 30 * 60_000;

export interface FailedRange { group: string; topic: string; partition: number; firstOffset: string; lastOffset: string; error: unknown }
export interface AttemptInfo { attempt: number; workflowId: string; runId: string }
/** How long the range has been failing (since its first failure seen in this worker), and the threshold. */
export interface FailingFor { ms: number; stuckAfterMs: number }

const stuckPartition = (f: Pick<FailedRange, 'group' | 'topic' | 'partition'>) => `events/stuck/${f.group}/${f.topic}/${f.partition}@`;
const stuckAlertId = (f: FailedRange) => `${stuckPartition(f)}${f.firstOffset}`;

/**
 * The alert for a range whose load failed, or null while it is no one's problem yet. The id is stable
 * per (group, topic, partition, first offset): however many attempts fail, one row. A permanent error
 * alerts at once (there is no next attempt); a lost race with another attempt never does.
 */
export function stuckRangeAlert(f: FailedRange, at: AttemptInfo, failing: FailingFor): RaiseAlertInput | null {
  if (f.error instanceof StaleOffsetsError) return null;
  const permanent = !classifyError(f.error).retryable;
  if (!permanent && (at.attempt < STUCK_ALERT_ATTEMPT || failing.ms < failing.stuckAfterMs)) return null;
  const error = (f.error instanceof Error ? `${f.error.name}: ${f.error.message}` : String(f.error)).slice(0, 1500).replace(/\u0000/g, '\\u0000');
  const next = permanent
    ? 'The error is permanent, so the stream has stopped'
    : `It has been failing for ${Math.round(failing.ms / 1000)} s; the stream keeps retrying this range and reads nothing after it until the range loads`;
  return {
    alertId: stuckAlertId(f),
    pipeline: 'events',
    kind: 'failed',
    workflowId: at.workflowId,
    runId: at.runId,
    message: `events group ${f.group} is stuck on topic ${f.topic} partition ${f.partition}, offsets ${f.firstOffset}-${f.lastOffset}: attempt ${at.attempt} failed with ${error}. ${next}; fix the cause (the worker log has the stack), and if it is a message no load can take, report it with its offset.`,
  };
}

/** The data_lost alert's id: one per load that moved past a deleted range. */
export const lostAlertId = (loadId: string) => `${loadId}/data_lost`;

export interface LostMessages { group: string; topic: string; partition: number; loadId: string; from: string; to: string; count: number }

/** The alert for offsets [from, to) that Kafka deleted before the stream read them. */
export function lostAlert(l: LostMessages, at: AttemptInfo | null): RaiseAlertInput {
  return {
    alertId: lostAlertId(l.loadId),
    pipeline: 'events',
    kind: 'data_lost',
    workflowId: at?.workflowId ?? '-',
    runId: at?.runId ?? '-',
    message: `events group ${l.group} lost ${l.count} messages of topic ${l.topic} partition ${l.partition}, offsets ${l.from}-${BigInt(l.to) - 1n}: Kafka's retention deleted them before the stream read them (the stored offset ${l.from} was below the log start). The stream went on from offset ${l.to}; load ${l.loadId} counts them in etl.loads.lost. Re-send them from the producer's side if it keeps them, and make the topic's retention.ms longer than the stream can be stopped.`,
  };
}


function attemptInfo(): AttemptInfo | null {
  try {
    const { attempt, workflowExecution: w, activityId } = Context.current().info;
    return { attempt, workflowId: w?.workflowId ?? `activity/${activityId}`, runId: w?.runId ?? '-' };
  } catch {
    return null; // outside an activity: no retries, so nothing can loop
  }
}

/** Hooks run in every range's transaction; see EventsBatchHook. */
export function createEventsActivities(deps: EventsDeps, hooks: readonly EventsBatchHook[] = []) {
  const { staging, s3, bucket, kafka } = deps;
  const alerts = createAlertActivities({ staging, alertWebhookUrl: deps.alertWebhookUrl });
  const stuckAfterMs = deps.stuckAlertAfterMs ?? DEFAULT_STUCK_ALERT_AFTER_MS;
  // When each failing range (its stuck alert id) first and last failed in this worker; a range of
  // the same partition that loads ends the streak, and so does a quiet spell of STREAK_GAP_MS, 30 min (the
  // range was loaded elsewhere, or the stream stopped): the entry is then dropped. A retry that
  // lands on another worker starts its own clock there, so an alert can come late by that much.
  const failingSince = new Map<string, { since: number; last: number }>();
  return {
    consumeEventsBatch: (input: ConsumeEventsBatchInput) => consumeBatch(input),

    async runEventsSession(input: EventsSessionInput): Promise<EventsSessionOutput> {
      const ctx = Context.current();
      // Progress is messages read and committed, not batches: an idle session polls empty ones.
      const prior = handOver<EventsSessionOutput>((p) => p.received > 0);
      if (prior) return prior;
      const until = Date.now() + (input.sessionMs ?? DEFAULT_SESSION_MS);
      const t: EventsSessionOutput = { batches: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0, endedBy: 'time' };
      const beat = () => heartbeat(t);
      const add = (b: Counts) => {
        for (const k of COUNTS) t[k] += b[k];
      };
      const record = (b: ConsumeEventsBatchOutput) => {
        t.batches++;
        add(b);
        heartbeat(t); // progress (`etl events status` reads it), and where a stop lands
      };
      // A batch that fails after some of its ranges committed: those count, and a retried session hands them over.
      const finish = (b: StartedBatch) => finishBatch(b, (committed) => {
        add(committed);
        keepAlive(t);
      });
      // Two batches in flight: the next one is read, validated and its raw copy uploaded while the one
      // before it commits (each range's transaction still begins only once the range before it on its
      // partition has committed; see startLoads). Its offsets are where the batch in flight ends.
      let inFlight: StartedBatch | null = null;
      let started = 0;
      // Set once the session is ending on an error or a stop: a range read ahead whose transaction has
      // not begun is then not begun at all.
      let ending = false;
      try {
        while (Date.now() < until) {
          if (input.maxBatches !== undefined && started >= input.maxBatches) break;
          const stored = inFlight ? inFlight.next : await storedOffsets(input);
          let batch: ReadBatch;
          try {
            batch = await readBatch(input, stored, beat);
          } catch (err) {
            // The batch in flight reports first: its own failure is the one to raise (and alert on).
            if (inFlight) {
              activityLog().warn(`events: reading the next batch failed with a batch in flight, which finishes first: ${err instanceof Error ? err.message : String(err)}`);
              const b = inFlight;
              inFlight = null;
              record(await finish(b));
            }
            throw err;
          }
          started++;
          const loads: StartedBatch = startLoads(batch, inFlight?.loads, () => ending);
          const before = inFlight;
          inFlight = loads;
          if (before) record(await finish(before));
          if (batch.ranges.length === 0) {
            inFlight = null;
            record(await finish(loads));
            await ctx.sleep(input.idleSleepMs ?? 1000);
          }
        }
        if (inFlight) {
          const last = inFlight;
          inFlight = null;
          record(await finish(last));
        }
        return input.maxBatches !== undefined && started >= input.maxBatches ? { ...t, endedBy: 'maxBatches' } : t;
      } finally {
        ending = true;
        // A failure or a stop with a batch read ahead: its ranges that had begun end, one way or the
        // other, before the attempt does. What they committed goes into the last heartbeat's counts
        // (a retried session hands those over); their own failures are logged, the first error stands.
        if (inFlight) {
          const settled = await Promise.allSettled(inFlight.loads.values());
          add(sums(fulfilled(settled)));
          for (const r of settled) {
            if (r.status === 'rejected' && !(r.reason instanceof RangeNotBegunError)) {
              activityLog().warn(`events: a range read ahead failed as the session ended: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
            }
          }
          keepAlive(t);
        }
      }
    },
  };

  interface ReadBatch { topic: string; group: string; stored: ReadonlyMap<number, bigint>; ranges: Array<[number, ReadMessage[]]>; logStart: ReadonlyMap<number, bigint> }
  interface StartedBatch { batch: ReadBatch; loads: Map<number, Promise<LoadSummary>>; next: Map<number, bigint> }

  async function storedOffsets(input: ConsumeEventsBatchInput): Promise<Map<number, bigint>> {
    const topic = input.topic ?? deps.eventsTopic;
    const group = input.consumerGroup ?? DEFAULT_EVENTS_GROUP;
    try {
      const { rows } = await staging.query<{ partition: number; next_offset: string }>(
        'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
      return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
    } catch (err) {
      rethrowClassified(err, `events: reading the stored offsets of ${topic} for group ${group}`);
    }
  }

  /** The messages from the `stored` offsets on, one range per partition. */
  async function readBatch(input: ConsumeEventsBatchInput, stored: ReadonlyMap<number, bigint>, beat: () => void): Promise<ReadBatch> {
    const topic = input.topic ?? deps.eventsTopic;
    const group = input.consumerGroup ?? DEFAULT_EVENTS_GROUP;
    try {
      const messages = await eventReader(kafka, topic, group, input.shard).read(stored, {
        maxMessages: input.maxMessages ?? 20_000, maxBytes: input.maxBytes ?? DEFAULT_BATCH_BYTES, maxWaitMs: input.maxWaitMs ?? 1000, onWait: beat,
      });
      const byPartition = new Map<number, ReadMessage[]>();
      for (const m of messages) {
        const list = byPartition.get(m.partition);
        if (list) list.push(m);
        else byPartition.set(m.partition, [m]);
      }
      const ranges = [...byPartition.entries()].sort(([a], [b]) => a - b);
      // A range starting past its stored offset: Kafka's retention deleted what was there, or the
      // offsets between were compaction's or transaction markers'. The log start tells which.
      const gap = ranges.some(([p, msgs]) => { const s = stored.get(p); return s !== undefined && BigInt(msgs[0]?.offset ?? s) > s; });
      const logStart = gap ? await logStartOffsets(kafka, topic) : new Map<number, bigint>();
      return { topic, group, stored, ranges, logStart };
    } catch (err) {
      rethrowClassified(err, `events: consuming ${topic} for group ${group}`);
    }
  }

  /**
   * Starts each range's load. `after` holds the loads of the batch before, per partition: a range
   * waits for its partition's range before it to commit before its own transaction begins, and is
   * not tried at all when that one failed (its offsets would be stale).
   */
  function startLoads(batch: ReadBatch, after?: ReadonlyMap<number, Promise<LoadSummary>>, ending: () => boolean = () => false): StartedBatch {
    const next = new Map(batch.stored);
    const loads = new Map<number, Promise<LoadSummary>>();
    for (const [partition, msgs] of batch.ranges) {
      const load = loadRange(batch.topic, batch.group, partition, msgs, batch.stored.get(partition), batch.logStart.get(partition), after?.get(partition), ending);
      load.catch(() => undefined); // settled by finishBatch, or by the session's clean-up
      loads.set(partition, load);
      next.set(partition, BigInt(msgs[msgs.length - 1]?.offset ?? '0') + 1n);
    }
    return { batch, loads, next };
  }

  /**
   * Waits for every range of the batch; alerts on the failed ones and throws the first failure.
   * `committed` hears, before the throw, what the batch's other ranges committed.
   */
  async function finishBatch({ batch, loads: started }: StartedBatch, committed?: (sums: Counts) => void): Promise<ConsumeEventsBatchOutput> {
    const { topic, group, ranges } = batch;
    // allSettled: the attempt reports only once every partition's transaction has ended, one way or the other.
    const settled = await Promise.allSettled(ranges.map(([partition]) => started.get(partition) as Promise<LoadSummary>));
    const failed = ranges.flatMap(([partition, msgs], i): FailedRange[] => {
      const s = settled[i];
      if (s?.status !== 'rejected') return [];
      return [{ group, topic, partition, firstOffset: msgs[0]?.offset ?? '?', lastOffset: msgs[msgs.length - 1]?.offset ?? '?', error: s.reason }];
    });
    const own = failed.filter((f) => !(f.error instanceof RangeNotBegunError));
    ranges.forEach(([partition], i) => {
      if (settled[i]?.status !== 'fulfilled') return;
      const prefix = stuckPartition({ group, topic, partition });
      for (const id of failingSince.keys()) if (id.startsWith(prefix)) failingSince.delete(id);
    });
    if (failed[0]) {
      committed?.(sums(fulfilled(settled)));
      await alertStuck(own);
      rethrowClassified((own[0] ?? failed[0]).error, `events: consuming ${topic} for group ${group}`);
    }
    const loads = settled.map((s) => (s as PromiseFulfilledResult<LoadSummary>).value);
    for (const l of loads) if (l.lost && !l.skipped) await deliverLost(l);
    return { ...sums(loads), loads };
  }

  async function consumeBatch(input: ConsumeEventsBatchInput, beat: () => void = heartbeat): Promise<ConsumeEventsBatchOutput> {
    return finishBatch(startLoads(await readBatch(input, await storedOffsets(input), beat)));
  }

  /** A range failing again and again is a person's problem: one etl.alerts row per stuck range. Retries go on regardless. */
  async function alertStuck(failed: readonly FailedRange[]): Promise<void> {
    const at = attemptInfo();
    if (!at) return;
    const now = Date.now();
    for (const [id, s] of failingSince) if (now - s.last > STREAK_GAP_MS) failingSince.delete(id);
    for (const f of failed) {
      if (f.error instanceof StaleOffsetsError) continue; // another attempt's race, never an alert
      const since = failingSince.get(stuckAlertId(f))?.since ?? now;
      failingSince.set(stuckAlertId(f), { since, last: now });
      const alert = stuckRangeAlert(f, at, { ms: now - since, stuckAfterMs });
      if (!alert) continue;
      try {
        await alerts.raiseAlert(alert);
        await alerts.deliverAlert({ alertId: alert.alertId });
      } catch (err) {
        // PostgreSQL may be what is down; the range's own error is the one to report.
        Context.current().log.warn(`could not raise alert ${alert.alertId}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** The data_lost alert was written with the load; sending it is best effort (`etl alerts` lists it either way). */
  async function deliverLost(l: LoadSummary): Promise<void> {
    const alertId = lostAlertId(l.loadId);
    activityLog().warn(`events: ${l.lost} messages were deleted by Kafka's retention before they were read; alert ${alertId}`);
    await alerts.deliverAlert({ alertId }).catch((err: unknown) => activityLog().warn(`could not deliver alert ${alertId}: ${err instanceof Error ? err.message : String(err)}`));
  }

  async function loadRange(topic: string, group: string, partition: number, messages: ReadMessage[], from: bigint | undefined, logStart: bigint | undefined, after?: Promise<LoadSummary>, ending: () => boolean = () => false): Promise<LoadSummary> {
    const first = messages[0] as ReadMessage;
    const last = messages[messages.length - 1] as ReadMessage;
    const loadId = `events/${topic}/${partition}:${first.offset}-${last.offset}`;
    const dt = kafkaDt(first.timestamp);
    const rawKey = lakeKey('raw', 'events', dt, `${topic}-p${partition}-${first.offset}-${last.offset}.jsonl`);
    const notBegun = () => new RangeNotBegunError(`events ${loadId}: not tried, the session is ending`);
    if (ending()) throw notBegun();
    const judged = await judgeRangeYielding(topic, messages);
    if (ending()) throw notBegun();
    // Built from the values' Buffers: a range's bytes are bounded by maxBytes, never one JS string.
    await putObject(s3, bucket, rawKey, rawMessages(messages.map((m) => m.value)), 'application/x-ndjson');
    if (after) {
      await after.catch((err: unknown) => {
        throw new RangeNotBegunError(`events ${loadId}: not tried, the range before it on partition ${partition} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    if (ending()) throw notBegun();
    const summary = await runLoad(staging, { loadId, pipeline: 'events', source: 'events' }, async (client) => {
      const counts = await loadEventRange(client, { s3, bucket }, { topic, group, partition, loadId, dt, messages, from: from?.toString(), logStart: logStart?.toString() }, hooks, judged);
      // The loss is recorded with the load that moves past it: both commit, or neither.
      if (counts.lost) await insertAlert(client, lostAlert({ group, topic, partition, loadId, from: String(counts.detail?.lostFrom), to: String(counts.detail?.lostTo), count: counts.lost }, attemptInfo()));
      return { ...counts, detail: { ...counts.detail, rawKey } };
    });
    // The range is in staging already (loaded for another group): only this group's offset moves.
    if (summary.skipped) await moveOffsetPast(staging, group, topic, partition, last.offset);
    return summary;
  }
}

export type EventsActivities = ReturnType<typeof createEventsActivities>;
