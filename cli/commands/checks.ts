import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { makePool } from '../../lib/clients';
import { loadDataChecks } from '../../lib/data-checks';
import { printData } from '../output';

/** `etl checks`: the data checks (sql/checks with ETL_DATA_CHECKS applied) and their latest results per date. */
export function register(program: Command): void {
  program
    .command('checks')
    .description('Data-check results per analytics date (analytics.data_checks_latest), newest dates first; --list shows the checks and their thresholds (docs/data-checks.md).')
    .option('--date <YYYY-MM-DD>', 'only this date')
    .option('--failed', 'only checks that failed or warned')
    .option('--list', 'list the checks in force: severity, thresholds and description')
    .option('--limit <n>', 'rows to show', '100')
    .option('--json', 'print JSON')
    .action(async (opts: { date?: string; failed?: boolean; list?: boolean; limit: string; json?: boolean }) => {
      const config = loadConfig();
      if (opts.list) {
        printData(loadDataChecks(config.ETL_DATA_CHECKS).map((c) => ({
          check: c.name, severity: c.severity, database: c.database,
          thresholds: Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(' '), description: c.description,
        })), opts);
        return;
      }
      if (opts.date && !/^\d{4}-\d{2}-\d{2}$/.test(opts.date)) throw new Error(`--date must be YYYY-MM-DD, got ${opts.date}`);
      const analytics = makePool(config, 'analytics', 1);
      try {
        const { rows } = await analytics.query(
          `select check_date::text as date, check_name as check, severity, status, observed, expected, published, detail, run_id, checked_at
           from data_checks_latest
           where ($1::date is null or check_date = $1::date) and (not $2 or status in ('fail', 'warn'))
           order by check_date desc, check_name limit $3`,
          [opts.date ?? null, opts.failed === true, Math.max(1, Number.parseInt(opts.limit, 10) || 100)],
        );
        printData(rows, opts);
      } finally {
        await analytics.end();
      }
    });
}
