import { join } from 'node:path';
import { csvRow } from '../dataset/csv';
import { FILES, REVIEWS_COLUMNS, type ShopEvent } from '../../contract/layout';
import { formatCents, type Catalog } from './catalog';
import type { ChurnPlan } from './churn';
import { EventSink } from './event-sink';
import { Inventory } from './inventory';
import { rating, statusChanges } from './lifecycle';
import { LineWriter, TimeHeap } from './line-writer';
import { HOURLY_TRAFFIC, REVIEW_TEXTS } from './names';
import { Rng } from './prng';
import { runSession, type SessionContext } from './sessions';
import { Spill } from './spill';
import type { DefectRates, Tally } from './tally';

const HOUR = 3_600_000;
const MEAN_TRAFFIC = HOURLY_TRAFFIC.reduce((a, b) => a + b, 0) / 24;

export interface ActivityInput { dir: string; seed: number; scale: number; start: number; days: number; users: number; catalog: Catalog; rates: DefectRates; tally: Tally; churn: ChurnPlan }

type Dated = { ts: number; seq: number } & ({ k: 'e'; ev: ShopEvent } | { k: 'o'; line: string });

/**
 * The API period hour by hour: sessions arrive on a day/night curve, and everything dated later
 * (status changes, returns) waits in a heap if due within two hours, else in an on-disk bucket.
 * Events and order versions are therefore written in time order with memory bounded by one hour.
 */
export async function writeActivity(input: ActivityInput): Promise<void> {
  const { dir, seed, scale, start, days, catalog, rates, tally } = input;
  const end = start + days * 24 * HOUR;
  const rng = new Rng(seed, 'sessions');
  const life = new Rng(seed, 'lifecycle');
  const orderDirt = new Rng(seed, 'orders-dirt');
  const spill = new Spill(join(dir, '.generate-tmp'));
  const eventsOut = new LineWriter(join(dir, FILES.events));
  const ordersOut = new LineWriter(join(dir, FILES.orders));
  const reviewsOut = new LineWriter(join(dir, FILES.reviews));
  const inventory = new Inventory(catalog.products.map((p) => p.id), new LineWriter(join(dir, FILES.inventory)), new Rng(seed, 'inventory'), tally);
  const sink = new EventSink(eventsOut, new Rng(seed, 'events-dirt'), rates, tally);
  const events = new TimeHeap<Dated>();
  const orders = new TimeHeap<Dated>();
  let seq = 0;
  let hour = 0;
  let reviewNo = 1;
  const reviews: string[] = []; // written at the hour's end, where backpressure can be awaited
  await reviewsOut.write(csvRow(REVIEWS_COLUMNS), false);
  await inventory.header();
  await inventory.snapshot(start - 24 * HOUR);

  const schedule = (item: Dated) => {
    if (item.ts >= end) return; // beyond the range: the order is still in flight when the data ends
    const bucket = Math.floor((item.ts - start) / HOUR);
    if (bucket <= hour + 1) (item.k === 'e' ? events : orders).push(item);
    else spill.put(bucket, item);
  };
  const ctx: SessionContext = {
    rng, churnRng: new Rng(seed, 'churn/sessions'), churn: input.churn, seed, catalog, users: input.users, inventory, ids: { event: 1, session: 1, order: 100_001 },
    event: (ev, ts) => schedule({ k: 'e', ts, seq: seq++, ev }),
    order: (placed, ts, churner) => {
      schedule({ k: 'o', ts, seq: seq++, line: JSON.stringify(placed) + '\n' });
      const changes = statusChanges(life, ts, churner);
      for (const c of changes) schedule({ k: 'o', ts: c.ts, seq: seq++, line: JSON.stringify({ ...placed, status: c.status, updated_at: new Date(c.ts).toISOString() }) + '\n' });
      const last = changes[changes.length - 1];
      if (last?.status === 'returned') {
        for (const l of placed.lines) {
          const ev: ShopEvent = { event_id: `E${ctx.ids.event++}`, event_name: 'return', user_id: placed.user_id, session_id: `S${ctx.ids.session++}`, product_id: l.product_id, order_id: placed.order_id, price: formatCents(Math.round(Number(l.unit_price) * 100) * l.quantity), ts: new Date(last.ts).toISOString() };
          schedule({ k: 'e', ts: last.ts, seq: seq++, ev });
        }
      }
      const delivered = changes.find((c) => c.status === 'delivered');
      const line = placed.lines[0];
      if (delivered && line && life.chance(0.12)) {
        const at = delivered.ts + life.int(HOUR, 7 * 24 * HOUR);
        const stars = rating(life, last?.status === 'returned');
        const text = REVIEW_TEXTS[stars - 1]?.[life.int(0, 1)] ?? '';
        if (at < end) {
          tally.row(FILES.reviews);
          reviews.push(csvRow([`R${reviewNo++}`, line.product_id, placed.user_id, stars, text, new Date(at).toISOString()]));
        }
      }
    },
  };
  const drain = async (until: number) => {
    for (let e = events.peek(); e && e.ts < until; e = events.peek()) {
      events.pop();
      if (e.k === 'e') await sink.emit(e.ev, e.ts);
    }
  };
  for (; hour < days * 24; hour++) {
    const hourStart = start + hour * HOUR;
    for (const item of spill.take<Dated>(hour)) (item.k === 'e' ? events : orders).push(item);
    const expected = (10_000 * scale * (HOURLY_TRAFFIC[hour % 24] ?? 1)) / (24 * MEAN_TRAFFIC);
    const n = Math.floor(expected) + (rng.chance(expected % 1) ? 1 : 0);
    const arrivals = Array.from({ length: n }, () => hourStart + Math.floor(rng.next() * HOUR)).sort((a, b) => a - b);
    for (const t of arrivals) {
      await drain(t);
      runSession(ctx, t);
    }
    await drain(hourStart + HOUR);
    await sink.release(hourStart + HOUR - 1);
    for (let o = orders.peek(); o && o.ts < hourStart + HOUR; o = orders.peek()) {
      orders.pop();
      if (o.k !== 'o') continue;
      tally.row(FILES.orders);
      await ordersOut.write(o.line);
      if (orderDirt.chance(rates.orderDuplicate)) {
        tally.row(FILES.orders);
        tally.defect(FILES.orders, 'duplicate');
        await ordersOut.write(o.line); // the API served the same version twice
      }
    }
    for (const r of reviews.splice(0)) await reviewsOut.write(r);
    if ((hour + 1) % 6 === 0) await inventory.snapshot(hourStart + HOUR);
  }
  await drain(end);
  await sink.release(Infinity);
  await Promise.all([eventsOut.close(), ordersOut.close(), reviewsOut.close(), inventory.close()]);
  spill.dispose();
}
