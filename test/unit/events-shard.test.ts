import { describe, expect, it } from 'vitest';
import { inShard, invalidShard } from '../../workflows/events-shard';

describe('events shards', () => {
  it('gives every partition to exactly one of n shards, and all of them without a shard', () => {
    for (const count of [1, 2, 3, 4, 6]) {
      for (let p = 0; p < 12; p++) {
        expect(Array.from({ length: count }, (_, index) => inShard(p, { index, count })).filter(Boolean)).toHaveLength(1);
      }
    }
    expect([0, 1, 2, 3, 4, 5].filter((p) => inShard(p, { index: 1, count: 2 }))).toEqual([1, 3, 5]);
    expect([0, 1, 2].every((p) => inShard(p))).toBe(true);
  });

  it('names what is wrong with a shard', () => {
    expect(invalidShard(undefined)).toBeUndefined();
    expect(invalidShard({ index: 1, count: 2 })).toBeUndefined();
    for (const bad of [null, 3, { index: 2, count: 2 }, { index: -1, count: 2 }, { index: 0, count: 0 }, { index: 0.5, count: 2 }, { count: 2 }]) {
      expect(invalidShard(bad)).toMatch(/^shard must be \{ index, count \} with integers 0 <= index < count, got /);
    }
  });
});
