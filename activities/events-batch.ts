/**
 * The events pipeline's activity: one batch from the Kafka topic, exactly once into staging. Offsets
 * are read from etl.kafka_offsets (not from Kafka), the raw messages go to the lake, and each
 * partition's range is one load whose rows, quarantine and new offset commit together.
 */
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import { rethrowClassified } from '../lib/errors';
import { lakeKey, utcDate } from '../lib/lake';
import { putObject } from '../lib/s3';
import type { LoadSummary } from '../workflows/partitions';
import { eventReader, type ReadMessage } from './event-reader';
import { loadEventRange, type EventsBatchHook } from './events-load';
import { runLoad } from './loads';

export interface EventsDeps { staging: Pool; s3: S3Client; bucket: string; kafka: Kafka; eventsTopic: string }

/** The stored offsets' owner when a run names none; tests pass their own with their own topic. */
export const DEFAULT_EVENTS_GROUP = 'etl-events';

/** topic defaults to KAFKA_EVENTS_TOPIC. A batch ends at maxMessages or after maxWaitMs, whichever is first. */
export interface ConsumeEventsBatchInput { topic?: string; consumerGroup?: string; maxMessages?: number; maxWaitMs?: number }

export interface ConsumeEventsBatchOutput {
  received: number;
  loaded: number;
  quarantined: number;
  duplicates: number;
  /** One per partition range read; empty when nothing was waiting. */
  loads: LoadSummary[];
}

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // Outside an activity (benchmark, script): nobody to tell.
  }
}

/** Hooks run in every range's transaction; see EventsBatchHook. */
export function createEventsActivities(deps: EventsDeps, hooks: readonly EventsBatchHook[] = []) {
  const { staging, s3, bucket, kafka } = deps;
  return {
    async consumeEventsBatch(input: ConsumeEventsBatchInput): Promise<ConsumeEventsBatchOutput> {
      const topic = input.topic ?? deps.eventsTopic;
      const group = input.consumerGroup ?? DEFAULT_EVENTS_GROUP;
      try {
        const { rows } = await staging.query<{ partition: number; next_offset: string }>(
          'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
        const stored = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
        const messages = await eventReader(kafka, topic, group).read(stored, {
          maxMessages: input.maxMessages ?? 20_000, maxWaitMs: input.maxWaitMs ?? 1000, onWait: heartbeat,
        });
        const byPartition = new Map<number, ReadMessage[]>();
        for (const m of messages) {
          const list = byPartition.get(m.partition);
          if (list) list.push(m);
          else byPartition.set(m.partition, [m]);
        }
        // allSettled: the attempt reports only once every partition's transaction has ended, one way or the other.
        const settled = await Promise.allSettled([...byPartition.entries()].sort(([a], [b]) => a - b).map(([partition, msgs]) => loadRange(topic, group, partition, msgs)));
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        const loads = settled.map((s) => (s as PromiseFulfilledResult<LoadSummary>).value);
        const sum = (k: 'received' | 'loaded' | 'quarantined' | 'duplicates') => loads.reduce((n, l) => n + (l.skipped ? 0 : l[k]), 0);
        return { received: sum('received'), loaded: sum('loaded'), quarantined: sum('quarantined'), duplicates: sum('duplicates'), loads };
      } catch (err) {
        rethrowClassified(err, `events: consuming ${topic} for group ${group}`);
      }
    },
  };

  async function loadRange(topic: string, group: string, partition: number, messages: ReadMessage[]): Promise<LoadSummary> {
    const first = messages[0] as ReadMessage;
    const last = messages[messages.length - 1] as ReadMessage;
    const loadId = `events/${topic}/${partition}:${first.offset}-${last.offset}`;
    // Kafka's own timestamp: the same messages give the same partition and key on every re-read.
    const dt = utcDate(new Date(Number(first.timestamp)));
    const body = messages.map((m) => (m.value?.toString('utf8') ?? '') + '\n').join('');
    const rawKey = lakeKey('raw', 'events', dt, `${topic}-p${partition}-${first.offset}-${last.offset}.jsonl`);
    await putObject(s3, bucket, rawKey, body, 'application/x-ndjson');
    const summary = await runLoad(staging, { loadId, pipeline: 'events', source: 'events' }, async (client) => {
      const counts = await loadEventRange(client, { s3, bucket }, { topic, group, partition, loadId, dt, messages }, hooks);
      return { ...counts, detail: { ...counts.detail, rawKey } };
    });
    if (summary.skipped) {
      // The range is in staging already (loaded for another group): only this group's offset moves.
      await staging.query(
        `insert into etl.kafka_offsets (consumer_group, topic, partition, next_offset) values ($1, $2, $3, $4)
         on conflict (consumer_group, topic, partition) do update set next_offset = greatest(etl.kafka_offsets.next_offset, excluded.next_offset), updated_at = now()`,
        [group, topic, partition, (BigInt(last.offset) + 1n).toString()],
      );
    }
    return summary;
  }
}

export type EventsActivities = ReturnType<typeof createEventsActivities>;
