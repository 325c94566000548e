/**
 * The worker: connects to Temporal, registers every workflow and activity on one task queue.
 * Scale out by running more of these processes; Temporal spreads the work.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { devPseudonymKeyWarning, type Config } from '../config';
import { createActivities } from '../activities';
import { join } from 'node:path';
import { modulePath } from '../lib/module-path';
import { buildDeps } from './deps';
import { boxed } from './logging';

export const WORKFLOWS_PATH = modulePath(join(__dirname, '..', 'workflows', 'index'));

export interface StartedWorker { worker: Worker; close(): Promise<void> }

export async function createWorker(config: Config, overrides: Partial<WorkerOptions> = {}): Promise<StartedWorker> {
  const keyWarning = devPseudonymKeyWarning(config);
  if (keyWarning) console.warn(boxed(`WARNING\n${keyWarning}`));
  const deps = buildDeps(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: 20,
    shutdownGraceTime: '10 seconds',
    ...overrides,
  });
  return {
    worker,
    async close() {
      await deps.close();
      await connection.close();
    },
  };
}
