/**
 * Shared plumbing for integration tests: the real clients, and an in-process worker on a task queue
 * of the test's own, so test files never pick up each other's workflows. The environment it reads
 * already points at the file's own databases and the test namespace (test/file-setup.ts).
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadConfig, type Config } from '../../config';
import { createActivities, type ActivityDeps } from '../../activities';
import { buildDeps } from '../../workers/deps';
import { reportCancellation } from '../../workers/cancellation';
import { WORKFLOWS_PATH } from '../../workers/worker';
import { QUEUE_ROLES, queueName } from '../../workflows/queue-names';

let runtimeInstalled = false;
/** The stream and heavy queues' workers run activities only, by design. */
const BENIGN = /^No workflows registered/;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m) => (BENIGN.test(m) ? undefined : console.warn(m)), error: (m) => console.error(m) } });
}

/**
 * The workflows option of Worker.create: the global setup's prebuilt bundle of the workflows asked
 * for (the project's unless `overrides` name others), so a Worker does not run webpack again.
 */
export async function workflowCode(overrides: Partial<WorkerOptions>): Promise<Partial<WorkerOptions>> {
  if (overrides.workflowBundle) return overrides;
  const { workflowsPath = WORKFLOWS_PATH, ...rest } = overrides;
  // Only under vitest (benchmarks import this file too, and vitest cannot be loaded outside it).
  const codePath = process.env.VITEST ? (await import('vitest')).inject('workflowBundles')[workflowsPath] : undefined;
  return codePath ? { ...rest, workflowBundle: { codePath } } : { ...rest, workflowsPath };
}

export interface TestEnv {
  config: Config;
  deps: ActivityDeps;
  client: Client;
  taskQueue: string;
  /** Runs `fn` while a worker polls the test's task queue. */
  withWorker<T>(fn: () => Promise<T>, overrides?: Partial<WorkerOptions>): Promise<T>;
  close(): Promise<void>;
}

export async function testEnv(name: string, env: Record<string, string | undefined> = process.env): Promise<TestEnv> {
  quietRuntime();
  const config = loadConfig(env);
  const deps = buildDeps(config);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const taskQueue = `test-${name}-${randomUUID().slice(0, 8)}`;
  const native = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  return {
    config,
    deps,
    client,
    taskQueue,
    async withWorker(fn, overrides = {}) {
      // As `etl worker` does: the workflows and light activities on the test's queue, the stream and
      // heavy activities on their queues beside it (workflows/queue-names.ts).
      const { workflowBundle, workflowsPath, ...common } = await workflowCode(overrides);
      const workers = await Promise.all(QUEUE_ROLES.map((role) => Worker.create({
        connection: native,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: queueName(taskQueue, role),
        activities: createActivities(deps),
        // A stop reaches a loop's session in a heartbeat's answer: quick ones keep the tests quick
        // (the shipped worker sends one at most every 5 s, workers/worker.ts).
        maxHeartbeatThrottleInterval: '1 second',
        interceptors: { activity: [reportCancellation] },
        ...common,
        ...(role === 'default' ? { workflowBundle, workflowsPath } : {}),
      })));
      const [main, ...others] = workers as [Worker, ...Worker[]];
      const running = others.map((w) => w.run());
      try {
        return await main.runUntil(fn);
      } finally {
        for (const w of others) w.shutdown();
        await Promise.all(running);
      }
    },
    async close() {
      await deps.close();
      await connection.close();
      await native.close();
    },
  };
}
