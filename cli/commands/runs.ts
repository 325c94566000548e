import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { makePool } from '../../lib/clients';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { isPipelineName, PIPELINE_NAMES, PIPELINES } from '../../workflows/partitions';
import { printData } from '../output';

const STATUSES: Record<string, string> = {
  running: 'Running', completed: 'Completed', failed: 'Failed', cancelled: 'Canceled', terminated: 'Terminated', timed_out: 'TimedOut', continued_as_new: 'ContinuedAsNew',
};

/** The visibility query for pipeline runs; `all` adds the scheduled wrappers and backfills. */
export function runsQuery(opts: { pipeline?: string; status?: string; all?: boolean }): string {
  const where: string[] = [];
  if (opts.pipeline) {
    if (!isPipelineName(opts.pipeline) && opts.pipeline !== 'backfill') throw new Error(`unknown pipeline "${opts.pipeline}"; use one of ${PIPELINE_NAMES.join(', ')}, backfill`);
    where.push(`EtlPipeline = "${opts.pipeline}"`);
  } else {
    where.push(`EtlPipeline IN (${[...PIPELINE_NAMES, 'backfill'].map((p) => `"${p}"`).join(', ')})`);
  }
  if (!opts.all) where.push(`WorkflowType IN (${Object.values(PIPELINES).map((p) => `"${p.workflowType}"`).join(', ')})`);
  if (opts.status) {
    const s = STATUSES[opts.status.toLowerCase()];
    if (!s) throw new Error(`unknown status "${opts.status}"; use one of ${Object.keys(STATUSES).join(', ')}`);
    where.push(`ExecutionStatus = "${s}"`);
  }
  return where.join(' AND ');
}

interface LoadTotals { id: string; loads: number; received: number; loaded: number; quarantined: number; duplicates: number; failed_loads: number }

export function register(program: Command): void {
  program
    .command('runs')
    .description('Recent pipeline runs from Temporal (by EtlPipeline / EtlPartition) with the counts of their loads, and links to the UI.')
    .option('--pipeline <name>', `only this pipeline (${PIPELINE_NAMES.join(', ')}, backfill)`)
    .option('--status <status>', `only runs in this state (${Object.keys(STATUSES).join(', ')})`)
    .option('--all', 'also the scheduled-run wrappers and backfills')
    .option('--limit <n>', 'newest runs to show', '30')
    .option('--json', 'print JSON')
    .action(async (opts: { pipeline?: string; status?: string; all?: boolean; limit: string; json?: boolean }) => {
      const query = runsQuery(opts);
      const limit = Math.max(1, Number.parseInt(opts.limit, 10) || 30);
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      const staging = makePool(config, 'staging', 1);
      try {
        const runs = [];
        for await (const w of client.workflow.list({ query })) {
          runs.push(w);
          if (runs.length >= limit) break;
        }
        // One set-wise query for all runs: loads are keyed '<workflowId>/<source>'.
        const { rows } = await staging.query<LoadTotals>(
          `select w.id, count(l.load_id)::int as loads, coalesce(sum(l.received), 0)::int as received, coalesce(sum(l.loaded), 0)::int as loaded,
                  coalesce(sum(l.quarantined), 0)::int as quarantined, coalesce(sum(l.duplicates), 0)::int as duplicates,
                  count(*) filter (where l.status = 'failed')::int as failed_loads
           from unnest($1::text[]) as w(id) left join etl.loads l on starts_with(l.load_id, w.id || '/')
           group by w.id`,
          [runs.map((r) => r.workflowId)],
        );
        const totals = new Map(rows.map((r) => [r.id, r]));
        printData(runs.map((r) => {
          const t = totals.get(r.workflowId);
          return {
            workflowId: r.workflowId,
            type: r.type,
            status: r.status.name,
            started: r.startTime.toISOString(),
            seconds: r.closeTime ? Math.round((r.closeTime.getTime() - r.startTime.getTime()) / 1000) : null,
            loads: t?.loads ?? 0,
            received: t?.received ?? 0,
            loaded: t?.loaded ?? 0,
            quarantined: t?.quarantined ?? 0,
            duplicates: t?.duplicates ?? 0,
            failedLoads: t?.failed_loads ?? 0,
            ui: workflowUiUrl(config, r.workflowId, r.runId),
          };
        }), opts);
      } finally {
        await staging.end();
        await client.connection.close();
      }
    });

  program
    .command('alerts')
    .description('Alerts (etl.alerts), newest first: failed or slow runs, schedule backlogs, data checks, stale tables (cleared_at: caught up).')
    .option('--limit <n>', 'newest alerts to show', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { limit: string; json?: boolean }) => {
      const config = loadConfig();
      const staging = makePool(config, 'staging', 1);
      try {
        const { rows } = await staging.query<Record<string, unknown> & { workflow_id: string; run_id: string }>(
          `select raised_at, kind, pipeline, partition_start, message, workflow_id, run_id, cleared_at,
                  case when delivered_at is not null then 'sent' when delivery_error is not null then 'error: ' || delivery_error else 'not sent' end as webhook
           from etl.alerts order by raised_at desc limit $1`,
          [Math.max(1, Number.parseInt(opts.limit, 10) || 50)],
        );
        printData(rows.map((r) => ({ ...r, ui: workflowUiUrl(config, r.workflow_id, r.run_id) })), opts);
      } finally {
        await staging.end();
      }
    });
}
