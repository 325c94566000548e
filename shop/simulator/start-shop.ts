/**
 * The whole simulated shop in one call: the shop database, the orders API, the event stream and
 * the file drops, all served from one dataset folder. Ingestion tests start it in-process.
 */
import type { Config } from '../../config';
import type { FaultOptions } from './faults';
import { loadOrdersIndex } from './load-orders';
import { startOrdersApi, type OrdersApi, type OrdersApiStats } from './orders-api';
import type { OrdersIndex } from './orders-index';
import type { SimClock } from './clock';

export interface StartShopOptions {
  config: Config;
  /** A dataset folder in the documented layout. */
  dataDir: string;
  /** Orders API; port defaults to ETL_ORDERS_API_PORT (0 = any free port). false: not started. */
  api?: false | { port?: number; host?: string; token?: string; faults?: FaultOptions };
  /** Replay/live clock; without one every channel serves the whole dataset at once. */
  clock?: SimClock;
  log?: (message: string) => void;
}

export interface ShopStats { api: OrdersApiStats | null }

export interface Shop {
  apiUrl: string | null;
  index: OrdersIndex;
  stats(): ShopStats;
  stop(): Promise<void>;
}

export async function startShop(o: StartShopOptions): Promise<Shop> {
  const log = o.log ?? (() => undefined);
  const index = await loadOrdersIndex(o.dataDir);
  log(`orders: ${index.size} versions indexed`);
  let api: OrdersApi | null = null;
  if (o.api !== false) {
    const a = o.api ?? {};
    const clock = o.clock;
    api = await startOrdersApi({
      index, token: a.token ?? o.config.ORDERS_API_TOKEN, port: a.port ?? o.config.ETL_ORDERS_API_PORT, host: a.host,
      faults: a.faults, now: clock ? () => clock.now() : undefined,
    });
    log(`orders API listening on ${api.url}`);
  }
  return {
    apiUrl: api?.url ?? null,
    index,
    stats: () => ({ api: api?.stats() ?? null }),
    stop: async () => {
      await api?.stop();
    },
  };
}
