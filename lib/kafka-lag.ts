/**
 * How far the events stream is behind its topic: per partition, the end offset against the next
 * offset the stream has loaded (etl.kafka_offsets, committed with the rows). One reading for
 * `etl status`, the workers' /metrics and the demo's wait.
 */
import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';

export interface PartitionLag { partition: number; end: bigint; consumed: bigint; lag: bigint }

export async function consumerLag(admin: Admin, staging: Pool, topic: string, group: string): Promise<PartitionLag[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const { rows } = await staging.query<{ partition: number; next_offset: string }>(
    'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
  const done = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  return ends.sort((a, b) => a.partition - b.partition).map((e) => {
    const end = BigInt(e.high);
    const consumed = done.get(e.partition) ?? 0n;
    return { partition: e.partition, end, consumed, lag: end - consumed };
  });
}
