/**
 * The churn commands' shared parts (`etl churn train|report`, the demo): running churnWorkflow with
 * the workers it needs, and printing both models' metrics side by side with the recency baseline.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../config';
import type { ChurnModelSummary } from '../activities/churn';
import { workflowUiUrl } from '../lib/temporal';
import { startMlWorker } from '../workers/ml';
import { createWorker } from '../workers/worker';
import { churnWorkflow, type ChurnInput, type ChurnResult } from '../workflows';
import { queueName } from '../workflows/queue-names';

/** A poll lasts up to about a minute; the server lists a stopped worker's pollers for minutes after. */
const LIVE_POLLER_SECONDS = 90;

/** Whether a worker polled `queue` for activities (type 2) or workflows (type 1) in the last 90 s. */
export async function hasPollers(client: Client, namespace: string, queue: string, type: 1 | 2): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: queue, kind: 1 }, taskQueueType: type });
  const now = Date.now();
  return (res.pollers ?? []).some((p) => now - Number(p.lastAccessTime?.seconds ?? 0) * 1000 < LIVE_POLLER_SECONDS * 1000);
}

/**
 * Starts churnWorkflow and waits for its result. When no worker polls the base queue or no ML worker
 * the `-ml` queue, runs them in this process for the duration (so `etl churn train` works right
 * after the demo, with nothing else running).
 */
export async function trainChurn(config: Config, client: Client, input: ChurnInput, log: (line: string) => void = console.log): Promise<{ workflowId: string; result: ChurnResult }> {
  const base = config.TEMPORAL_TASK_QUEUE;
  const needTs = !(await hasPollers(client, config.TEMPORAL_NAMESPACE, base, 1));
  const needMl = !(await hasPollers(client, config.TEMPORAL_NAMESPACE, queueName(base, 'ml'), 2));
  const ts = needTs ? await createWorker(config) : undefined;
  const tsRun = ts?.run();
  let ml: Awaited<ReturnType<typeof startMlWorker>> | undefined;
  try {
    if (needTs) log(`no worker polls "${base}": running one in this process for the training`);
    if (needMl) {
      log(`no ML worker polls "${queueName(base, 'ml')}": starting one (python -m shop_ml.worker) for the training`);
      ml = await startMlWorker(config, { log: (l) => log(`[ml] ${l}`) });
    }
    const workflowId = `churn/${input.cutoff ?? 'latest'}/${new Date().toISOString().replace(/[-:.]/g, '')}`;
    log(`started ${workflowId}: ${workflowUiUrl(config, workflowId)}`);
    const result = await client.workflow.execute(churnWorkflow, { taskQueue: base, workflowId, args: [input] });
    return { workflowId, result };
  } finally {
    await ml?.stop();
    if (ts) {
      ts.shutdown();
      await tsRun?.catch(() => undefined);
      await ts.close();
    }
  }
}

const METRIC_ROWS: Array<[string, string]> = [
  ['roc_auc', 'ROC AUC'], ['pr_auc', 'PR AUC'], ['brier', 'Brier score'], ['calibration_error', 'calibration error (ECE)'],
  ['precision_top_decile', 'precision, top decile'], ['recall_top_decile', 'recall, top decile'], ['lift_top_decile', 'lift, top decile (over base rate)'],
  ['lift_over_recency', 'lift over recency (top-decile precision)'], ['auc_over_recency', 'ROC AUC over recency'], ['base_rate', 'churn rate (test)'],
];

/** Metric per row, model per column: the table `etl churn train|report` and the demo print. */
export function metricsTable(models: ChurnModelSummary[]): Array<Record<string, string>> {
  return METRIC_ROWS.map(([key, label]) => ({
    metric: label,
    ...Object.fromEntries(models.map((m) => [m.model, m.metrics[key] === undefined ? '' : m.metrics[key].toFixed(3)])),
  }));
}

export function describeRun(r: ChurnResult): string[] {
  const p = r.plan;
  return [
    `run ${r.runId}: horizon ${p.horizonDays} day${p.horizonDays === 1 ? '' : 's'} (${{
      data: `the 80th percentile of ${p.repeatGaps} gaps between a customer's orders`,
      'data-capped': `the 80th percentile of ${p.repeatGaps} gaps between a customer's orders is ${p.dataHorizonDays} days; capped by the history's length (orders and events), a third of it`,
      input: 'given',
    }[p.horizonFrom]}); orders ${p.firstOrder} .. ${p.lastOrder}, events from ${p.firstEvent ?? '(none)'}`,
    `trained at ${p.trainCutoffs.length} cutoff(s) ${p.trainCutoffs[0]} .. ${p.trainCutoffs.at(-1)} (${r.train.rows} rows, ${r.train.churned} churned), tested at ${p.testCutoff} (${r.test.rows} customers, ${r.test.churned} churned), scored at ${p.cutoff}: ${r.scored} customers`,
    `artefact ${r.artefact} (${Object.entries(r.libraryVersions).map(([k, v]) => `${k} ${v}`).join(', ')}); ${r.durationSeconds.toFixed(1)} s`,
  ];
}

/** The latest run's models as stored (analytics.churn_latest_runs), for `etl churn report`. */
export async function latestRun(analytics: Pool): Promise<Array<{ run_id: string; model: string; cutoff: string; test_cutoff: string; horizon_days: number; metrics: Record<string, number>; importances: Record<string, number>; training_rows: number; test_rows: number; scored_rows: number; artefact: string; created_at: Date }>> {
  const { rows } = await analytics.query(`select run_id, model, cutoff::text, test_cutoff::text, horizon_days, metrics, importances, training_rows, test_rows, scored_rows, artefact, created_at
    from churn_latest_runs order by array_position(array['recency_baseline', 'logistic_regression', 'gradient_boosting'], model)`);
  return rows;
}
