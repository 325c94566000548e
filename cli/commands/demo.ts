import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { runDemo } from '../demo/run-demo';

export function register(program: Command): void {
  program
    .command('demo')
    .description('Run the whole pipeline on simulated shop data: generate → shop → ingest → transform, then print the metrics and Temporal UI links.')
    .option('--seed <n>', 'dataset seed', (v) => Number.parseInt(v, 10), 42)
    .option('--start <date>', 'first day of the orders API range (YYYY-MM-DD)', '2026-10-01')
    .option('--days <n>', 'days of API data (as many again of purchase files before them); at least 3 for the churn step', (v) => Number.parseInt(v, 10), 3)
    .option('--scale <s>', 'volume: 1 is ~100k events and ~5k orders a day', Number.parseFloat, 0.1)
    .option('--out <dir>', 'dataset folder (default .run/demo/dataset)')
    .option('--concurrency <n>', 'backfill concurrency', (v) => Number.parseInt(v, 10), 8)
    .option('--keep', 'keep the worker, simulator and dashboard (ETL_DASHBOARD_PORT) running afterwards')
    .action(async (opts: { seed: number; start: string; days: number; scale: number; out?: string; concurrency: number; keep?: boolean }) => {
      process.exitCode = await runDemo(loadConfig(), { ...opts, keep: Boolean(opts.keep) });
    });
}
