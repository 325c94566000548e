import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_SIZES, invalidBackfill, invalidRunSizes, lazyPlan, planBackfill, SERIAL_PIPELINES, takeReady, type PlanItem, type RunSizes } from '../../workflows/backfill-plan';
import { PIPELINE_NAMES, PIPELINES, partitionsBetween, partitionWorkflowId, type PartitionInput, type PipelineName } from '../../workflows/partitions';
import { renderBar } from '../../cli/backfill-watch';
import { dependencyHorizon } from '../../workflows/backfill';
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

/**
 * The plan built the slow, obvious way: every partition listed, grouped into runs on the run grid
 * (the whole range for size 0), sorted, deps looked up by overlap.
 */
function referencePlan(pipelines: readonly PipelineName[], from: string, to: string, runSizes: RunSizes = {}): PlanItem[] {
  const ingestion = new Set<PipelineName>(['orders', 'catalog', 'files']);
  const items: PlanItem[] = PIPELINE_NAMES.filter((p) => pipelines.includes(p)).flatMap((pipeline) => {
    const size = runSizes[pipeline] ?? 1;
    const runMs = PIPELINES[pipeline].cadenceMinutes * 60_000 * size;
    const groups = new Map<number, PartitionInput[]>();
    for (const p of partitionsBetween(pipeline, from, to)) {
      const key = size === 0 ? 0 : Math.floor(Date.parse(p.partitionStart) / runMs);
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    return [...groups.values()].map((ps) => {
      const partitionStart = ps[0]!.partitionStart;
      const partitionEnd = ps.at(-1)!.partitionEnd;
      const workflowId = ps.length === 1 ? partitionWorkflowId(pipeline, partitionStart) : `${pipeline}/${partitionStart}..${partitionEnd}`;
      return { pipeline, partitionStart, partitionEnd, workflowId, deps: [] as number[], partitions: ps.length };
    });
  });
  const rank = (p: PipelineName) => (ingestion.has(p) ? 0 : 10) + PIPELINE_NAMES.indexOf(p);
  items.sort((a, b) => a.partitionEnd.localeCompare(b.partitionEnd) || rank(a.pipeline) - rank(b.pipeline));
  items.forEach((item, i) => {
    if (ingestion.has(item.pipeline)) return;
    for (const ing of PIPELINE_NAMES.filter((p) => ingestion.has(p) && pipelines.includes(p))) {
      items.forEach((other, d) => {
        if (other.pipeline === ing && other.partitionStart < item.partitionEnd && other.partitionEnd > item.partitionStart && d < i) item.deps.push(d);
      });
    }
  });
  return items;
}

describe('lazyPlan (items by arithmetic)', () => {
  const subsets: PipelineName[][] = [['orders', 'catalog', 'files', 'transform'], ['transform'], ['catalog', 'transform'], ['files', 'orders'], ['transform', 'files']];
  const ranges: Array<[string, string]> = [
    [FROM, DAY],
    ['2026-03-01T00:07:00Z', '2026-03-01T05:41:00Z'],
    ['2026-02-28T23:59:59.999Z', '2026-03-01T00:00:00.001Z'],
    ['2024-02-28T22:13:00Z', '2024-03-01T01:00:00Z'],
  ];
  for (const pipelines of subsets) {
    for (const [from, to] of ranges) {
      it(`equals the plan built by listing and sorting: ${pipelines.join(',')} over ${from} .. ${to}`, () => {
        const lazy = lazyPlan(pipelines, from, to);
        const ref = referencePlan(pipelines, from, to);
        expect(lazy.length).toBe(ref.length);
        expect(Array.from({ length: lazy.length }, (_, i) => lazy.at(i))).toEqual(ref);
        expect([lazy.at(-1), lazy.at(ref.length), lazy.at(0.5)]).toEqual([undefined, undefined, undefined]);
      });
      for (const sizes of [DEFAULT_RUN_SIZES, { orders: 6, catalog: 2, files: 12, transform: 1 }, { orders: 36, files: 3, transform: 12 }, { orders: 18, catalog: 6, files: 36, transform: 6 }] as RunSizes[]) {
        it(`coalesced ${JSON.stringify(sizes)}: equals the runs built by grouping partitions: ${pipelines.join(',')} over ${from} .. ${to}`, () => {
          const lazy = lazyPlan(pipelines, from, to, sizes);
          const ref = referencePlan(pipelines, from, to, sizes);
          expect(Array.from({ length: lazy.length }, (_, i) => lazy.at(i))).toEqual(ref);
          expect(lazy.partitions).toBe(planBackfill(pipelines, from, to).length);
          // Every ingestion run a transform run overlaps is a dep, so none starts before what it reads.
          expect(invalidRunSizes(sizes, pipelines)).toBeUndefined();
          for (let i = 0; i < lazy.length; i++) {
            const item = lazy.at(i)!;
            if (item.pipeline !== 'transform') continue;
            const overlapping = ref.flatMap((o, j) => (o.pipeline !== 'transform' && o.partitionStart < item.partitionEnd && o.partitionEnd > item.partitionStart ? [j] : []));
            expect([...item.deps].sort((a, b) => a - b)).toEqual(overlapping);
          }
        });
      }
    }
  }

  it('counts three years of all four pipelines without building them, and finds any item in it', () => {
    const plan = lazyPlan(['orders', 'catalog', 'files', 'transform'], '2024-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
    const hours = 1096 * 24;
    expect(plan.length).toBe(hours * (6 + 2 + 12 + 1));
    // The last hour of the range: 20 ingestion partitions, then its transform hour, which depends on them.
    const last = plan.at(plan.length - 1);
    expect(last?.workflowId).toBe('transform/2026-12-31T23:00:00.000Z');
    expect(last?.deps.map((d) => plan.at(d)?.partitionStart.slice(11, 16)).sort()).toEqual([
      ...['00', '05', '10', '15', '20', '25', '30', '35', '40', '45', '50', '55'].map((m) => `23:${m}`),
      ...['00', '10', '20', '30', '40', '50'].map((m) => `23:${m}`), '23:00', '23:30'].sort());
    expect(plan.at(plan.length - 2)?.workflowId).toBe('files/2026-12-31T23:55:00.000Z');
    // The first item of hour 5000 is the partition that ends first in it: files, 5 minutes.
    expect(plan.at(21 * 5000)?.workflowId).toBe(`files/${new Date(Date.UTC(2024, 0, 1) + 5000 * 3600_000).toISOString()}`);
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
    // The bound is on runs, not years: eleven years partition by partition is too many; the shop's
    // whole history as one catalog run (an initial load), or at a day per run, is not.
    const all = ['orders', 'catalog', 'files', 'transform'];
    expect(invalidBackfill({ pipelines: all, from: '2015-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toMatch(/runs are more than 1844640/);
    expect(invalidBackfill({ pipelines: all, from: '2000-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', runSizes: DEFAULT_RUN_SIZES })).toBeUndefined();
    expect(invalidBackfill({ pipelines: ['catalog'], from: '2000-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', runSizes: { catalog: 0 } })).toBeUndefined();
    expect(parseBackfillArgs('orders,catalog,files,transform', { from: '2000-01-01', to: '2026-01-01', concurrency: '4' }).input.runSizes).toEqual(DEFAULT_RUN_SIZES);
    expect(() => parseBackfillArgs('orders,catalog,files,transform', { from: '2000-01-01', to: '2026-01-01', concurrency: '4', partitionsPerRun: 'all=1' })).toThrow(/runs are more than/);
    expect(invalidBackfill({ pipelines: ['orders'], from: FROM, to: DAY, concurrency: 8 })).toBeUndefined();
  });
  it('the CLI normalises times into a stable backfill id', () => {
    expect(parseBackfillArgs('orders,transform', { from: '2026-03-01', to: '2026-03-01T06:00+02:00', concurrency: '4' })).toEqual({
      input: { pipelines: ['orders', 'transform'], from: FROM, to: '2026-03-01T04:00:00.000Z', concurrency: 4, runSizes: { orders: 144, transform: 0 } },
      workflowId: 'backfill/orders,transform/2026-03-01T00:00:00.000Z/2026-03-01T04:00:00.000Z',
    });
    expect(parseBackfillArgs('transform, orders', { from: FROM, to: DAY, concurrency: '2' }).workflowId).toBe(`backfill/orders,transform/${FROM}/${DAY}`);
    expect(() => parseBackfillArgs('orders', { from: FROM, to: DAY, concurrency: 'many' })).toThrow(/concurrency/);
    expect(parseBackfillArgs('orders,files', { from: FROM, to: DAY, concurrency: '2', partitionsPerRun: 'orders=6' }).input.runSizes).toEqual({ orders: 6, files: 288 });
    expect(parseBackfillArgs('orders,transform', { from: FROM, to: DAY, concurrency: '2', partitionsPerRun: 'all=1' }).input.runSizes).toEqual({ orders: 1, catalog: 1, files: 1, transform: 1 });
    expect(() => parseBackfillArgs('orders', { from: FROM, to: DAY, concurrency: '2', partitionsPerRun: 'orders=7' })).toThrow(/divide a day's 144/);
    expect(parseBackfillArgs('catalog,orders', { from: FROM, to: DAY, concurrency: '2', initial: true }).input.runSizes).toEqual({ orders: 0, catalog: 0 });
    expect(planBackfill(['orders', 'catalog'], '2000-01-01T00:00:00Z', DAY, { orders: 0, catalog: 0 }).map((p) => [p.workflowId, p.partitions])).toEqual([
      ['orders/2000-01-01T00:00:00.000Z..2026-03-02T00:00:00.000Z', 9557 * 144], ['catalog/2000-01-01T00:00:00.000Z..2026-03-02T00:00:00.000Z', 9557 * 48]]);
    expect(() => parseBackfillArgs('orders', { from: FROM, to: DAY, concurrency: '2', partitionsPerRun: 'order=6' })).toThrow(/unknown pipeline "order"/);
    // A transform hour inside a day-long orders run would start before the orders it reads.
    expect(() => parseBackfillArgs('orders,transform', { from: FROM, to: DAY, concurrency: '2', partitionsPerRun: 'transform=1' })).toThrow(/must cover whole orders runs/);
    expect(invalidRunSizes({ orders: 36, transform: 5 }, ['orders', 'transform'])).toMatch(/must cover whole orders runs \(360 min\)/);
    expect(invalidRunSizes({ orders: 36, transform: 5 }, ['orders'])).toBeUndefined();
  });
  it('draws the progress bar', () => {
    const p = { total: 10, completed: 4, failed: 1, skipped: 0, running: 2, pending: 3, runningIds: [], current: 'orders/x', continuedAsNew: 0, failedPartitions: [] };
    expect(renderBar(p, 10)).toBe('[#####.....] 5/10 50%  running 2  1 failed  at orders/x');
    // Coalesced runs: the partitions they cover are shown beside the runs.
    expect(renderBar({ ...p, partitions: { total: 1440, completed: 600, failed: 144 } }, 10)).toBe('[#####.....] 5/10 50%  (partitions 744/1440)  running 2  1 failed  at orders/x');
  });
});

describe('dependencyHorizon (which failed indices a continued backfill must still carry)', () => {
  const plan = lazyPlan(['orders', 'transform'], FROM, '2026-03-01T03:00:00Z'); // per hour: 6 orders, then its transform
  it('reaches back to the first ingestion partition of the hour whose transform is still ahead', () => {
    // Cursor on the 3rd orders partition of hour 2 (index 9): the hour's transform (13) needs 7..12.
    expect(plan.at(9)?.workflowId).toBe('orders/2026-03-01T01:20:00.000Z');
    expect(dependencyHorizon(plan, 9, ['orders', 'transform'])).toBe(7);
    // Right after a transform hour nothing earlier is needed.
    expect(dependencyHorizon(plan, 14, ['orders', 'transform'])).toBe(14);
    expect(dependencyHorizon(plan, plan.length, ['orders', 'transform'])).toBe(plan.length);
  });
  it('is the cursor itself without a transform in the plan', () => {
    const ingestOnly = lazyPlan(['orders', 'files'], FROM, '2026-03-01T03:00:00Z');
    expect(dependencyHorizon(ingestOnly, 10, ['orders', 'files'])).toBe(10);
  });
});
