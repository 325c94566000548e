import { describe, expect, it } from 'vitest';
import { invalidBackfill, planBackfill, SERIAL_PIPELINES, takeReady } from '../../workflows/backfill-plan';
import { renderBar } from '../../cli/backfill-watch';
import { parseBackfillArgs } from '../../cli/commands/backfill';

const FROM = '2026-03-01T00:00:00.000Z';
const DAY = '2026-03-02T00:00:00.000Z';

describe('planBackfill', () => {
  it('has one item per partition of each pipeline: a day of all four is 144 + 48 + 288 + 24', () => {
    const plan = planBackfill(['orders', 'catalog', 'files', 'transform'], FROM, DAY);
    expect(plan).toHaveLength(504);
    expect(new Set(plan.map((p) => p.workflowId)).size).toBe(504);
    expect(plan.filter((p) => p.pipeline === 'transform').map((p) => p.workflowId).slice(0, 2)).toEqual(['transform/2026-03-01T00:00:00.000Z', 'transform/2026-03-01T01:00:00.000Z']);
  });

  it('puts each transform hour after every ingestion partition of that hour, and depends on exactly those', () => {
    const plan = planBackfill(['orders', 'catalog', 'files', 'transform'], FROM, DAY);
    plan.forEach((item, i) => {
      if (item.pipeline !== 'transform') return expect(item.deps).toEqual([]);
      const inHour = plan.flatMap((p, j) => (p.pipeline !== 'transform' && p.partitionStart >= item.partitionStart && p.partitionStart < item.partitionEnd ? [j] : []));
      expect(inHour).toHaveLength(6 + 2 + 12);
      expect([...item.deps].sort((a, b) => a - b)).toEqual(inHour);
      expect(Math.max(...item.deps)).toBeLessThan(i);
    });
  });

  it('covers a range that does not start on a partition boundary', () => {
    const plan = planBackfill(['catalog'], '2026-03-01T00:40:00Z', '2026-03-01T01:10:00Z');
    expect(plan.map((p) => p.workflowId)).toEqual(['catalog/2026-03-01T00:30:00.000Z', 'catalog/2026-03-01T01:00:00.000Z']);
  });
});

describe('takeReady (the sliding window)', () => {
  const plan = planBackfill(['orders', 'transform'], FROM, '2026-03-01T02:00:00Z'); // 6 orders, transform, 6 orders, transform

  it('fills the free slots in plan order', () => {
    expect(takeReady(plan, 0, new Set(), new Set(), 4)).toEqual({ start: [0, 1, 2, 3], blocked: [], next: 4 });
    expect(takeReady(plan, 4, new Set([1, 2, 3]), new Set(), 1)).toEqual({ start: [4], blocked: [], next: 5 });
  });

  it('holds a transform hour at the head while its ingestion runs, then starts it', () => {
    expect(plan[6]?.pipeline).toBe('transform');
    expect(takeReady(plan, 6, new Set([5]), new Set(), 3)).toEqual({ start: [], blocked: [], next: 6 });
    expect(takeReady(plan, 6, new Set(), new Set(), 3)).toEqual({ start: [6, 7, 8], blocked: [], next: 9 });
  });

  it('runs a serial pipeline one partition at a time: transform hours wait for the previous hour', () => {
    const transformOnly = planBackfill(['transform'], FROM, '2026-03-01T03:00:00Z');
    expect(takeReady(transformOnly, 0, new Set(), new Set(), 3, SERIAL_PIPELINES)).toEqual({ start: [0], blocked: [], next: 1 });
    expect(takeReady(transformOnly, 1, new Set([0]), new Set(), 3, SERIAL_PIPELINES)).toEqual({ start: [], blocked: [], next: 1 });
    expect(takeReady(transformOnly, 0, new Set(), new Set(), 3)).toEqual({ start: [0, 1, 2], blocked: [], next: 3 });
  });

  it('blocks a transform hour whose ingestion failed, and goes on past it', () => {
    expect(takeReady(plan, 6, new Set(), new Set([2]), 2)).toEqual({ start: [7, 8], blocked: [6], next: 9 });
  });
});

describe('backfill input validation', () => {
  it('names unknown pipelines and the known ones', () => {
    expect(invalidBackfill({ pipelines: ['orders', 'nope'], from: FROM, to: DAY })).toBe('backfill: unknown pipeline "nope"; known: orders, catalog, files, transform');
  });
  it('wants from before to, ISO times, sane concurrency', () => {
    expect(invalidBackfill({ pipelines: ['orders'], from: DAY, to: FROM })).toMatch(/--from .* must be before --to/);
    expect(invalidBackfill({ pipelines: ['orders'], from: 'yesterday', to: FROM })).toMatch(/ISO 8601/);
    expect(invalidBackfill({ pipelines: ['orders'], from: FROM, to: DAY, concurrency: 0 })).toMatch(/concurrency must be an integer from 1 to 100/);
    expect(invalidBackfill({ pipelines: [], from: FROM, to: DAY })).toMatch(/at least one pipeline/);
    expect(invalidBackfill({ pipelines: ['orders'], from: FROM, to: DAY, concurrency: 8 })).toBeUndefined();
  });
  it('the CLI normalises times into a stable backfill id', () => {
    expect(parseBackfillArgs('orders,transform', { from: '2026-03-01', to: '2026-03-01T06:00+02:00', concurrency: '4' })).toEqual({
      input: { pipelines: ['orders', 'transform'], from: FROM, to: '2026-03-01T04:00:00.000Z', concurrency: 4 },
      workflowId: 'backfill/orders,transform/2026-03-01T00:00:00.000Z/2026-03-01T04:00:00.000Z',
    });
    expect(parseBackfillArgs('transform, orders', { from: FROM, to: DAY, concurrency: '2' }).workflowId).toBe(`backfill/orders,transform/${FROM}/${DAY}`);
    expect(() => parseBackfillArgs('orders', { from: FROM, to: DAY, concurrency: 'many' })).toThrow(/concurrency/);
  });
  it('draws the progress bar', () => {
    const p = { total: 10, completed: 4, failed: 1, skipped: 0, running: 2, pending: 3, runningIds: [], current: 'orders/x', continuedAsNew: 0, failedPartitions: [] };
    expect(renderBar(p, 10)).toBe('[#####.....] 5/10 50%  running 2  1 failed  at orders/x');
  });
});
