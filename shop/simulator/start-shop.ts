/**
 * The whole simulated shop in one call: the shop database, the orders API, the event stream and
 * the file drops, all served from one dataset folder. Ingestion tests start it in-process.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { makeKafka, makePool, makeS3 } from '../../lib/clients';
import { openDataset } from '../dataset/read-sources';
import type { SimClock } from './clock';
import { dropPurchaseFiles } from './drops';
import { ensureTopic, eventsProducer, produceEvents } from './events';
import type { FaultOptions } from './faults';
import { startLive, type LiveOptions } from './live/live-shop';
import { loadOrdersIndex } from './load-orders';
import { startOrdersApi, type OrdersApi } from './orders-api';
import type { OrdersIndex } from './orders-index';
import { catalogueRefresher } from './catalogue-refresher';
import { resetShopDatabase } from './shop-database';
import { ShopStatsBoard, type ShopStats } from './shop-stats';

/** Each channel can be turned off with false; clients default to ones built from config. */
export interface StartShopOptions {
  config: Config;
  /** A dataset folder in the documented layout. */
  dataDir: string;
  /** Orders API; port defaults to ETL_ORDERS_API_PORT (0 = any free port). */
  api?: false | { port?: number; host?: string; token?: string; faults?: FaultOptions };
  /** Shop database; `refreshMs` is how often the catalogue advances with the clock. */
  database?: false | { pool?: Pool; refreshMs?: number; reset?: boolean };
  /** Events; topic defaults to KAFKA_EVENTS_TOPIC, created with KAFKA_EVENTS_PARTITIONS if missing. */
  kafka?: false | { kafka?: Kafka; topic?: string; batchSize?: number };
  /** File drops; prefix defaults to the lake's drop/purchases/. */
  drops?: false | { s3?: S3Client; bucket?: string; prefix?: string; allNow?: boolean };
  /** Replay/live clock; without one every channel serves the whole dataset at once. */
  clock?: SimClock;
  /** Live mode: keep generating new orders, events and catalogue changes (needs a clock). */
  live?: false | LiveOptions;
  log?: (message: string) => void;
}

export interface Shop {
  apiUrl: string | null;
  index: OrdersIndex;
  stats(): ShopStats;
  /** Resolves when the dataset's events and files have all been sent (live generation goes on). */
  replayed: Promise<void>;
  stop(): Promise<void>;
}

export async function startShop(o: StartShopOptions): Promise<Shop> {
  const log = o.log ?? (() => undefined);
  openDataset(o.dataDir); // fails fast, naming missing required files
  const board = new ShopStatsBoard();
  const abort = new AbortController();
  const closers: Array<() => Promise<void>> = [];
  const background: Array<Promise<void>> = [];
  const run = (name: string, p: Promise<void>) => background.push(p.catch((err: unknown) => board.fail(name, err, log)));

  const index = await loadOrdersIndex(o.dataDir);
  log(`orders: ${index.size} versions indexed`);

  let pool: Pool | null = null;
  if (o.database !== false) {
    pool = o.database?.pool ?? makePool(o.config, 'shopOwner', 2);
    if (!o.database?.pool) closers.push(() => (pool as Pool).end());
    if (o.database?.reset) await resetShopDatabase(pool);
    const refresher = catalogueRefresher({ pool, dataDir: o.dataDir, clock: o.clock, refreshMs: o.database?.refreshMs, board, log });
    await refresher.first;
    closers.push(refresher.stop);
  }

  let api: OrdersApi | null = null;
  if (o.api !== false) {
    const a = o.api ?? {};
    const clock = o.clock;
    api = await startOrdersApi({
      index, token: a.token ?? o.config.ORDERS_API_TOKEN, port: a.port ?? o.config.ETL_ORDERS_API_PORT, host: a.host,
      faults: a.faults, now: clock ? () => clock.now() : undefined,
    });
    board.api = api.stats;
    closers.push(api.stop);
    log(`orders API listening on ${api.url}`);
  }

  let events: { kafka: Kafka; topic: string } | null = null;
  if (o.kafka !== false) {
    const kafka = o.kafka?.kafka ?? makeKafka(o.config, 'shop-simulator');
    const topic = o.kafka?.topic ?? o.config.KAFKA_EVENTS_TOPIC;
    await ensureTopic(kafka, topic, o.config.KAFKA_EVENTS_PARTITIONS);
    const producer = eventsProducer(kafka);
    await producer.connect();
    closers.push(() => producer.disconnect());
    run('events', produceEvents({
      producer, topic, dataDir: o.dataDir, clock: o.clock, batchSize: o.kafka?.batchSize, signal: abort.signal,
      onProgress: (sent, s) => log(`events: ${sent} sent, ${Math.round(sent / s)}/s`),
    }).then((r) => {
      board.events = r;
      log(`events: ${r.stopped ? 'stopped after ' : ''}${r.sent} sent to ${topic} in ${r.seconds.toFixed(1)} s (${r.eventsPerSecond}/s)`);
    }));
    events = { kafka, topic };
  }

  if (o.drops !== false) {
    const s3 = o.drops?.s3 ?? makeS3(o.config);
    run('drops', dropPurchaseFiles({
      s3, bucket: o.drops?.bucket ?? o.config.S3_BUCKET, prefix: o.drops?.prefix, dataDir: o.dataDir,
      clock: o.drops?.allNow ? undefined : o.clock, signal: abort.signal,
      onDrop: (key) => {
        board.dropped.push(key);
        log(`drop: ${key}`);
      },
    }).then(() => undefined));
  }

  if (o.live) {
    if (!o.clock) throw new Error('live mode needs a clock: pass clock: liveClock()');
    const live = await startLive({ ...o.live, dataDir: o.dataDir, index, events, pool, clock: o.clock, log });
    board.live = live.stats;
    closers.push(live.stop);
  }

  const replayed = Promise.all(background).then(() => undefined);
  return {
    apiUrl: api?.url ?? null,
    index,
    stats: () => board.snapshot(),
    replayed,
    stop: async () => {
      abort.abort();
      await replayed;
      for (const close of closers.reverse()) await close();
    },
  };
}
