import { describe, expect, it } from 'vitest';
import { lockTableWarning } from '../../activities/transform/load';

describe('lockTableWarning: fact_event\'s date partitions against the shared lock table', () => {
  it('stays quiet while four queries over every date fit, and names the setting and a value that fits once they do not', () => {
    // PostgreSQL's defaults with the project's 200 connections: 64 × 200 = 12,800 entries.
    expect(lockTableWarning(640, 64, 200)).toBeNull(); // 4 × 5 × 640 = 12,800: just fits
    const w = lockTableWarning(641, 64, 200);
    expect(w).toMatch(/641 date partitions/);
    expect(w).toMatch(/max_locks_per_transaction 64 × 200 connections/);
    expect(w).toMatch(/Raise max_locks_per_transaction to 128 or more/);
    // The project's own server runs with 256: three years of dates fit.
    expect(lockTableWarning(1095, 256, 200)).toBeNull();
    expect(lockTableWarning(5000, 256, 200)).toMatch(/to 512 or more/);
  });
});
