/**
 * Keeps the shop database in step with the clock: the first load takes every version before the
 * simulated now, later loads the versions that have become due since. Without a clock, one load of
 * everything.
 */
import type { Pool } from 'pg';
import type { SimClock } from './clock';
import { loadShopDatabase } from './shop-database';
import type { ShopStatsBoard } from './shop-stats';

export interface CatalogueRefresherInput { pool: Pool; dataDir: string; clock?: SimClock; refreshMs?: number; board: ShopStatsBoard; log: (m: string) => void }

export function catalogueRefresher(i: CatalogueRefresherInput): { first: Promise<void>; stop: () => Promise<void> } {
  let loadedUntil: Date | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const asOf = i.clock ? new Date(i.clock.now()) : undefined;
    const r = await loadShopDatabase({ pool: i.pool, dataDir: i.dataDir, since: loadedUntil, asOf });
    loadedUntil = asOf;
    for (const k of ['products', 'users', 'inventory', 'reviews'] as const) i.board.database[k] += r[k];
    const changed = r.products + r.users + r.inventory + r.reviews;
    if (changed || !i.clock) i.log(`shop database${asOf ? ` as of ${asOf.toISOString()}` : ''}: ${JSON.stringify(r)}`);
  };
  const first = tick();
  if (!i.clock) return { first, stop: () => first };
  const timer = setInterval(() => {
    // One load at a time; a slow load delays the next instead of overlapping it.
    running = running.then(tick).catch((err: unknown) => i.board.fail('database', err, i.log));
  }, i.refreshMs ?? 10_000);
  return {
    first,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
