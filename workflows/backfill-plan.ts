/**
 * Backfill planning, pure and deterministic: the backfill workflow, the CLI (validation) and unit
 * tests share it. The plan is recomputed from the input on every run, so continue-as-new carries
 * only a cursor and counts, never the plan.
 */
import { isPipelineName, PIPELINE_NAMES, partitionsBetween, partitionWorkflowId, type PipelineName } from './partitions';

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

/** Days a single backfill may span; a longer one is several backfills (its plan is held in memory). */
export const MAX_BACKFILL_DAYS = 400;

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

/**
 * Every partition of each pipeline overlapping [from, to), ordered by partition end, ingestion
 * before transform at the same end, so a transform hour comes after the ingestion it reads.
 */
export function planBackfill(pipelines: readonly PipelineName[], from: string, to: string): PlanItem[] {
  const items: PlanItem[] = [];
  for (const pipeline of PIPELINE_NAMES.filter((p) => pipelines.includes(p))) {
    for (const p of partitionsBetween(pipeline, from, to)) {
      items.push({ pipeline, ...p, partitionEnd: p.partitionEnd, workflowId: partitionWorkflowId(pipeline, p.partitionStart), deps: [] });
    }
  }
  const rank = (p: PipelineName) => (INGESTION.has(p) ? 0 : 1) * 10 + PIPELINE_NAMES.indexOf(p);
  items.sort((a, b) => a.partitionEnd.localeCompare(b.partitionEnd) || rank(a.pipeline) - rank(b.pipeline) || a.partitionStart.localeCompare(b.partitionStart));
  const index = new Map(items.map((it, i) => [it.workflowId, i]));
  items.forEach((item, i) => {
    if (INGESTION.has(item.pipeline)) return;
    for (const ing of pipelines.filter((p) => INGESTION.has(p))) {
      for (const p of partitionsBetween(ing, item.partitionStart, item.partitionEnd)) {
        const d = index.get(partitionWorkflowId(ing, p.partitionStart));
        if (d !== undefined && d < i) item.deps.push(d);
      }
    }
  });
  return items;
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
  plan: readonly PlanItem[], next: number, running: ReadonlySet<number>, failed: ReadonlySet<number>, slots: number,
  serial: ReadonlySet<PipelineName> = new Set(),
): ReadyStep {
  const start: number[] = [];
  const blocked: number[] = [];
  const busy = new Set(running);
  let i = next;
  while (i < plan.length) {
    const item = plan[i];
    if (!item) break;
    if (item.deps.some((d) => failed.has(d) || blocked.includes(d))) {
      blocked.push(i++);
      continue;
    }
    if (start.length >= slots || item.deps.some((d) => busy.has(d))) break;
    if (serial.has(item.pipeline) && [...busy].some((b) => plan[b]?.pipeline === item.pipeline)) break;
    start.push(i);
    busy.add(i++);
  }
  return { start, blocked, next: i };
}
