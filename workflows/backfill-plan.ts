/**
 * Backfill planning, pure and deterministic: the backfill workflow, the CLI (validation) and unit
 * tests share it. The plan is arithmetic, never built: item i of a range is found from counts of
 * partition ends, so a run (and every replay of it) costs microseconds per item it looks at, not
 * the whole plan (201,600 items for 400 days took 2.7 s of the sandbox's 5 s). Continue-as-new
 * carries only a cursor and counts.
 */
import { cadenceMs, isPipelineName, PIPELINE_NAMES, partitionWorkflowId, type PipelineName } from './partitions';

export interface PlanItem {
  pipeline: PipelineName;
  partitionStart: string;
  partitionEnd: string;
  workflowId: string;
  /** Plan indices that must finish first (ingestion runs under a transform run); all lower than this item's. */
  deps: number[];
  /** Base partitions the run covers (absent or 1 unless the backfill coalesces, see RunSizes). */
  partitions?: number;
}

const INGESTION: ReadonlySet<PipelineName> = new Set(['orders', 'catalog', 'files']);

/**
 * Pipelines whose partitions run one at a time, in order, as their schedule runs them (BUFFER_ALL):
 * transform hours rewrite the same day's facts and aggregates, and two hours of one day at once
 * collided on fact_order_line's key in the concurrency-8 bench.
 */
export const SERIAL_PIPELINES: ReadonlySet<PipelineName> = new Set(['transform']);

/**
 * Runs a single backfill may plan: ten years of all four pipelines at the schedule's grain (3,660
 * days × 504). Coalesced runs make far fewer, so an initial load from the shop's first day, or a
 * decade at a day per run, fits; a longer fine-grained one is several backfills.
 */
export const MAX_BACKFILL_RUNS = 3660 * 504;

type BackfillArgs = { pipelines?: unknown; from?: unknown; to?: unknown; concurrency?: unknown; runSizes?: unknown } | undefined;

/** Checks pipelines, range, concurrency and the size of the plan; a message saying what is wrong and how to fix it, or undefined. */
export function invalidBackfill(input: BackfillArgs): string | undefined {
  const shape = invalidBackfillShape(input);
  if (shape || !input) return shape;
  const sizes = input.runSizes;
  const runs = lazyPlan(input.pipelines as PipelineName[], input.from as string, input.to as string, invalidRunSizes(sizes) ? {} : (sizes as RunSizes | undefined)).length;
  if (runs > MAX_BACKFILL_RUNS) return `backfill: ${runs} runs are more than ${MAX_BACKFILL_RUNS} (ten years of all four pipelines, partition by partition); coalesce them (--partitions-per-run) or split the range into several backfills`;
  return undefined;
}

/** Everything invalidBackfill checks but the size of the plan (which depends on the run sizes). */
export function invalidBackfillShape(input: BackfillArgs): string | undefined {
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
  const c = input.concurrency;
  if (c !== undefined && (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > 100)) return `backfill: concurrency must be an integer from 1 to 100 (got ${String(c)})`;
  return undefined;
}

/** What the sliding window reads of a plan: an array of items, or the arithmetic one. */
export interface BackfillPlan {
  /** Runs. */
  readonly length: number;
  /** Base partitions the runs cover (absent: one per run). */
  readonly partitions?: number;
  at(index: number): PlanItem | undefined;
}

/**
 * Base partitions a backfill runs as one child, per pipeline (Dagster's
 * `BackfillPolicy.multi_run(max_partitions_per_run)`); 0 means the whole range as one run.
 * A run is clipped to the range. Sizes that divide a day never cross midnight, so orders and
 * catalog file each raw copy under its own day; a whole-range ingestion run (an initial load, `etl
 * backfill --initial`) files the range's raw copy under the range's first day.
 */
export type RunSizes = Partial<Record<PipelineName, number>>;

