/**
 * When a timed replay sent each event, and when it should have: the Kafka timestamp of a message
 * is its CreateTime (the producer's clock as it sent the batch), so the spacing of a replay can be
 * checked message by message, not only by its total duration.
 */
import type { Kafka } from 'kafkajs';
import { consumeAll } from '../../shop/simulator/testing';

export interface TimedMessage { value: string; timestamp: number }

/** Reads a topic from the beginning until `count` messages arrived (or 60 s passed), with their timestamps. */
export async function consumeTimed(kafka: Kafka, topic: string, count: number): Promise<TimedMessage[]> {
  return (await consumeAll(kafka, topic, count)).map(({ value, timestamp }) => ({ value, timestamp }));
}

/**
 * When each line of an events file is due, in simulated ms after `from`: at its own ts (ISO 8601
 * with a zone), and never before a line earlier in the file, which a replay sends first; a line
 * without such a ts goes right after its predecessor.
 */
export function replaySchedule(lines: readonly string[], from: number): Array<{ value: string; dueMs: number }> {
  let due = 0;
  return lines.map((value) => {
    const ts = (JSON.parse(value) as { ts?: unknown }).ts;
    if (typeof ts === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(ts)) due = Math.max(due, Date.parse(ts) - from);
    return { value, dueMs: due };
  });
}
