import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { makeS3 } from '../../lib/clients';
import { lakeQuery } from '../../lib/lake-query';
import { printData } from '../output';

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function register(program: Command): void {
  const lake = program.command('lake').description('The S3 data lake.');
  lake
    .command('query')
    .description('Run SQL over the curated Parquet tables (curated/<table>/dt=…), like Athena. Filters on dt read only the matching partitions.')
    .argument('<sql>', 'the query; tables are named after curated/<table>/, dt is the partition column')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV')
    .option('--verbose', 'say which tables and how many objects were read')
    .addHelpText('after', `\nExample:\n  etl lake query "select event_name, events from daily_traffic where dt = '2024-01-02'"`)
    .action(async (sql: string, opts: { json?: boolean; csv?: boolean; verbose?: boolean }) => {
      const config = loadConfig();
      const s3 = makeS3(config);
      try {
        const r = await lakeQuery(s3, config.S3_BUCKET, sql);
        if (opts.verbose) console.error(`tables: ${r.tables.join(', ')}; read ${r.objectsRead} of ${r.objectsTotal} objects`);
        if (opts.csv) {
          console.log(r.columns.map(csvCell).join(','));
          for (const row of r.rows) console.log(r.columns.map((c) => csvCell(row[c])).join(','));
        } else printData(r.rows, opts);
      } finally {
        s3.destroy();
      }
    });
}
