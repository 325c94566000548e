/**
 * `/metrics` of a worker process (issue 16, docs/operations.md): Prometheus text on
 * ETL_METRICS_HOST:ETL_METRICS_PORT (127.0.0.1:9464 by default; port 0 turns it off).
 *
 * - The pipeline's counters of this process (lib/metrics.ts): rows per source and outcome, loads,
 *   load durations.
 * - Gauges read at scrape time from the databases, Kafka and Temporal: freshness per target against
 *   its SLA, Kafka consumer lag per partition, the realtime loop's delay, the running backfills'
 *   partitions, alerts by kind. Every worker reads the same values: aggregate them with max(), not sum().
 * - The Temporal SDK's own runtime metrics (workflow and activity task latencies, slots, polls),
 *   exported by the SDK's Runtime on ETL_METRICS_PORT + 1 and appended here, so one target is scraped.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { Gauge, Registry } from 'prom-client';
import type { Config } from '../config';
import { DEFAULT_EVENTS_GROUP } from '../contract/pipeline';
import { parseFreshnessMinutes, readFreshness } from '../activities/monitor/freshness';
import { registry as pipelineRegistry } from '../lib/metrics';
import { consumerLag } from '../lib/kafka-lag';
import type { BackfillProgress } from '../workflows/backfill';

export interface MetricsDeps { staging: Pool; analytics: Pool; kafka: Kafka; temporal?: Client }

/** Where the SDK's own exporter listens: the next port, on loopback. */
export const sdkMetricsAddress = (config: Pick<Config, 'ETL_METRICS_PORT'>) => `127.0.0.1:${config.ETL_METRICS_PORT + 1}`;

/** Each source of the scrape-time gauges gets this long; a scrape stays well inside Prometheus's 10 s timeout. */
export const SOURCE_TIMEOUT_MS = 3000;

export const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
};

/**
 * Gauges read at scrape time. A source that fails or does not answer within SOURCE_TIMEOUT_MS leaves
 * its gauges empty and sets etl_scrape_errors{source}; the counters and the rest still go out. One
 * refresh runs at a time: a scrape arriving meanwhile shares it.
 */
