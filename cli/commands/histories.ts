import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { HISTORIES_DIR, recordHistories } from '../../lib/histories';
import { makeTemporalClient } from '../../lib/temporal';
import { printData } from '../output';

export function register(program: Command): void {
  const histories = program.command('histories').description('Workflow histories for the replay tests.');
  histories
    .command('record')
    .description('Export histories of completed runs from the Temporal server into test/histories/ (latest run of each workflow type by default).')
    .option('--query <visibility>', 'visibility query selecting runs', 'ExecutionStatus = "Completed"')
    .option('--id <workflowId...>', 'record these workflow ids instead of querying')
    .option('--per-type <n>', 'runs to keep per workflow type', (v) => Number.parseInt(v, 10), 1)
    .option('--out <dir>', 'output folder', HISTORIES_DIR)
    .option('--json', 'print JSON')
    .action(async (opts: { query: string; id?: string[]; perType: number; out: string; json?: boolean }) => {
      const client = await makeTemporalClient(loadConfig());
      try {
        const recorded = await recordHistories(client, { query: opts.query, ids: opts.id, perType: opts.perType, outDir: opts.out });
        printData(recorded.map((r) => ({ ...r })), opts);
      } finally {
        await client.connection.close();
      }
    });
}
