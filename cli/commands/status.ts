import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config';
import { DEFAULT_EVENTS_GROUP } from '../../contract/pipeline';
import { parseFreshnessMinutes, readFreshness } from '../../activities/monitor/freshness';
import { makeKafka, makePool } from '../../lib/clients';
import { makeTemporalClient } from '../../lib/temporal';
import { listSchedules } from '../../schedules/list';
import { servicesStatus } from '../../services';
import { printTable } from '../output';
import { within } from '../../workers/metrics';
import { consumerLag } from '../../lib/kafka-lag';

type Rows = Array<Record<string, unknown>>;

/** Each section's deadline. */
const STATUS_TIMEOUT_MS = 5000;

/**
 * Each section of `etl status`, read on its own: one that fails (a service down) shows its error
 * and the others still show. Exported for the test.
 */
export async function statusSections(config: Config): Promise<Record<string, Rows | { error: string }>> {
  const quick = { connectionTimeoutMillis: STATUS_TIMEOUT_MS, statement_timeout: STATUS_TIMEOUT_MS };
  const staging = makePool(config, 'staging', 3, quick);
  const analytics = makePool(config, 'analytics', 2, quick);
  // All at once, each with a deadline: a service down costs its own section, a few seconds.
  const section = async (name: string, fn: () => Promise<Rows>): Promise<[string, Rows | { error: string }]> =>
    [name, await within(STATUS_TIMEOUT_MS, name, fn()).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }))];
  try {
    return Object.fromEntries(await Promise.all([
      section('services', async () => (await servicesStatus(config)).map((s) => ({ service: s.name, healthy: s.healthy, pid: s.pid ?? '', addresses: Object.values(s.addresses).join(' ') }))),
      section('schedules', async () => {
        const client = await makeTemporalClient(config);
        try {
          return (await listSchedules(client)).map((r) => ({ schedule: r.scheduleId, paused: r.paused, every: r.every, next: r.nextRuns[0] ?? '', last: r.lastRunAt ?? '', buffered: r.buffered, running: r.running.length }));
        } finally {
          await client.connection.close();
        }
      }),
      section('lastRuns', async () => (await staging.query(
        `select l.pipeline, l.status, l.started_at, l.finished_at, l.received, l.loaded, l.quarantined, l.duplicates
         from (select distinct pipeline from etl.loads) p
         cross join lateral (select * from etl.loads x where x.pipeline = p.pipeline order by x.started_at desc limit 1) l order by l.pipeline`)).rows),
      section('freshness', async () => (await readFreshness({ staging, analytics }, parseFreshnessMinutes(config.ETL_FRESHNESS_MINUTES))).map((f) => ({
        target: f.target, state: f.state, age: f.ageSeconds === null ? '' : `${Math.round(f.ageSeconds / 60)} min`, sla: `${f.slaMinutes} min`, newest: f.lastAt ?? '', tables: f.tables.join(', '),
      }))),
      section('openAlerts', async () => (await staging.query(
        `select raised_at, kind, pipeline, message from etl.alerts
         where cleared_at is null and (kind = 'stale' or raised_at > now() - interval '24 hours') order by raised_at desc limit 20`)).rows),
      section('kafkaLag', async () => {
        const admin = makeKafka(config, 'shop-etl-status').admin({ retry: { retries: 0 } });
        await admin.connect();
        try {
          return (await consumerLag(admin, staging, config.KAFKA_EVENTS_TOPIC, DEFAULT_EVENTS_GROUP)).map((p) => ({
            topic: config.KAFKA_EVENTS_TOPIC, partition: p.partition, end: String(p.end), consumed: String(p.consumed), lag: String(p.lag),
          }));
        } finally {
          await admin.disconnect();
        }
      }),
    ]));
  } finally {
    await Promise.allSettled([staging.end(), analytics.end()]);
  }
}

const TITLES: Record<string, string> = {
  services: 'Services', schedules: 'Schedules', lastRuns: 'Last load per pipeline (etl.loads)', freshness: 'Freshness against the SLAs (ETL_FRESHNESS_MINUTES)',
  openAlerts: 'Open alerts (stale ones until cleared, others of the last 24 h)', kafkaLag: `Kafka lag of the events stream (group ${DEFAULT_EVENTS_GROUP})`,
};

export function register(program: Command): void {
  program
    .command('status')
    .description('One screen: services, schedules, the last load per pipeline, freshness per table against its SLA, open alerts, Kafka lag (docs/operations.md).')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const sections = await statusSections(loadConfig());
      if (opts.json) {
        console.log(JSON.stringify(sections, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v), 2));
        return;
      }
      for (const [name, rows] of Object.entries(sections)) {
        console.log(`\n${TITLES[name] ?? name}`);
        if ('error' in rows) console.log(`  unavailable: ${rows.error}`);
        else printTable(rows);
      }
    });
}
