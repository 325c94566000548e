/**
 * The pure part of live mode: given the catalogue and a seeded PRNG, what happens in the next
 * slice of time. New orders and their later status changes (the generator's lifecycle, compressed
 * so a day of shop time passes in minutes), behaviour events and catalogue changes.
 */
import type { OrderLine, OrderStatus, OrderVersion, ShopEvent } from '../../../contract/layout';
import { statusChanges } from '../../generator/lifecycle';
import { WAREHOUSES } from '../../generator/names';
import type { Rng } from '../../generator/prng';

export interface LiveCatalogue { products: Array<{ id: string; price: string }>; users: string[] }

/** A pending status change of a live order. */
interface Due { at: number; order: OrderVersion; status: OrderStatus }

export type CatalogueChange =
  | { kind: 'price'; productId: string; price: string; at: number }
  | { kind: 'stock'; productId: string; warehouse: string; level: number; at: number };

export interface Slice { versions: OrderVersion[]; events: ShopEvent[]; changes: CatalogueChange[] }

/** Rates are per minute of the clock; `compress` shrinks lifecycle delays (48: a day in 30 minutes). */
export interface LiveRates { ordersPerMinute: number; eventsPerMinute: number; catalogueChangesPerMinute: number; compress: number }

/** Knuth's Poisson sampler: arrivals in a slice of a steady process. Fine for the small means used here. */
export function poisson(rng: Rng, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rng.next(); p > limit; p *= rng.next()) k++;
  return k;
}

const BROWSE = ['view', 'view', 'view', 'view', 'view', 'view', 'view', 'add_to_cart', 'add_to_cart', 'wishlist'] as const;

export class LiveModel {
  private pending: Due[] = [];
  private n = 0;

  constructor(private readonly rng: Rng, private readonly cat: LiveCatalogue, private readonly rates: LiveRates, private readonly idPrefix: string) {
    if (cat.products.length === 0 || cat.users.length === 0) throw new Error('live mode needs at least one product and one user in the dataset');
  }

  private id(kind: string): string {
    return `${kind}${this.idPrefix}-${++this.n}`;
  }

  private event(name: ShopEvent['event_name'], user: string, productId: string, price: string | null, orderId: string | null, at: number): ShopEvent {
    return { event_id: this.id('EL'), event_name: name, user_id: user, session_id: `SL${this.idPrefix}-${user}`, product_id: productId, order_id: orderId, price, ts: new Date(at).toISOString() };
  }

  /** Everything that happens in (from, to]: timestamps are spread over the slice. */
  step(from: number, to: number): Slice {
    const minutes = (to - from) / 60_000;
    const out: Slice = { versions: [], events: [], changes: [] };
    const when = () => Math.min(to, from + Math.ceil(this.rng.next() * (to - from)));
    for (let k = poisson(this.rng, this.rates.ordersPerMinute * minutes); k > 0; k--) this.placeOrder(when(), out);
    for (let k = poisson(this.rng, this.rates.eventsPerMinute * minutes); k > 0; k--) {
      const p = this.rng.pick(this.cat.products);
      out.events.push(this.event(this.rng.pick(BROWSE), this.rng.pick(this.cat.users), p.id, p.price, null, when()));
    }
    for (let k = poisson(this.rng, this.rates.catalogueChangesPerMinute * minutes); k > 0; k--) out.changes.push(this.change(when()));
    const [due, later] = [this.pending.filter((d) => d.at <= to), this.pending.filter((d) => d.at > to)];
    this.pending = later;
    for (const d of due.sort((a, b) => a.at - b.at)) {
      const v: OrderVersion = { ...d.order, status: d.status, updated_at: new Date(Math.max(d.at, from + 1)).toISOString() };
      out.versions.push(v);
      if (d.status === 'returned') for (const l of v.lines) out.events.push(this.event('return', v.user_id, l.product_id, l.unit_price, v.order_id, Date.parse(v.updated_at)));
    }
    out.versions.sort((a, b) => a.updated_at.localeCompare(b.updated_at));
    out.events.sort((a, b) => a.ts.localeCompare(b.ts));
    return out;
  }

  private placeOrder(at: number, out: Slice): void {
    const lines: OrderLine[] = Array.from({ length: this.rng.int(1, 3) }, () => {
      const p = this.rng.pick(this.cat.products);
      return { product_id: p.id, quantity: this.rng.int(1, 3), unit_price: p.price };
    });
    const ts = new Date(at).toISOString();
    const order: OrderVersion = { order_id: this.id('OL'), user_id: this.rng.pick(this.cat.users), status: 'placed', created_at: ts, updated_at: ts, lines };
    out.versions.push(order);
    for (const l of lines) out.events.push(this.event('order', order.user_id, l.product_id, l.unit_price, order.order_id, at));
    for (const c of statusChanges(this.rng, at)) {
      this.pending.push({ at: at + Math.max(1000, Math.round((c.ts - at) / this.rates.compress)), order, status: c.status });
    }
  }

  private change(at: number): CatalogueChange {
    const p = this.rng.pick(this.cat.products);
    if (this.rng.chance(0.5)) {
      const cents = Math.max(99, Math.round(Number(p.price) * 100 * (0.9 + this.rng.next() * 0.2)));
      p.price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      return { kind: 'price', productId: p.id, price: p.price, at };
    }
    return { kind: 'stock', productId: p.id, warehouse: this.rng.pick(WAREHOUSES), level: this.rng.int(0, 500), at };
  }
}