function scrapeGauges(config: Config, deps: MetricsDeps, slas: Record<string, number>): { registry: Registry; refresh(): Promise<void> } {
  const reg = new Registry();
  const failures = new Gauge({ name: 'etl_scrape_errors', help: 'Sources of scrape-time gauges that failed on this scrape (database, kafka, temporal).', labelNames: ['source'] as const, registers: [reg] });
  const guard = async (source: string, fn: () => Promise<void>) => {
    try {
      await within(SOURCE_TIMEOUT_MS, source, fn());
      failures.set({ source }, 0);
    } catch {
      failures.set({ source }, 1);
    }
  };
  const freshness = new Gauge({ name: 'etl_freshness_seconds', help: 'Age of the newest data of each target (docs/operations.md); absent when it has none.', labelNames: ['target'] as const, registers: [reg] });
  const sla = new Gauge({ name: 'etl_freshness_sla_seconds', help: 'The freshness SLA of each target (ETL_FRESHNESS_MINUTES or its default; 0: off).', labelNames: ['target'] as const, registers: [reg] });
  const stale = new Gauge({ name: 'etl_stale', help: '1 when a target is past its freshness SLA.', labelNames: ['target'] as const, registers: [reg] });
  const lag = new Gauge({ name: 'etl_kafka_consumer_lag_messages', help: 'Messages of the events topic not yet loaded, per partition (end offset minus etl.kafka_offsets).', labelNames: ['topic', 'partition'] as const, registers: [reg] });
  const realtimeDelay = new Gauge({ name: 'etl_realtime_delay_seconds', help: 'How far the realtime loop\'s newest refreshed minute (realtime_minute) is behind the clock.', registers: [reg] });
  const backfills = new Gauge({ name: 'etl_backfill_partitions', help: 'Partitions of the running backfills by state (completed, failed, skipped, running, pending); they sum to etl_backfill_partitions_planned.', labelNames: ['state'] as const, registers: [reg] });
  const planned = new Gauge({ name: 'etl_backfill_partitions_planned', help: 'Partitions the running backfills plan in all.', registers: [reg] });
  const backfillsRunning = new Gauge({ name: 'etl_backfills_running', help: 'Backfill workflows running.', registers: [reg] });
  const alerts = new Gauge({ name: 'etl_alerts', help: 'Alerts in etl.alerts by kind (every one raised and kept).', labelNames: ['kind'] as const, registers: [reg] });
  const open = new Gauge({ name: 'etl_alerts_open', help: 'Stale alerts not cleared, by kind.', labelNames: ['kind'] as const, registers: [reg] });

  const took = new Gauge({ name: 'etl_scrape_gauges_seconds', help: 'Time to read the scrape-time gauges.', registers: [reg] });
  // Read before the registry is serialised (a gauge's own collect() would run after the earlier ones were written).
  let inFlight: Promise<void> | undefined;
  const refresh = () => (inFlight ??= read().finally(() => { inFlight = undefined; }));
  const read = async () => {
    const t0 = performance.now();
    for (const g of [freshness, sla, stale, lag, backfills, planned, backfillsRunning, alerts, open, realtimeDelay]) g.reset();
    await Promise.all([
      guard('database', async () => {
        for (const f of await readFreshness(deps, slas)) {
          sla.set({ target: f.target }, f.slaMinutes * 60);
          stale.set({ target: f.target }, f.state === 'stale' ? 1 : 0);
          if (f.ageSeconds !== null) freshness.set({ target: f.target }, f.ageSeconds);
        }
        const { rows: [rt] } = await deps.analytics.query<{ delay: number | null }>(
          `select extract(epoch from now() - (max(minute) + interval '1 minute'))::float8 as delay from realtime_minute`);
        if (rt?.delay !== null && rt?.delay !== undefined) realtimeDelay.set(Math.max(0, rt.delay));
        const { rows } = await deps.staging.query<{ kind: string; n: number; open: number }>(
          `select kind, count(*)::int as n, count(*) filter (where kind = 'stale' and cleared_at is null)::int as open from etl.alerts group by kind`);
        open.set({ kind: 'stale' }, 0);
        for (const r of rows) {
          alerts.set({ kind: r.kind }, r.n);
          if (r.kind === 'stale') open.set({ kind: r.kind }, r.open);
        }
      }),
      guard('kafka', async () => {
        const admin = deps.kafka.admin({ retry: { retries: 0 } });
        await admin.connect();
        try {
          for (const p of await consumerLag(admin, deps.staging, config.KAFKA_EVENTS_TOPIC, DEFAULT_EVENTS_GROUP)) {
            lag.set({ topic: config.KAFKA_EVENTS_TOPIC, partition: String(p.partition) }, Number(p.lag));
          }
        } finally {
          await admin.disconnect();
        }
      }),
      guard('temporal', async () => {
        if (!deps.temporal) return;
        const sums: Record<string, number> = { completed: 0, failed: 0, skipped: 0, running: 0, pending: 0 };
        let runs = 0;
        let total = 0;
        for await (const w of deps.temporal.workflow.list({ query: `WorkflowType = 'backfillWorkflow' AND ExecutionStatus = 'Running'` })) {
          runs++;
          const p = await deps.temporal.workflow.getHandle(w.workflowId, w.runId).query<BackfillProgress>('progress');
          for (const k of Object.keys(sums)) sums[k]! += Number(p[k as keyof BackfillProgress] ?? 0);
          total += p.total;
        }
        backfillsRunning.set(runs);
        planned.set(total);
        for (const [state, n] of Object.entries(sums)) backfills.set({ state }, n);
      }),
    ]);
    took.set((performance.now() - t0) / 1000);
  };
  return { registry: reg, refresh };
}

export interface MetricsServer { url: string; close(): Promise<void> }

/** Throws EADDRINUSE (naming `what`) when something listens on host:port already. */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(new Error(`${what}'s port ${port} is taken`), { code: err.code })));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Serves /metrics; `sdkUrl`, when given, is the SDK exporter whose text is appended. */
export async function startMetricsServer(config: Config, deps: MetricsDeps, opts: { sdkUrl?: string } = {}): Promise<MetricsServer> {
  const gauges = scrapeGauges(config, deps, parseFreshnessMinutes(config.ETL_FRESHNESS_MINUTES));
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    void (async () => {
      await gauges.refresh();
      const parts = [await pipelineRegistry.metrics(), await gauges.registry.metrics()];
      if (opts.sdkUrl) {
        // The SDK's exporter on loopback; a moment it is not up yet costs its part of one scrape only.
        parts.push(await fetch(opts.sdkUrl, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '# the Temporal SDK\'s metrics were unavailable on this scrape\n'));
      }
      res.writeHead(200, { 'content-type': pipelineRegistry.contentType }).end(parts.join('\n'));
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.ETL_METRICS_PORT, config.ETL_METRICS_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${config.ETL_METRICS_HOST}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
