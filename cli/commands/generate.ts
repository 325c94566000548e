import type { Command } from 'commander';
import { z } from 'zod';
import { generateDataset, generateOptionsSchema } from '../../shop/generator';
import { printTable } from '../output';

export function register(program: Command): void {
  program
    .command('generate')
    .description('Write a seeded, deterministic shop dataset (products, users, inventory, reviews, orders, events, purchase files, manifest) in the layout of docs/dataset.md.')
    .requiredOption('--out <dir>', 'dataset folder to write (created if missing; files are overwritten)')
    .option('--seed <n>', 'PRNG seed: same arguments give byte-identical files', '1')
    .option('--start <date>', 'first UTC day of the API range (YYYY-MM-DD); purchase files cover the --days before it', '2024-01-01')
    .option('--days <n>', 'number of days', '7')
    .option('--scale <s>', 'volume: 1 is ~100k events and ~5k orders a day', '1')
    .option('--dirt <profile>', 'defects to plant: none, default or heavy', 'default')
    .option('--churn-share <x>', 'share of users who churn (slow down, then stop; abandon more carts, return more): 0 to 0.9, 0 plants none', '0.3')
    .option('--json', 'print the manifest as JSON')
    .addHelpText('after', '\nExample:\n  etl generate --seed 7 --start 2024-03-01 --days 3 --scale 0.1 --dirt heavy --out .run/data')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = generateOptionsSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`etl generate: ${describe(parsed.error)}`);
      const { manifest, seconds } = await generateDataset(parsed.data);
      if (raw.json) {
        console.log(JSON.stringify(manifest, null, 2));
        return;
      }
      printTable(Object.entries(manifest.files).map(([file, s]) => ({
        file, rows: s.rows, invalid: s.invalid, duplicates: s.duplicates,
        defects: Object.entries(s.defects).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' '),
      })));
      const t = manifest.totals;
      console.log(`\n${t.rows} rows in ${seconds.toFixed(1)} s (${Math.round(t.rows / Math.max(seconds, 1e-9))} rows/s); ${t.invalid} invalid, ${t.duplicates} duplicates, ${Object.values(t.defects).reduce((a, b) => a + b, 0)} planted defects in all.`);
      if (manifest.churn) console.log(`Churn planted: ${manifest.churn.churners} churners (share ${manifest.churn.share}), churn moments ${manifest.churn.window.from} to ${manifest.churn.window.to}, ${manifest.churn.rampDays}-day slowdown first.`);
      if (manifest.schemaChange) console.log(`Purchase schema changes on ${manifest.schemaChange.from}: ${manifest.schemaChange.files.length} files renamed ${JSON.stringify(manifest.schemaChange.renamed)}, added ${manifest.schemaChange.added.join(', ')}.`);
      console.log(`Wrote ${parsed.data.out} (manifest.json lists every planted defect).`);
    });
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ');
}
