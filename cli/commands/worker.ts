import type { Command } from 'commander';
import { runWorker } from '../../workers/main';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run a Temporal worker with every workflow and activity of the pipeline (stop with Ctrl-C).')
    .option('--task-queue <name>', 'task queue to poll (default: TEMPORAL_TASK_QUEUE)')
    .action(async (opts: { taskQueue?: string }) => runWorker(opts));
}
