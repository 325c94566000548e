/**
 * When a timed replay sent each event, and when it should have: the Kafka timestamp of a message
 * is its CreateTime (the producer's clock as it sent the batch), so the spacing of a replay can be
 * checked message by message, not only by its total duration.
 */
import type { Kafka } from 'kafkajs';

export interface TimedMessage { value: string; timestamp: number }

/** Reads a topic from the beginning until `count` messages arrived (or 60 s passed), with their timestamps. */
export async function consumeTimed(kafka: Kafka, topic: string, count: number): Promise<TimedMessage[]> {
  const consumer = kafka.consumer({ groupId: `test-timed-${topic}-${Date.now()}` });
  const out: TimedMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} messages arrived on ${topic}`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push({ value: message.value?.toString() ?? '', timestamp: Number(message.timestamp) });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
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
