/**
 * `etl shop spike`: an on-demand burst of one event type, factor x its normal per-minute rate, for
 * N minutes, so the near-real-time alerts have something to catch. Fresh event ids, current
 * timestamps, real user and product ids from the shop database when it has any.
 */
import type { Producer } from 'kafkajs';
import type { Pool } from 'pg';
import { EVENT_NAMES, type EventName, type ShopEvent } from '../../contract/layout';
import { Rng } from '../generator/prng';
import { sleep } from './clock';

/** `baselinePerMinute` is the event type's normal rate; the spike sends factor times that. */
export interface SpikeInput {
  producer: Producer;
  topic: string;
  event: EventName;
  factor: number;
  minutes: number;
  baselinePerMinute: number;
  pool?: Pool | null;
  seed?: number;
  signal?: AbortSignal;
  onTick?: (sent: number) => void;
}

export interface SpikeOutput { sent: number; perMinute: number; seconds: number }

async function idsFrom(pool: Pool | null | undefined): Promise<{ users: string[]; products: Array<{ id: string; price: string | null }> }> {
  const fallback = { users: ['U100001', 'U100002', 'U100003'], products: [{ id: 'P1001', price: null }] };
  if (!pool) return fallback;
  const users = await pool.query<{ user_id: string }>('select user_id from users order by random() limit 1000');
  const products = await pool.query<{ product_id: string; price: string | null }>('select product_id, price::text as price from products order by random() limit 1000');
  if (users.rows.length === 0 || products.rows.length === 0) return fallback;
  return { users: users.rows.map((r) => r.user_id), products: products.rows.map((r) => ({ id: r.product_id, price: r.price })) };
}

export async function runSpike(i: SpikeInput): Promise<SpikeOutput> {
  if (!EVENT_NAMES.includes(i.event)) throw new Error(`--event must be one of ${EVENT_NAMES.join(', ')}`);
  if (!(i.factor > 0) || !(i.minutes > 0) || !(i.baselinePerMinute > 0)) throw new Error('--factor, --minutes and --baseline must be positive');
  const rng = new Rng(i.seed ?? Date.now() % 2 ** 32, 'spike');
  const ids = await idsFrom(i.pool);
  const perMinute = i.factor * i.baselinePerMinute;
  const began = Date.now();
  const end = began + i.minutes * 60_000;
  const prefix = `ES${began.toString(36)}`;
  let sent = 0;
  // Once a second, send what the rate owes so far: the spike's shape does not drift with send latency.
  while (!i.signal?.aborted) {
    const now = Math.min(Date.now(), end);
    const owed = Math.floor(((now - began) / 60_000) * perMinute) - sent;
    if (owed > 0) {
      const messages = Array.from({ length: owed }, (_, k) => {
        const user = rng.pick(ids.users);
        const p = rng.pick(ids.products);
        const orderId = i.event === 'order' || i.event === 'return' ? `OS${prefix}-${sent + k}` : null;
        const ev: ShopEvent = {
          event_id: `${prefix}-${sent + k + 1}`, event_name: i.event, user_id: user, session_id: `S${prefix}-${user}`,
          product_id: p.id, order_id: orderId, price: p.price, ts: new Date(now).toISOString(),
        };
        return { key: user, value: JSON.stringify(ev) };
      });
      await i.producer.send({ topic: i.topic, acks: -1, messages });
      sent += owed;
      i.onTick?.(sent);
    }
    if (now >= end) break;
    await sleep(1000, i.signal);
  }
  return { sent, perMinute, seconds: (Date.now() - began) / 1000 };
}
