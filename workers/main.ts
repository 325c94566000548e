/** `etl worker`: runs one worker until SIGINT/SIGTERM, then drains and exits. */
import { loadConfig, scrubSecrets } from '../config';
import { ACTIVITY_SLOTS, createWorker } from './worker';
import { startMlWorker, type MlWorker } from './ml';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { jsonLine, pythonLevel, workerLine } from './logging';
import { Client, Connection } from '@temporalio/client';
import { makeKafka, makePool } from '../lib/clients';
import { assertPortFree, sdkMetricsAddress, SOURCE_TIMEOUT_MS, startMetricsServer, type MetricsServer } from './metrics';
import { parseFreshnessMinutes } from '../activities/monitor/freshness';
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
  const line = (level: 'INFO' | 'WARN' | 'ERROR', msg: string, extra?: Record<string, string>) => workerLine(config.ETL_LOG_FORMAT === 'json', level, msg, (t) => scrubSecrets(t, config), extra);
  const say = (msg: string) => console.log(line('INFO', msg));
  const { roles, ml: wantMl } = parseWorkerRoles(opts.queues);
  parseFreshnessMinutes(config.ETL_FRESHNESS_MINUTES); // a bad ETL_FRESHNESS_MINUTES stops the worker naming it
  // A shutdown asked for (Ctrl-C, a supervisor): the ML worker in the same process group ends too, and that is expected.
  let stopping = false;
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => { stopping = true; });
  // /metrics first, and the SDK exporter's port (the next one) checked: a port in use is reported
  // before anything polls. Set explicitly, that stops the worker; the default only warns, so a
  // second worker on a machine still runs (without /metrics until it has a port of its own).
  let metrics: (MetricsServer & { end(): Promise<void> }) | undefined;
  if (config.ETL_METRICS_PORT > 0) {
    const quick = { connectionTimeoutMillis: SOURCE_TIMEOUT_MS, statement_timeout: SOURCE_TIMEOUT_MS };
    const staging = makePool(config, 'staging', 2, quick);
    const analytics = makePool(config, 'analytics', 2, quick);
    const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
    const end = async () => { await Promise.allSettled([staging.end(), analytics.end(), temporal.connection.close()]); };
    try {
      await assertPortFree('127.0.0.1', config.ETL_METRICS_PORT + 1, 'the Temporal SDK\'s metrics exporter');
      const server = await startMetricsServer(config, { staging, analytics, kafka: makeKafka(config, 'shop-etl-metrics'), temporal }, { sdkUrl: `http://${sdkMetricsAddress(config)}/metrics` });
      metrics = { ...server, end: async () => { await server.close(); await end(); } };
      say(`metrics: ${metrics.url} (Prometheus; the pipeline's and the Temporal SDK's)`);
    } catch (err) {
      await end();
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      const why = `/metrics could not listen on ${config.ETL_METRICS_HOST}:${config.ETL_METRICS_PORT} or the SDK exporter on port ${config.ETL_METRICS_PORT + 1}${inUse ? ' (in use: another worker on this machine? give each its own ETL_METRICS_PORT, two apart, or 0 for none)' : ''}: ${err instanceof Error ? err.message : String(err)}`;
      if (process.env.ETL_METRICS_PORT !== undefined) throw new Error(why);
      console.warn(line('WARN', `WARN ${why}; running without /metrics`));
    }
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
        // The Python worker's output: `[ml] …`, or JSON lines with component "ml".
        log: (l) => console.log(config.ETL_LOG_FORMAT === 'json' ? line(pythonLevel(l), l, { component: 'ml' }) : `[ml] ${l}`),
        onExit: (code, signal) => {
          if (stopping) return;
          const why = `the ML worker exited (code ${code}, signal ${signal})`;
          if (!opts.queues) return console.warn(line('WARN', `WARN ${why}: churn training waits for one (npx etl worker --queues ml)`));
          // Asked for by name: this process exists for it, so it ends with it, and a supervisor restarts it.
          console.error(line('ERROR', `${why}; stopping`));
          process.exitCode = 1;
          if (started) started.shutdown();
          else process.kill(process.pid, 'SIGTERM');
        },
      });
      say(`ML worker (Python) polling "${ml.taskQueue}"`);
    } catch (err) {
      // Implied by the default roles: the pipelines run without it; churn training waits for one.
      if (opts.queues) throw err;
      console.warn(line('WARN', `WARN the ML worker did not start, so churn training will wait for one (npx etl churn setup; npx etl worker --queues ml): ${err instanceof Error ? err.message : String(err)}`));
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
