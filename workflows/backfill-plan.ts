/**
 * Backfill planning, pure and deterministic: the backfill workflow, the CLI (validation) and unit
 * tests share it. The plan is arithmetic, never built: item i of a range is found from counts of
 * partition ends, so a run (and every replay of it) costs microseconds per item it looks at, not
 * the whole plan (201,600 items for 400 days took 2.7 s of the sandbox's 5 s). Continue-as-new
 * carries only a cursor and counts.
 */
import { cadenceMs, isPipelineName, PIPELINE_NAMES, partitionsBetween, partitionWorkflowId, type PipelineName } from './partitions';

export interface PlanItem {
  pipeline: PipelineName;
  partitionStart: string;
  partitionEnd: string;
  workflowId: string;
  /** Plan indices that must finish first (ingestion partitions under a transform hour); all lower than this item's. */
  deps: number[];
}

const INGESTION: ReadonlySet<PipelineName> = new Set(['orders', 'catalog', 'files']);

/**
 * Pipelines whose partitions run one at a time, in order, as their schedule runs them (BUFFER_ALL):
 * transform hours rewrite the same day's facts and aggregates, and two hours of one day at once
 * collided on fact_order_line's key in the concurrency-8 bench.
 */
export const SERIAL_PIPELINES: ReadonlySet<PipelineName> = new Set(['transform']);

/** Days a single backfill may span (ten years); a longer one is several backfills. */
export const MAX_BACKFILL_DAYS = 3660;

/** Checks pipelines and range; returns a message saying what is wrong and how to fix it, or undefined. */
export function invalidBackfill(input: { pipelines?: unknown; from?: unknown; to?: unknown; concurrency?: unknown } | undefined): string | undefined {
  if (!input) return 'backfill: no input';
  const pipelines = input.pipelines;
  if (!Array.isArray(pipelines) || pipelines.length === 0) return `backfill: name at least one pipeline (${PIPELINE_NAMES.join(', ')})`;
  const unknown = pipelines.filter((p) => typeof p !== 'string' || !isPipelineName(p));
  if (unknown.length > 0) return `backfill: unknown pipeline${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => JSON.stringify(p)).join(', ')}; known: ${PIPELINE_NAMES.join(', ')}`;
  if (new Set(pipelines).size !== pipelines.length) return `backfill: a pipeline is named twice in ${pipelines.join(',')}`;
  const from = typeof input.from === 'string' ? Date.parse(input.from) : NaN;
  const to = typeof input.to === 'string' ? Date.parse(input.to) : NaN;
  if (Number.isNaN(from) || Number.isNaN(to)) return `backfill: --from and --to must be ISO 8601 times, e.g. 2026-01-01T00:00:00Z (got ${String(input.from)} .. ${String(input.to)})`;
  if (from >= to) return `backfill: --from (${String(input.from)}) must be before --to (${String(input.to)})`;
  if (to - from > MAX_BACKFILL_DAYS * 86_400_000) return `backfill: range spans more than ${MAX_BACKFILL_DAYS} days; split it into several backfills`;
  const c = input.concurrency;
  if (c !== undefined && (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > 100)) return `backfill: concurrency must be an integer from 1 to 100 (got ${String(c)})`;
  return undefined;
}

/** What the sliding window reads of a plan: an array of items, or the arithmetic one. */
export interface BackfillPlan {
  readonly length: number;
  at(index: number): PlanItem | undefined;
}

interface Lane { pipeline: PipelineName; rank: number; cadence: number; firstStart: number; count: number }

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Every partition of each pipeline overlapping [from, to), ordered by partition end, ingestion
 * before transform at the same end (orders, catalog, files), so a transform hour comes after the
 * ingestion it reads, which are its deps. Items are computed when asked for: partitions are
 * aligned to the epoch, so the items ending before a time T are counted per pipeline by division.
 */
