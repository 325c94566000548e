import type { OrderVersion, ShopEvent } from '../../contract/layout';
import { formatCents, priceAt, type Catalog } from './catalog';
import { churnOf, pickActiveUser, type ChurnPlan } from './churn';
import type { Inventory } from './inventory';
import { warehouseFor } from './names';
import type { Rng } from './prng';
import { countryOf, userId } from './users';

/** What a session needs from the timeline: where to send dated records and how to number them. */
export interface SessionContext {
  rng: Rng;
  /** Re-picks users who are slowing down or gone; a stream of its own, so `rng` draws as without churn. */
  churnRng: Rng;
  churn: ChurnPlan;
  seed: number;
  catalog: Catalog;
  users: number;
  inventory: Inventory;
  ids: { event: number; session: number; order: number };
  event(ev: ShopEvent, ts: number): void;
  order(placed: OrderVersion, ts: number, churner: boolean): void;
}

/**
 * One visit: a run of product views with a realistic funnel (about one view in eight goes to the
 * cart, a few to the wishlist, and most sessions with a cart end in an order). Churners visit less as
 * their churn moment nears and abandon more carts (churn.ts).
 */
export function runSession(ctx: SessionContext, arrival: number): void {
  const { rng, catalog } = ctx;
  const userIndex = pickActiveUser(rng, ctx.churnRng, ctx.users, ctx.seed, arrival, ctx.churn);
  const { churner } = churnOf(ctx.seed, userIndex, ctx.churn);
  const user = userId(userIndex);
  const session = `S${ctx.ids.session++}`;
  const views = 1 + Math.floor(rng.exp(7));
  const cart: Array<{ index: number; quantity: number }> = [];
  let t = arrival;
  const emit = (name: ShopEvent['event_name'], productId: string, price: string | null, orderId: string | null) => {
    const ev: ShopEvent = { event_id: `E${ctx.ids.event++}`, event_name: name, user_id: user, session_id: session, product_id: productId, order_id: orderId, price, ts: new Date(t).toISOString() };
    ctx.event(ev, t);
  };
  for (let v = 0; v < views; v++) {
    const index = catalog.popularity.sample(rng);
    const p = catalog.products[index];
    if (!p) continue;
    emit('view', p.id, formatCents(priceAt(p, t)), null);
    if (rng.chance(0.13) && cart.length < 5 && !cart.some((c) => c.index === index)) {
      t += 2_000 + Math.floor(rng.exp(20_000));
      cart.push({ index, quantity: rng.chance(0.75) ? 1 : rng.int(2, 4) });
      emit('add_to_cart', p.id, formatCents(priceAt(p, t)), null);
    } else if (rng.chance(0.04)) {
      t += 1_000 + Math.floor(rng.exp(10_000));
      emit('wishlist', p.id, null, null);
    }
    t += 3_000 + Math.floor(rng.exp(40_000));
  }
  if (cart.length === 0 || !rng.chance(churner ? 0.45 : 0.72)) return;
  t += 5_000 + Math.floor(rng.exp(60_000));
  const orderId = `O${ctx.ids.order++}`;
  const warehouse = warehouseFor(countryOf(ctx.seed, userIndex));
  const lines = cart.map(({ index, quantity }) => {
    const p = catalog.products[index];
    const cents = p ? priceAt(p, t) : 0;
    ctx.inventory.sell(index, warehouse, quantity);
    emit('order', p?.id ?? '', formatCents(cents * quantity), orderId);
    return { product_id: p?.id ?? '', quantity, unit_price: formatCents(cents) };
  });
  const at = new Date(t).toISOString();
  ctx.order({ order_id: orderId, user_id: user, status: 'placed', created_at: at, updated_at: at, lines }, t, churner);
}
