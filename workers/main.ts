/** `etl worker`: runs one worker until SIGINT/SIGTERM, then drains and exits. */
import { loadConfig, scrubSecrets } from '../config';
import { ACTIVITY_SLOTS, createWorker } from './worker';
import { startMlWorker, type MlWorker } from './ml';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { jsonLine } from './logging';
import { Client, Connection } from '@temporalio/client';
import { makeKafka, makePool } from '../lib/clients';
import { sdkMetricsAddress, startMetricsServer, type MetricsServer } from './metrics';
import { isQueueRole, QUEUE_ROLES, type QueueRole } from '../workflows/queue-names';

/** `--queues default,heavy`: the TypeScript queue roles this process serves (all of them when absent), and whether it runs the ML worker. */
export function parseWorkerRoles(list: string | undefined): { roles: QueueRole[]; ml: boolean } {
  if (!list) return { roles: [...QUEUE_ROLES], ml: true };
  const names = list.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = names.filter((r) => !isQueueRole(r) && r !== 'ml');
  if (bad.length > 0 || names.length === 0) throw new Error(`--queues: unknown queue role ${bad.map((b) => JSON.stringify(b)).join(', ') || '(none)'}; use a comma-separated list of ${[...QUEUE_ROLES, 'ml'].join(', ')}`);
  return { roles: [...new Set(names.filter(isQueueRole))], ml: names.includes('ml') };
}

/** The TypeScript queue roles of `--queues` (see parseWorkerRoles). */
export function parseQueueRoles(list: string | undefined): QueueRole[] {
  return parseWorkerRoles(list).roles;
}

export async function runWorker(opts: { taskQueue?: string; queues?: string } = {}): Promise<void> {
  const config = loadConfig();
  // The worker's own lines, in the format of the SDK's (JSON with ETL_LOG_FORMAT=json).
  const say = (msg: string) => console.log(config.ETL_LOG_FORMAT === 'json' ? JSON.stringify({ ts: new Date().toISOString(), level: 'INFO', msg }) : msg);
  const { roles, ml: wantMl } = parseWorkerRoles(opts.queues);
  // /metrics first: a port in use stops the worker here with a clear message, before anything polls.
  let metrics: (MetricsServer & { end(): Promise<void> }) | undefined;
  if (config.ETL_METRICS_PORT > 0) {
    const staging = makePool(config, 'staging', 2);
    const analytics = makePool(config, 'analytics', 2);
    const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
    const end = async () => { await Promise.allSettled([staging.end(), analytics.end(), temporal.connection.close()]); };
    try {
      const server = await startMetricsServer(config, { staging, analytics, kafka: makeKafka(config, 'shop-etl-metrics'), temporal }, { sdkUrl: `http://${sdkMetricsAddress(config)}/metrics` });
      metrics = { ...server, end: async () => { await server.close(); await end(); } };
    } catch (err) {
      await end();
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      throw new Error(`/metrics could not listen on ${config.ETL_METRICS_HOST}:${config.ETL_METRICS_PORT}${inUse ? ' (in use: another worker on this machine? give each its own ETL_METRICS_PORT, or 0 for none)' : ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
    say(`metrics: ${metrics.url} (Prometheus; the pipeline's and the Temporal SDK's)`);
  }
  // Before any connection: the SDK's runtime metrics go to its own exporter, appended to /metrics;
  // with ETL_LOG_FORMAT=json its log entries become JSON lines on stdout.
  const level = config.LOG_LEVEL.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  Runtime.install({
    ...(config.ETL_LOG_FORMAT === 'json' ? { logger: new DefaultLogger(level, (entry) => process.stdout.write(`${jsonLine(entry, (t) => scrubSecrets(t, config))}\n`)) } : {}),
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress(config), countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } } } : {}),
  });
  const started = roles.length > 0 ? await createWorker(config, opts.taskQueue ? { taskQueue: opts.taskQueue } : {}, roles) : undefined;
  if (started) {
    const polled = started.queues.map((q) => `"${q.taskQueue}" (${q.role}, ${ACTIVITY_SLOTS[q.role]} activity slots${q.role === 'default' ? ', workflows' : ''})`).join(', ');
    say(`worker polling ${polled} at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`);
  }
  let ml: MlWorker | undefined;
  if (wantMl) {
    try {
      ml = await startMlWorker(config, {
        baseQueue: opts.taskQueue,
        onExit: (code, signal) => {
          const why = `the ML worker exited (code ${code}, signal ${signal})`;
          if (!opts.queues) return console.warn(`WARN ${why}: churn training waits for one (npx etl worker --queues ml)`);
          // Asked for by name: this process exists for it, so it ends with it, and a supervisor restarts it.
          console.error(`${why}; stopping`);
          process.exitCode = 1;
          if (started) started.shutdown();
          else process.kill(process.pid, 'SIGTERM');
        },
      });
      say(`ML worker (Python) polling "${ml.taskQueue}"`);
    } catch (err) {
      // Implied by the default roles: the pipelines run without it; churn training waits for one.
      if (opts.queues) throw err;
      console.warn(`WARN the ML worker did not start, so churn training will wait for one (npx etl churn setup; npx etl worker --queues ml): ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    if (started) await started.run(); // The SDK shuts down on SIGINT/SIGTERM by itself.
    else await new Promise<void>((resolve) => { for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve()); });
  } finally {
    await ml?.stop();
    await metrics?.end();
    await started?.close();
  }
}
