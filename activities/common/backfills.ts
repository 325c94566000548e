/**
 * The backfill's bookkeeping in PostgreSQL: its failed partitions, all of them. The workflow keeps
 * counts and the first failures in its state; the full list would outgrow Temporal's payload limit
 * (20k failures are about 3 MB), so each run of the chain writes its own here.
 */
import type { Pool } from 'pg';
import { rethrowClassified } from '../../lib/errors';

export interface BackfillFailuresInput {
  backfillId: string;
  /** The first run of the continue-as-new chain (workflowInfo().firstExecutionRunId). */
  runId: string;
  failures: Array<{ workflowId: string; error: string }>;
}

export function createBackfillActivities({ staging }: { staging: Pool }) {
  return {
    /** Idempotent: a retried call, or a replayed run's, writes the same rows. */
    async recordBackfillFailures(input: BackfillFailuresInput): Promise<{ recorded: number }> {
      try {
        const { rowCount } = await staging.query(
          `insert into etl.backfill_failures (backfill_id, run_id, workflow_id, error)
           select $1, $2, f.workflow_id, f.error from unnest($3::text[], $4::text[]) as f(workflow_id, error)
           on conflict (backfill_id, run_id, workflow_id) do update set error = excluded.error`,
          [input.backfillId, input.runId, input.failures.map((f) => f.workflowId), input.failures.map((f) => f.error)],
        );
        return { recorded: rowCount ?? 0 };
      } catch (err) {
        rethrowClassified(err, `recording ${input.failures.length} failed partitions of backfill ${input.backfillId}`);
      }
    },
  };
}

export type BackfillActivities = ReturnType<typeof createBackfillActivities>;
