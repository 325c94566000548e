/** Splitting the events topic between several streams (pure: the workflow validates with it, the reader filters). */

/**
 * One of `count` readers of a topic for one group: it reads the partitions p with p % count === index,
 * so `count` streams (on any workers) split the topic between them. Positions stay per partition in
 * PostgreSQL, so a stream restarted with another count goes on where each partition was.
 */
export interface EventsShard { index: number; count: number }

/** Whether partition p is this shard's (every partition without a shard). */
export function inShard(p: number, shard?: EventsShard): boolean {
  return !shard || p % shard.count === shard.index;
}

/** A message naming what is wrong with a shard, or undefined. */
export function invalidShard(shard: unknown): string | undefined {
  if (shard === undefined) return undefined;
  const s = shard as Partial<EventsShard> | null;
  if (!s || typeof s !== 'object' || !Number.isInteger(s.count) || !Number.isInteger(s.index) || (s.count as number) < 1 || (s.index as number) < 0 || (s.index as number) >= (s.count as number)) {
    return `shard must be { index, count } with integers 0 <= index < count, got ${JSON.stringify(shard)}`;
  }
  return undefined;
}
