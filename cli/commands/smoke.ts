import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { wiringCheckWorkflow } from '../../workflows';
import { printData } from '../output';

export function register(program: Command): void {
  program
    .command('smoke')
    .description('Run the wiring-check workflow: write and read back staging PostgreSQL, Kafka and S3 through a worker.')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      const runId = new Date().toISOString();
      const workflowId = `smoke/${runId}`;
      const handle = await client.workflow.start(wiringCheckWorkflow, {
        taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId, args: [{ runId }],
      });
      const result = await handle.result();
      printData(result.checks.map((c) => ({ ...c })), opts);
      if (!opts.json) console.log(`\nok: ${result.ok}. See it in the Temporal UI: ${workflowUiUrl(config, workflowId)}`);
      await client.connection.close();
    });
}
