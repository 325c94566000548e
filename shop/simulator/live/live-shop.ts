/**
 * Live mode's I/O: every tick, asks the model what happened since the last tick and publishes it:
 * order versions into the API's index, events to Kafka (own producer, so its sends never interleave
 * with the replay's batches) and catalogue changes into the shop database, one statement per table.
 */
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { readProducts, readUsers } from '../../dataset/catalog-readers';
import { Rng } from '../../generator/prng';
import type { SimClock } from '../clock';
import { eventsProducer } from '../events';
import type { OrdersIndex } from '../orders-index';
import type { LiveStats } from '../shop-stats';
import { LiveModel, type CatalogueChange, type LiveCatalogue, type LiveRates } from './live-model';

/** Rates per minute of the clock. */
export interface LiveOptions extends Partial<LiveRates> { seed?: number; tickMs?: number }

export interface StartLiveInput extends LiveOptions {
  dataDir: string;
  index: OrdersIndex;
  /** Where live events go; null: no events (the Kafka channel is off). */
  events: { kafka: Kafka; topic: string } | null;
  pool: Pool | null;
  clock: SimClock;
  log: (m: string) => void;
}

export async function readLiveCatalogue(dataDir: string): Promise<LiveCatalogue> {
  const prices = new Map<string, { price: string; at: number }>();
  for await (const p of readProducts(dataDir)) {
    const prior = prices.get(p.product_id);
    if (p.price !== null && (!prior || prior.at <= p.updated_at.getTime())) prices.set(p.product_id, { price: p.price, at: p.updated_at.getTime() });
  }
  const users = new Set<string>();
  for await (const u of readUsers(dataDir)) users.add(u.user_id);
  return { products: [...prices].map(([id, v]) => ({ id, price: v.price })), users: [...users] };
}

async function writeChanges(pool: Pool, changes: CatalogueChange[]): Promise<void> {
  const prices = changes.filter((c) => c.kind === 'price');
  const stock = changes.filter((c) => c.kind === 'stock');
  const iso = (ms: number) => new Date(ms).toISOString();
  if (prices.length) {
    await pool.query(
      `update products p set price = c.price, updated_at = c.at
         from unnest($1::text[], $2::numeric[], $3::timestamptz[]) as c(id, price, at)
        where p.product_id = c.id and p.updated_at < c.at`,
      [prices.map((c) => c.productId), prices.map((c) => c.price), prices.map((c) => iso(c.at))],
    );
  }
  if (stock.length) {
    await pool.query(
      `insert into inventory (product_id, warehouse, stock_level, updated_at)
       select * from unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[]) on conflict do nothing`,
      [stock.map((c) => c.productId), stock.map((c) => c.warehouse), stock.map((c) => c.level), stock.map((c) => iso(c.at))],
    );
  }
}

export async function startLive(i: StartLiveInput): Promise<{ stats: () => LiveStats; stop: () => Promise<void> }> {
  const rates: LiveRates = {
    ordersPerMinute: i.ordersPerMinute ?? 12, eventsPerMinute: i.eventsPerMinute ?? 300,
    catalogueChangesPerMinute: i.catalogueChangesPerMinute ?? 2, compress: i.compress ?? 48,
  };
  const model = new LiveModel(new Rng(i.seed ?? 1, 'live'), await readLiveCatalogue(i.dataDir), rates, Date.now().toString(36));
  const producer = i.events ? eventsProducer(i.events.kafka) : null;
  await producer?.connect();
  const stats: LiveStats = { orderVersions: 0, events: 0, catalogueChanges: 0 };
  let last = i.clock.now();
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const now = i.clock.now();
    const slice = model.step(last, now);
    last = now;
    for (const v of slice.versions) i.index.add(Date.parse(v.updated_at), v.order_id, JSON.stringify(v));
    stats.orderVersions += slice.versions.length;
    if (producer && i.events && slice.events.length) {
      await producer.send({ topic: i.events.topic, acks: -1, messages: slice.events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
      stats.events += slice.events.length;
    }
    if (i.pool && slice.changes.length) await writeChanges(i.pool, slice.changes);
    stats.catalogueChanges += slice.changes.length;
  };
  const timer = setInterval(() => {
    running = running.then(tick).catch((err: unknown) => i.log(`live: ${err instanceof Error ? err.message : String(err)}`));
  }, i.tickMs ?? 1000);
  i.log(`live: generating ~${rates.ordersPerMinute} orders, ~${rates.eventsPerMinute} events, ~${rates.catalogueChangesPerMinute} catalogue changes per minute`);
  return {
    stats: () => ({ ...stats }),
    stop: async () => {
      clearInterval(timer);
      await running;
      await producer?.disconnect();
    },
  };
}
