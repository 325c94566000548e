import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { databaseUrl } from '../../lib/clients';
import { migrate, type Series } from '../../lib/migrate';
import { printData } from '../output';

const SERIES: Array<{ series: Series; db: 'staging' | 'analytics' | 'shopOwner' }> = [
  { series: 'staging', db: 'staging' },
  { series: 'analytics', db: 'analytics' },
  { series: 'shop', db: 'shopOwner' },
];

export async function migrateAll(config = loadConfig(), only?: Series[]) {
  const out = [];
  for (const s of SERIES.filter((x) => !only || only.includes(x.series))) out.push(await migrate(s.series, databaseUrl(config, s.db)));
  return out;
}

export function register(program: Command): void {
  const db = program.command('db').description('Database maintenance: migrations.');
  db.command('migrate')
    .description('Apply the numbered SQL migrations of sql/<series>/ to the staging, analytics and shop databases (idempotent).')
    .option('--only <series...>', 'only these series: staging, analytics, shop')
    .option('--json', 'print JSON')
    .action(async (opts: { only?: Series[]; json?: boolean }) => {
      const results = await migrateAll(loadConfig(), opts.only);
      printData(results.map((r) => ({ series: r.series, applied: r.applied.join(', ') || '-', already_applied: r.alreadyApplied, code: r.code })), opts);
    });
}
