/**
 * The hourly transform's activities: extract (dedup, clean, pseudonymise) per source, load one
 * analytics date (enrich, aggregate, one transaction), write one date's curated Parquet.
 */
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { loadDataChecks, type DataCheck } from '../../lib/data-checks';
import { rethrowClassified } from '../../lib/errors';
// alive: heartbeats every 5 s while the work runs (COPY streams and one-date rebuilds have no natural progress points).
import { whileAlive as alive } from '../common/heartbeat';
import { extractSource, type ExtractInput, type ExtractOutput } from './extract';
import { writeCurated, writeCuratedSnapshots, type CuratedInput, type CuratedOutput, type LakeDeps } from './lake';
import { analyzeFactEvent, clearPendingDates, loadDate, type LoadDateInput, type LoadDateOutput } from './load';

export type { ExtractInput, ExtractOutput } from './extract';
export type { CuratedInput, CuratedOutput } from './lake';
export type { LoadDateInput, LoadDateOutput } from './load';

/** dataChecks: the checks run on every rebuilt date (default: sql/checks as they are; the worker applies ETL_DATA_CHECKS). */
export interface TransformDeps extends LakeDeps { staging: Pool; pseudonymKey: string; dataChecks?: DataCheck[] }

/** The workflow run this activity serves; none when called outside an activity (tests, benches). */
function currentRun(): { workflowId: string; runId: string } | undefined {
  try {
    return Context.current().info.workflowExecution;
  } catch {
    return undefined;
  }
}

export function createTransformActivities(deps: TransformDeps) {
  const checks = deps.dataChecks ?? loadDataChecks();
  return {
    async extractTransformSource(input: ExtractInput): Promise<ExtractOutput> {
      try {
        return await alive(() => extractSource(deps, input));
      } catch (err) {
        rethrowClassified(err, `transform extract of ${input.source} for ${input.loadId}`);
      }
    },
    async loadAnalyticsDate(input: LoadDateInput): Promise<LoadDateOutput> {
      const run = { workflowId: input.partition, runId: 'standalone', ...currentRun() };
      return alive(() => loadDate(deps.analytics, input, { checks, staging: deps.staging, run }));
    },
    /** With `clearPending` (loadAnalyticsDate's snapshot), the date's pending marks that load covered are cleared after the write. */
    async writeCuratedDate(input: CuratedInput & { clearPending?: string }): Promise<CuratedOutput> {
      try {
        // fact_event's own statistics are refreshed on another connection while the date is read.
        // Settled both: a failed write waits for the analyze (which only warns) before it is reported.
        const [curated] = await alive(() => Promise.allSettled([writeCurated(deps, input), analyzeFactEvent(deps.analytics)]));
        if (curated.status === 'rejected') throw curated.reason;
        const out = curated.value;
        if (input.clearPending) await clearPendingDates(deps.analytics, input.date, input.clearPending);
        return out;
      } catch (err) {
        rethrowClassified(err, `curated lake write of ${input.date}`);
      }
    },
    async writeCuratedDimensions(input: CuratedInput): Promise<CuratedOutput> {
      try {
        return await alive(() => writeCuratedSnapshots(deps, input));
      } catch (err) {
        rethrowClassified(err, `curated dimension snapshot of ${input.date}`);
      }
    },
  };
}

export type TransformActivities = ReturnType<typeof createTransformActivities>;
