import type { Command } from 'commander';
import { runWorker } from '../../workers/main';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run a Temporal worker for the pipeline task queues: workflows and light activities, the stream loops, the heavy loads (stop with Ctrl-C).')
    .option('--task-queue <name>', 'base task queue (default: TEMPORAL_TASK_QUEUE); the stream and heavy queues are named <name>-stream and <name>-heavy')
    .option('--queues <roles>', 'serve only these queue roles, comma-separated: default (workflows, light activities), stream, heavy, ml (the Python ML worker; default: all four)')
    .action(async (opts: { taskQueue?: string; queues?: string }) => runWorker(opts));
}
