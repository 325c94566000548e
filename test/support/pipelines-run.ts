/**
 * A dataset folder served by the shop simulator to the REAL ingestion workflows (catalog, orders,
 * files, events), each isolated: a private shop schema, an orders API on a free port, a Kafka topic
 * and consumer group, a drop prefix. Then the hourly transform. Ids in the folder must carry the
 * test's tag (events are counted by `event_id like '<tag>%'`), so no row is shared with another run.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { readEvents } from '../../shop/dataset';
import { startShop, type Shop } from '../../shop/simulator/start-shop';
import { catalogPipelineWorkflow, eventsStreamWorkflow, filesPipelineWorkflow, ordersPipelineWorkflow, stopEventsSignal, transformWorkflow } from '../../workflows';
import { partitionAt } from '../../workflows/partitions';
import type { TestEnv } from './env';

/** Prefixes every generated id (users, products, orders, purchase orders, events, sessions, reviews) of a dataset folder. */
export function tagIds(dir: string, tag: string): void {
  const files = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
  for (const f of files(dir).filter((f) => !f.endsWith('manifest.json'))) {
    writeFileSync(f, readFileSync(f, 'utf8').replace(/\b(U\d{6}|P\d{4,}|O\d{6,}|H\d{6,}|E\d+|S\d+|R\d+)\b/g, `${tag}$1`));
  }
}

/** What the events stream stages from a dataset folder: every valid event once per event_id. */
export async function distinctValidEvents(dir: string): Promise<number> {
  const ids = new Set<string>();
  for await (const { check } of readEvents(dir)) if (check.ok) ids.add(String(check.value.eventId));
  return ids.size;
}

export interface ServedDataset { shop: Shop; tag: string; topic: string; dropPrefix: string; stop(): Promise<void> }

export async function serveDataset(env: TestEnv, dir: string, tag: string): Promise<ServedDataset> {
  const schema = `pipelines_${tag}`;
  const topic = `test.pipelines.${tag}`;
  const dropPrefix = `test/pipelines/${tag}/drop/purchases/`;
  const owner = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL, options: `-c search_path=${schema}`, max: 2 });
  const reader = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL.replace(/\/\/shop_owner:shop_owner_dev@/, '//etl_shop_reader:etl_shop_reader_dev@'), options: `-c search_path=${schema}`, max: 4 });
  await owner.query(`create schema ${schema}`);
  await owner.query(readFileSync(join(__dirname, '../../sql/shop/001_shop.sql'), 'utf8').replace(/^grant .*$/gm, ''));
  await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);
  const shop = await startShop({ config: env.config, dataDir: dir, api: { port: 0 }, database: { pool: owner }, kafka: { topic }, drops: { prefix: dropPrefix, allNow: true } });
  await shop.replayed;
  env.deps.shop = reader;
  env.deps.ordersApi = { ...env.deps.ordersApi, url: shop.apiUrl ?? '' };
  return {
    shop, tag, topic, dropPrefix,
    async stop() {
      await shop.stop();
      await owner.query(`drop schema if exists ${schema} cascade`);
      await Promise.allSettled([owner.end(), reader.end()]);
    },
  };
}

/**
 * Runs catalog (from 1970), orders ([ordersFrom, ordersTo)), files and the events stream until
 * `expectedEvents` events with the tag are staged, then one transform partition of now. Every load
 * must reconcile.
 */
/** Every load reconciles (received = loaded + quarantined + duplicates); plain throws, so benchmarks can use this file outside vitest. */
function reconciled(loads: ReadonlyArray<{ loadId: string; received: number; loaded: number; quarantined: number; duplicates: number }>): void {
  for (const l of loads) {
    if (l.received !== l.loaded + l.quarantined + l.duplicates) throw new Error(`load ${l.loadId} does not reconcile: received ${l.received} != ${l.loaded} loaded + ${l.quarantined} quarantined + ${l.duplicates} duplicates`);
  }
}

/** eventsTimeoutMs (default 180 s) and maxMessages (per events batch, default 5,000) for larger datasets. */
export async function ingestAndTransform(env: TestEnv, s: ServedDataset, o: { ordersFrom: string; ordersTo: string; expectedEvents: number; eventsTimeoutMs?: number; maxMessages?: number }): Promise<void> {
  const { tag } = s;
  await env.withWorker(async () => {
    const opts = (workflowId: string) => ({ taskQueue: env.taskQueue, workflowId });
    const events = await env.client.workflow.start(eventsStreamWorkflow, { ...opts(`events/${tag}`), args: [{ topic: s.topic, consumerGroup: `pipelines-${tag}`, maxMessages: o.maxMessages ?? 5000, maxWaitMs: 500, idleSleepMs: 200 }] });
    const loads = await Promise.all([
      env.client.workflow.execute(catalogPipelineWorkflow, { ...opts(`catalog/${tag}`), args: [{ partitionStart: '1970-01-01T00:00:00.000Z', partitionEnd: o.ordersTo, backfill: true }] }),
      env.client.workflow.execute(ordersPipelineWorkflow, { ...opts(`orders/${tag}`), args: [{ partitionStart: o.ordersFrom, partitionEnd: o.ordersTo, backfill: true }] }),
      env.client.workflow.execute(filesPipelineWorkflow, { ...opts(`files/${tag}`), args: [{ ...partitionAt('files', new Date(Date.now() + 300_000)), backfill: true, dropPrefix: s.dropPrefix }] }),
    ]);
    reconciled(loads.flatMap((x) => x.loads));
    const deadline = Date.now() + (o.eventsTimeoutMs ?? 180_000);
    for (;;) {
      const { rows } = await env.deps.staging.query<{ n: string }>('select count(*) n from staging.events where event_id like $1', [`${tag}%`]);
      if (Number(rows[0]?.n) >= o.expectedEvents) break;
      if (Date.now() > deadline) throw new Error(`events stream staged ${rows[0]?.n} of ${o.expectedEvents} events in ${(o.eventsTimeoutMs ?? 180_000) / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await events.signal(stopEventsSignal);
    await events.result();
    const part = partitionAt('transform', new Date());
    const out = await env.client.workflow.execute(transformWorkflow, { ...opts(`transform/${part.partitionStart}/test-${tag}`), args: [part] });
    reconciled(out.loads);
  });
}
