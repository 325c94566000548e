/**
 * The worker: connects to Temporal and serves the deployment's task queues (workflows/queue-names.ts),
 * one SDK Worker per queue, each with its own activity slots. Scale out by running more of these
 * processes, all queues or some (`etl worker --queues heavy`); Temporal spreads the work.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { devPseudonymKeyWarning, type Config } from '../config';
import { createActivities } from '../activities';
import { join } from 'node:path';
import { modulePath } from '../lib/module-path';
import { buildDeps } from './deps';
import { reportCancellation } from './cancellation';
import { boxed } from './logging';
import { QUEUE_ROLES, queueName, type QueueRole } from '../workflows/queue-names';

export const WORKFLOWS_PATH = modulePath(join(__dirname, '..', 'workflows', 'index'));

/**
 * Activity slots per queue role. The stream loops' activities never wait behind loads, and the
 * heavy loads are bounded to what the pools hold (workers/deps.ts sizes them from these).
 */
export const ACTIVITY_SLOTS: Record<QueueRole, number> = { default: 8, stream: 4, heavy: 6 };

/** The workers of one process: one per queue role it serves, run and stopped together. */
export interface StartedWorker {
  workers: Worker[];
  /** The queues polled, by role. */
  queues: Array<{ role: QueueRole; taskQueue: string }>;
  /** Runs every worker until shutdown (SIGINT/SIGTERM, or shutdown()); one failing stops the others. */
  run(): Promise<void>;
  /** Runs the workers while `fn` runs, then shuts them down. */
  runUntil<T>(fn: () => Promise<T>): Promise<T>;
  shutdown(): void;
  close(): Promise<void>;
}

/**
 * A process's workers: by default one per queue role (workflows/queue-names.ts) on
 * TEMPORAL_TASK_QUEUE and its `-stream` and `-heavy` queues; `roles` picks a subset (`etl worker
 * --queues`). Workflows run on the default role's worker only. `overrides` apply to every worker
 * (a test's activities), the workflow code to the default one.
 */
export async function createWorker(config: Config, overrides: Partial<WorkerOptions> = {}, roles: readonly QueueRole[] = QUEUE_ROLES): Promise<StartedWorker> {
  const keyWarning = devPseudonymKeyWarning(config);
  if (keyWarning) console.warn(boxed(`WARNING\n${keyWarning}`));
  const deps = buildDeps(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const base = overrides.taskQueue ?? config.TEMPORAL_TASK_QUEUE;
  const { workflowBundle, workflowsPath, taskQueue: _q, ...common } = overrides;
  const queues = roles.map((role) => ({ role, taskQueue: queueName(base, role) }));
  const workers = await Promise.all(queues.map(({ role, taskQueue }) => Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    ...(role === 'default' ? (workflowBundle ? { workflowBundle } : { workflowsPath: workflowsPath ?? WORKFLOWS_PATH }) : {}),
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: ACTIVITY_SLOTS[role],
    // On shutdown (SIGINT/SIGTERM, or a deploy): running activities get 10 s to finish, then are
    // cancelled; each stops at its next heartbeat and its attempt fails, so Temporal retries it on
    // another worker at once instead of after its heartbeat timeout. Past 30 s the worker stops anyway.
    shutdownGraceTime: '10 seconds',
    shutdownForceTime: '30 seconds',
    // A cancel request reaches an activity in the answer to a heartbeat: send them at least this often.
    maxHeartbeatThrottleInterval: '5 seconds',
    interceptors: { activity: [reportCancellation] },
    ...common,
  })));
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const run = async () => {
    const runs = workers.map((w) => w.run());
    try {
      await Promise.all(runs);
    } catch (err) {
      shutdown();
      await Promise.allSettled(runs);
      throw err;
    }
  };
  return {
    workers,
    queues,
    run,
    async runUntil<T>(fn: () => Promise<T>): Promise<T> {
      const running = run();
      try {
        return await fn();
      } finally {
        shutdown();
        await running;
      }
    },
    shutdown,
    async close() {
      await deps.close();
      await connection.close();
    },
  };
}
