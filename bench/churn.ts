/**
 * The churn models on a generated shop (issue 15, docs/churn.md): `npx tsx bench/churn.ts
 * [--seed 7] [--days 28] [--scale 0.2] [--churn-share 0.3] [--control] [--keep]`.
 *
 * In databases and a bucket of its own: generates a dataset with planted churners, loads it through
 * the real transform, runs churnWorkflow on Temporal with the Python ML worker, and prints the plan,
 * both models' metrics beside the recency baseline, their top features, and how well each model's
 * scores find the customers the generator planted as churners (ROC AUC of score against the planted
 * flag, among the scored customers who were still active at the cutoff). --control repeats it all on
 * the same seed with no churn planted, to show what the planted signal adds. --keep leaves the
 * databases (not the bucket) for a look afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { generateDataset } from '../shop/generator';
import { startMlWorker } from '../workers/ml';
import { churnWorkflow, type ChurnResult } from '../workflows/churn';
import { partitionAt } from '../workflows/partitions';
import { describeRun, metricsTable } from '../cli/churn';
import { printTable } from '../cli/output';
import { isolatedEnv } from '../test/support/isolated-env';
import { runTransforms } from '../test/support/transform-run';
import { seedStaging } from '../test/support/transform-seed';
import { plantedChurners, rocAuc } from '../test/support/churn-truth';

const DAY = 86_400_000;

async function once(o: { seed: number; days: number; scale: number; share: number; start: string; keep?: boolean }): Promise<{ result: ChurnResult; planted: Record<string, number>; seconds: Record<string, number> }> {
  const base = loadConfig();
  const iso = await isolatedEnv(base, 'bench-churn', 'bch');
  const dir = mkdtempSync(join(tmpdir(), 'etl-churn-bench-'));
  const ml = await startMlWorker(iso.env.config, { baseQueue: iso.env.taskQueue, log: () => undefined });
  try {
    const t0 = performance.now();
    await generateDataset({ seed: o.seed, start: o.start, days: o.days, scale: o.scale, dirt: 'default', out: dir, churnShare: o.share });
    const arrived = new Date(Date.parse(`${o.start}T00:00:00Z`) + (o.days + 2) * DAY + 30 * 60_000);
    await seedStaging(iso.env.deps.staging, dir, '', `bench/${iso.tag}`, arrived);
    const t1 = performance.now();
    await runTransforms(iso.env, [partitionAt('transform', arrived)], `/bench-${iso.tag}`);
    const t2 = performance.now();
    const result = await iso.env.withWorker(() => iso.env.client.workflow.execute(churnWorkflow, { taskQueue: iso.env.taskQueue, workflowId: `churn/bench-${iso.tag}`, args: [{}] }));
    const t3 = performance.now();
    // The generator's truth: which scored customers it planted as churners (pseudonym -> index).
    const truth = plantedChurners({ ...o, cutoff: result.plan.cutoff, key: iso.env.config.PSEUDONYM_KEY });
    const planted: Record<string, number> = {};
    for (const model of ['logistic_regression', 'gradient_boosting']) {
      const { rows } = await iso.env.deps.analytics.query<{ customer_id: string; score: number }>(`select customer_id, score from churn_scores where run_id = $1 and model = $2`, [result.runId, model]);
      const kept = rows.filter((r) => truth.has(r.customer_id));
      planted[model] = rocAuc(kept.map((r) => truth.get(r.customer_id)!), kept.map((r) => r.score));
      planted[`${model}_customers`] = kept.length;
      planted[`${model}_churners`] = kept.filter((r) => truth.get(r.customer_id)).length;
    }
    return { result, planted, seconds: { generateAndStage: (t1 - t0) / 1000, transform: (t2 - t1) / 1000, churnWorkflow: (t3 - t2) / 1000 } };
  } finally {
    await ml.stop();
    if (o.keep) console.log(`--keep: the databases stay (${JSON.stringify(iso.dbEnv)}); drop them by hand`);
    else await iso.dispose((what, err) => console.error(`cleanup: ${what}: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(name: string, r: Awaited<ReturnType<typeof once>>): void {
  console.log(`\n## ${name}`);
  for (const line of describeRun(r.result)) console.log(line);
  console.log(`times: ${Object.entries(r.seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
  printTable(metricsTable(r.result.models));
  for (const m of r.result.models.slice(1)) console.log(`${m.model}: top features ${m.topFeatures.map((f) => `${f.feature} ${f.importance.toFixed(3)}`).join(', ')}`);
  console.log(`planted churners found (ROC AUC of score vs the generator's flag, customers still active at the cutoff): `
    + ['logistic_regression', 'gradient_boosting'].map((m) => `${m} ${r.planted[m]?.toFixed(3)} (${r.planted[`${m}_churners`]} of ${r.planted[`${m}_customers`]})`).join(', '));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    seed: { type: 'string', default: '7' }, days: { type: 'string', default: '28' }, scale: { type: 'string', default: '0.2' },
    'churn-share': { type: 'string', default: '0.3' }, start: { type: 'string', default: '2026-03-01' }, control: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false },
  } });
  const o = { seed: Number(values.seed), days: Number(values.days), scale: Number(values.scale), share: Number(values['churn-share']), start: values.start!, keep: values.keep };
  console.log(`churn bench: seed ${o.seed}, ${o.days} + ${o.days} days from ${o.start} (purchase files, then API), scale ${o.scale}, churn share ${o.share}`);
  report(`planted churn (share ${o.share})`, await once(o));
  if (values.control) report('control: no churn planted (share 0)', await once({ ...o, share: 0 }));
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