export function lazyPlan(pipelines: readonly PipelineName[], from: string, to: string): BackfillPlan {
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  const lanes: Lane[] = PIPELINE_NAMES.filter((p) => pipelines.includes(p)).map((pipeline) => {
    const cadence = cadenceMs(pipeline);
    const firstStart = Math.floor(fromMs / cadence) * cadence;
    return { pipeline, rank: (INGESTION.has(pipeline) ? 0 : 1) * 10 + PIPELINE_NAMES.indexOf(pipeline), cadence, firstStart, count: Math.max(0, Math.ceil((toMs - firstStart) / cadence)) };
  }).sort((a, b) => a.rank - b.rank);
  const length = lanes.reduce((n, l) => n + l.count, 0);
  const step = lanes.reduce((g, l) => gcd(g, l.cadence), 0) || 1;
  const clamp = (n: number, l: Lane) => Math.min(l.count, Math.max(0, n));
  /** A lane's partitions ending at or before `t`. */
  const endedBy = (l: Lane, t: number) => clamp(Math.floor((t - l.firstStart) / l.cadence), l);
  const countEndedBy = (t: number) => lanes.reduce((n, l) => n + endedBy(l, t), 0);
  /** The lanes with a partition ending exactly at `t`, in rank order. */
  const endingAt = (t: number) => lanes.filter((l) => endedBy(l, t) - endedBy(l, t - 1) === 1);
  /** Plan index of a lane's k-th partition. */
  const indexOf = (l: Lane, k: number) => {
    const end = l.firstStart + (k + 1) * l.cadence;
    return countEndedBy(end - 1) + endingAt(end).findIndex((x) => x === l);
  };
  const item = (l: Lane, k: number, index: number): PlanItem => {
    const start = l.firstStart + k * l.cadence;
    const partitionStart = new Date(start).toISOString();
    const partitionEnd = new Date(start + l.cadence).toISOString();
    const deps: number[] = [];
    if (!INGESTION.has(l.pipeline)) {
      for (const ing of lanes.filter((x) => INGESTION.has(x.pipeline))) {
        for (const p of partitionsBetween(ing.pipeline, partitionStart, partitionEnd)) {
          const j = (Date.parse(p.partitionStart) - ing.firstStart) / ing.cadence;
          if (j < 0 || j >= ing.count) continue;
          const d = indexOf(ing, j);
          if (d < index) deps.push(d);
        }
      }
    }
    return { pipeline: l.pipeline, partitionStart, partitionEnd, workflowId: partitionWorkflowId(l.pipeline, partitionStart), deps };
  };
  return {
    length,
    at(index: number): PlanItem | undefined {
      if (!Number.isInteger(index) || index < 0 || index >= length) return undefined;
      // The first end time (a multiple of every cadence's gcd) by which more than `index` items ended.
      let lo = Math.floor(Math.min(...lanes.map((l) => l.firstStart)) / step);
      let hi = Math.ceil(Math.max(...lanes.map((l) => l.firstStart + l.count * l.cadence)) / step);
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (countEndedBy(mid * step) > index) hi = mid;
        else lo = mid + 1;
      }
      const end = lo * step;
      const lane = endingAt(end)[index - countEndedBy(end - 1)];
      if (!lane) return undefined;
      return item(lane, (end - lane.firstStart) / lane.cadence - 1, index);
    },
  };
}

/** The whole plan as an array (the CLI and tests; the workflow reads lazyPlan). */
export function planBackfill(pipelines: readonly PipelineName[], from: string, to: string): PlanItem[] {
  const plan = lazyPlan(pipelines, from, to);
  return Array.from({ length: plan.length }, (_, i) => plan.at(i) as PlanItem);
}

export interface ReadyStep {
  /** Indices to start now, in order. */
  start: number[];
  /** Indices not to run because a dependency failed. */
  blocked: number[];
  /** The new cursor: every index below it is started or blocked. */
  next: number;
}

/**
 * The sliding window: starts plan items in order while slots are free. An item whose dependency is
 * still running, or of a serial pipeline with a partition running, waits at the head (items start
 * in plan order, so `next` alone says what has started); an item whose dependency failed is
 * blocked rather than run on incomplete input.
 */
export function takeReady(
  plan: BackfillPlan, next: number, running: ReadonlySet<number>, failed: ReadonlySet<number>, slots: number,
  serial: ReadonlySet<PipelineName> = new Set(),
): ReadyStep {
  const start: number[] = [];
  const blocked: number[] = [];
  const busy = new Set(running);
  let i = next;
  while (i < plan.length) {
    const item = plan.at(i);
    if (!item) break;
    if (item.deps.some((d) => failed.has(d) || blocked.includes(d))) {
      blocked.push(i++);
      continue;
    }
    if (start.length >= slots || item.deps.some((d) => busy.has(d))) break;
    if (serial.has(item.pipeline) && [...busy].some((b) => plan.at(b)?.pipeline === item.pipeline)) break;
    start.push(i);
    busy.add(i++);
  }
  return { start, blocked, next: i };
}
