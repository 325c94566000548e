/**
 * The fuzz suite: the four sources fuzzed at once through the real activities and services, in
 * the process that runs this (whose peak RSS is measured), each run under a deadline. `records`
 * is the number of bad records in all, shared out by source; the seed and the tag decide every byte.
 */
import { randomBytes } from 'node:crypto';
import { Rng } from './fuzz-core';
import type { SourceReport } from './fuzz-ledger';
import { fuzzCatalogRun } from './fuzz-run-catalog';
import { fuzzEventsRun } from './fuzz-run-events';
import { fuzzFilesRun, type SourceRunOptions } from './fuzz-run-files';
import { fuzzOrdersRun } from './fuzz-run-orders';
import { rssSampler, seconds, type FuzzEnv } from './fuzz-run';

// Each source's share covers its every variant once from about 1,500 records in all (files fuzz CSV and JSON lines).
export const SHARES = { orders: 0.25, events: 0.2, files: 0.4, catalog: 0.15 } as const;
export type FuzzSource = keyof typeof SHARES;

export interface FuzzOptions {
  seed: number;
  /** Bad records in all, shared out by SHARES. */
  records: number;
  /** Prefix of every id, topic, schema and load of the run (default: new each run). */
  tag?: string;
  /** Per run (one file, one page chain, the stream, one catalog source). */
  deadlineMs?: number;
  pageSize?: number;
  /** Files: bad records per file. */
  perFile?: number;
  /** Catalog: products of 1 MB each in one window of their own. */
  catalogWideRows?: number;
  /** Orders pages per run (a failing page costs its run's later pages). */
  chainPages?: number;
  /** Also serve a page past the real 64 MiB body cap. */
  realCap?: boolean;
  sources?: readonly FuzzSource[];
  /** Leave out record kinds (`<field>=<variant>`) known to fail, by source. */
  exclude?: Partial<Record<FuzzSource, RegExp>>;
}

export interface FuzzReport {
  seed: number;
  tag: string;
  era: number;
  records: number;
  sources: SourceReport[];
  /** Highest RSS sampled every 100 ms during the run, and the process's maxRSS (its whole life). */
  peakRssBytes: number;
  maxRssBytes: number;
  seconds: number;
}

export const newTag = () => `fz${randomBytes(4).toString('hex')}`;

export async function runFuzz(env: FuzzEnv, o: FuzzOptions): Promise<{ report: FuzzReport; cleanUp(): Promise<void> }> {
  const began = performance.now();
  const tag = o.tag ?? newTag();
  const era = new Rng(o.seed, tag).int(2200, 9000);
  const rss = rssSampler();
  const opts = (s: FuzzSource): SourceRunOptions => ({
    seed: o.seed, tag: `${tag}${s[0]}`, era, bad: Math.max(1, Math.round(o.records * SHARES[s])), deadlineMs: o.deadlineMs ?? 180_000, exclude: o.exclude?.[s], perFile: o.perFile, wideRows: o.catalogWideRows,
  });
  const wanted = o.sources ?? (Object.keys(SHARES) as FuzzSource[]);
  const runs = await Promise.allSettled(wanted.map((s) => {
    switch (s) {
      case 'orders': return fuzzOrdersRun(env, { ...opts(s), pageSize: o.pageSize ?? 50, chainPages: o.chainPages, realCap: o.realCap });
      case 'events': return fuzzEventsRun(env, opts(s));
      case 'files': return fuzzFilesRun(env, opts(s));
      case 'catalog': return fuzzCatalogRun(env, opts(s));
    }
  }));
  const peak = rss.stop();
  const sources = runs.map((r, i) => (r.status === 'fulfilled' ? r.value.report : crashed(wanted[i] as string, r.reason)));
  return {
    report: { seed: o.seed, tag, era, records: o.records, sources, peakRssBytes: peak, maxRssBytes: process.resourceUsage().maxRSS * 1024, seconds: seconds(began) },
    async cleanUp() {
      for (const r of runs) if (r.status === 'fulfilled') await r.value.cleanUp();
    },
  };
}

function crashed(source: string, err: unknown): SourceReport {
  return { source, loads: 0, failedLoads: 0, badSent: 0, totals: { received: 0, loaded: 0, quarantined: 0, duplicates: 0 }, bad: 0, valid: 0, byFamily: {}, reasons: {}, scenarios: [], seconds: 0,
    violations: [`the ${source} fuzz run itself crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`] };
}

/** Every violation of the run, prefixed by its source. */
export const violations = (r: FuzzReport) => r.sources.flatMap((s) => s.violations.map((v) => `${s.source}: ${v}`));
