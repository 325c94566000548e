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
    ...(overrides.workflowBundle ? {} : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: 20,
    // On shutdown (SIGINT/SIGTERM, or a deploy): running activities get 10 s to finish, then are
    // cancelled; each stops at its next heartbeat and its attempt fails, so Temporal retries it on
    // another worker at once instead of after its heartbeat timeout. Past 30 s the worker stops anyway.
    shutdownGraceTime: '10 seconds',
    shutdownForceTime: '30 seconds',
    // A cancel request reaches an activity in the answer to a heartbeat: send them at least this often.
    maxHeartbeatThrottleInterval: '5 seconds',
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