/**
 * The sizes `etl backfill` uses (docs/orchestration.md, "Coalesced backfills", says why):
 * - orders 144 (a day): the API pages through a day's versions in one window, one load per page,
 *   resumable from its heartbeat, instead of 144 runs that each pay a workflow, an activity and a
 *   first page;
 * - catalog 48 (a day): four keyset loads of a day's changes, each heartbeating per chunk;
 * - files 288 (a day): purchase files are taken by arrival, so a historical window has nothing new
 *   after its first run; one listing a day is enough;
 * - transform 0 (the range): one run after all of the range's ingestion, so each date is rebuilt
 *   once, not once per hour of it (the run continues as new every 400 dates).
 */
export const DEFAULT_RUN_SIZES: Readonly<Record<PipelineName, number>> = { orders: 144, catalog: 48, files: 288, transform: 0 };

/**
 * Checks run sizes; a message naming the bad entry, or undefined. With `pipelines`, a transform run
 * must also cover whole ingestion runs (its length a multiple of theirs, or the whole range), so
 * every ingestion run it reads ends no later than it does and comes before it in the plan.
 */
export function invalidRunSizes(sizes: unknown, pipelines: readonly string[] = []): string | undefined {
  if (sizes === undefined) return undefined;
  if (typeof sizes !== 'object' || sizes === null) return 'backfill: runSizes must be an object of pipeline: partitions per run';
  const given = sizes as Record<string, unknown>;
  for (const [name, n] of Object.entries(given)) {
    if (!isPipelineName(name)) return `backfill: runSizes names an unknown pipeline "${name}"; known: ${PIPELINE_NAMES.join(', ')}`;
    const perDay = 86_400_000 / cadenceMs(name);
    const ok = typeof n === 'number' && Number.isInteger(n) && n >= 0 && (n === 0 || name === 'transform' || perDay % n === 0);
    if (!ok) return `backfill: partitions per run of ${name} must be 0 (the whole range)${name === 'transform' ? ' or a positive integer' : ` or divide a day's ${perDay}`} (got ${String(n)})`;
  }
  const t = (given.transform as number | undefined) ?? 1;
  if (pipelines.includes('transform') && t > 0) {
    for (const ing of PIPELINE_NAMES.filter((p) => p !== 'transform' && pipelines.includes(p))) {
      const n = (given[ing] as number | undefined) ?? 1;
      const ingMs = n === 0 ? Infinity : n * cadenceMs(ing);
      if ((t * cadenceMs('transform')) % ingMs !== 0) {
        return `backfill: a transform run (${t} h) must cover whole ${ing} runs (${n === 0 ? 'the whole range' : `${n * cadenceMs(ing) / 60_000} min`}): make it a multiple of them, or 0 (the whole range)`;
      }
    }
  }
  return undefined;
}

