import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { makePool } from '../../lib/clients';
import { makeTemporalClient } from '../../lib/temporal';
import { ensureMlVenv } from '../../workers/ml';
import { installConciseLogging } from '../../workers/logging';
import { describeRun, latestRun, metricsTable, trainChurn } from '../churn';
import { printData, printTable } from '../output';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function register(program: Command): void {
  const churn = program.command('churn').description('Customer churn: train and evaluate the models (logistic regression, gradient-boosted trees) and score every customer (docs/churn.md).');

  churn
    .command('setup')
    .description("Make the ML worker's Python venv (scikit-learn, temporalio; from PyPI, once, under ETL_CACHE_DIR).")
    .option('--print-python', "print only the venv's python path")
    .action(async (opts: { printPython?: boolean }) => {
      const python = await ensureMlVenv(loadConfig(), opts.printPython ? (l) => console.error(l) : console.log);
      console.log(opts.printPython ? python : `ML venv: ${python}`);
    });

  churn
    .command('train')
    .description('Run churnWorkflow now and wait: plan the cutoffs, train, evaluate, store runs and scores (workers are started in this process when none runs).')
    .option('--cutoff <date>', 'scoring date YYYY-MM-DD (default: the day after the latest order, at most today)')
    .option('--horizon-days <n>', 'churn horizon N in days (default: chosen from the data)')
    .option('--seed <n>', 'random state of the models', '1')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { cutoff?: string; horizonDays?: string; seed: string; json?: boolean }) => {
      if (opts.cutoff !== undefined && !DATE.test(opts.cutoff)) throw new Error(`--cutoff must be a date YYYY-MM-DD, got ${opts.cutoff}`);
      const horizonDays = opts.horizonDays === undefined ? undefined : Number(opts.horizonDays);
      if (horizonDays !== undefined && (!Number.isInteger(horizonDays) || horizonDays < 1)) throw new Error(`--horizon-days must be a whole number >= 1, got ${opts.horizonDays}`);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number >= 0, got ${opts.seed}`);
      const config = loadConfig();
      installConciseLogging('WARN'); // a worker run in this process logs its warnings only
      const client = await makeTemporalClient(config);
      try {
        const { result } = await trainChurn(config, client, { cutoff: opts.cutoff, horizonDays, seed }, opts.json ? () => undefined : console.log);
        if (opts.json) {
          console.log(JSON.stringify(result, null, 2));
          return;
        }
        for (const line of describeRun(result)) console.log(line);
        printTable(metricsTable(result.models));
        for (const m of result.models.slice(1)) console.log(`${m.model}: top features ${m.topFeatures.map((f) => `${f.feature} ${f.importance.toFixed(3)}`).join(', ')}`);
      } finally {
        await client.connection.close();
      }
    });

  churn
    .command('report')
    .description("The latest run's metrics side by side (and its riskiest segments), from analytics.")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const analytics = makePool(config, 'analytics', 1);
      try {
        const runs = await latestRun(analytics);
        if (runs.length === 0) throw new Error('no churn run stored yet: run npx etl churn train');
        const segments = (await analytics.query(`select country, top_category, customers, round(avg_score::numeric, 3) as avg_score, high_risk
          from churn_risk_segments where model = 'gradient_boosting' and customers >= 5 order by avg_score desc, customers desc limit 10`)).rows;
        if (opts.json) {
          printData([{ runs, segments }], opts);
          return;
        }
        const r = runs[0]!;
        console.log(`run ${r.run_id} (${r.created_at.toISOString()}): cutoff ${r.cutoff}, tested at ${r.test_cutoff}, horizon ${r.horizon_days} day${r.horizon_days === 1 ? '' : 's'}, ${r.training_rows} training rows, ${r.test_rows} test customers, ${runs.at(-1)?.scored_rows} scored; artefact ${r.artefact}`);
        printTable(metricsTable(runs.map((m) => ({ model: m.model, metrics: m.metrics, topFeatures: [] }))));
        console.log('\nriskiest segments (gradient boosting; at least 5 customers):');
        printTable(segments);
      } finally {
        await analytics.end();
      }
    });
}