interface Lane {
  pipeline: PipelineName;
  rank: number;
  /** One base partition, ms. */
  cadence: number;
  /** One run, ms (a multiple of cadence). */
  run: number;
  /** The run grid's origin (epoch-aligned), at or before `from`. */
  firstStart: number;
  /** The range on this lane's partition grid: [from rounded down, to rounded up). */
  from: number;
  to: number;
  /** Runs. */
  count: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Every run of each pipeline over [from, to), ordered by end, ingestion before transform at the same
 * end (orders, catalog, files), so a transform run comes after the ingestion it reads, which are
 * its deps. A run is `runSizes[pipeline]` partitions (default 1: every partition on its own) on an
 * epoch-aligned grid, clipped to the range. Items are computed when asked for: the items ending
 * before a time T are counted per pipeline by division.
 */
export function lazyPlan(pipelines: readonly PipelineName[], from: string, to: string, runSizes: RunSizes = {}): BackfillPlan {
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  const lanes: Lane[] = PIPELINE_NAMES.filter((p) => pipelines.includes(p)).map((pipeline) => {
    const cadence = cadenceMs(pipeline);
    const lo = Math.floor(fromMs / cadence) * cadence;
    const hi = Math.max(lo, Math.ceil(toMs / cadence) * cadence);
    const size = runSizes[pipeline] ?? 1;
    const run = size === 0 ? Math.max(cadence, hi - lo) : cadence * size;
    const firstStart = size === 0 ? lo : Math.floor(lo / run) * run;
    const count = hi > lo ? Math.ceil((hi - firstStart) / run) : 0;
    return { pipeline, rank: (INGESTION.has(pipeline) ? 0 : 1) * 10 + PIPELINE_NAMES.indexOf(pipeline), cadence, run, firstStart, from: lo, to: hi, count };
  }).sort((a, b) => a.rank - b.rank);
  const length = lanes.reduce((n, l) => n + l.count, 0);
  const partitions = lanes.reduce((n, l) => n + (l.to - l.from) / l.cadence, 0);
  const step = lanes.reduce((g, l) => gcd(gcd(g, l.cadence), l.run), 0) || 1;
  /** A lane's runs ending at or before `t`: all of them once `t` reaches the range's end. */
  const endedBy = (l: Lane, t: number) => (t >= l.to ? l.count : Math.min(l.count - 1, Math.max(0, Math.floor((t - l.firstStart) / l.run))));
  const countEndedBy = (t: number) => lanes.reduce((n, l) => n + endedBy(l, t), 0);
  /** The lanes with a run ending exactly at `t`, in rank order. */
  const endingAt = (t: number) => lanes.filter((l) => endedBy(l, t) - endedBy(l, t - 1) === 1);
  const bounds = (l: Lane, k: number) => ({ start: Math.max(l.from, l.firstStart + k * l.run), end: Math.min(l.to, l.firstStart + (k + 1) * l.run) });
  /** Plan index of a lane's k-th run. */
  const indexOf = (l: Lane, k: number) => {
    const { end } = bounds(l, k);
    return countEndedBy(end - 1) + endingAt(end).findIndex((x) => x === l);
  };
  const item = (l: Lane, k: number, index: number): PlanItem => {
    const { start, end } = bounds(l, k);
    const partitionStart = new Date(start).toISOString();
    const partitionEnd = new Date(end).toISOString();
    const deps: number[] = [];
    if (!INGESTION.has(l.pipeline)) {
      for (const ing of lanes.filter((x) => INGESTION.has(x.pipeline))) {
        // The ingestion runs overlapping [start, end).
        const first = Math.max(0, Math.floor((Math.max(start, ing.from) - ing.firstStart) / ing.run));
        const last = Math.min(ing.count - 1, Math.floor((Math.min(end, ing.to) - 1 - ing.firstStart) / ing.run));
        for (let j = first; j <= last; j++) {
          const d = indexOf(ing, j);
          if (d < index) deps.push(d);
        }
      }
    }
    const covered = (end - start) / l.cadence;
    const workflowId = covered === 1 ? partitionWorkflowId(l.pipeline, partitionStart) : coalescedWorkflowId(l.pipeline, partitionStart, partitionEnd);
    return { pipeline: l.pipeline, partitionStart, partitionEnd, workflowId, deps, partitions: covered };
  };
  return {
    length,
    partitions,
    at(index: number): PlanItem | undefined {
      if (!Number.isInteger(index) || index < 0 || index >= length) return undefined;
      // The first end time (a multiple of every run's and cadence's gcd) by which more than `index` items ended.
      let lo = Math.floor(Math.min(...lanes.map((l) => l.firstStart)) / step);
      let hi = Math.ceil(Math.max(...lanes.map((l) => l.to)) / step);
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (countEndedBy(mid * step) > index) hi = mid;
        else lo = mid + 1;
      }
      const end = lo * step;
      const lane = endingAt(end)[index - countEndedBy(end - 1)];
      if (!lane) return undefined;
      return item(lane, endedBy(lane, end) - 1, index);
    },
  };
}

/** Workflow id of a backfill run covering several partitions: `<pipeline>/<start>..<end>`. */
export function coalescedWorkflowId(pipeline: PipelineName, partitionStart: string, partitionEnd: string): string {
  return `${partitionWorkflowId(pipeline, partitionStart)}..${partitionEnd}`;
}

/** The whole plan as an array (the CLI and tests; the workflow reads lazyPlan). */
export function planBackfill(pipelines: readonly PipelineName[], from: string, to: string, runSizes: RunSizes = {}): PlanItem[] {
  const plan = lazyPlan(pipelines, from, to, runSizes);
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
