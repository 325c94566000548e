/** What the running shop has served so far; `etl shop stats` and tests read it. */
import type { ProduceEventsOutput } from './events';
import type { OrdersApiStats } from './orders-api';

export interface LiveStats { orderVersions: number; events: number; catalogueChanges: number }

export interface ShopStats {
  api: OrdersApiStats | null;
  database: { products: number; users: number; inventory: number; reviews: number };
  events: ProduceEventsOutput | null;
  dropped: string[];
  live: LiveStats | null;
  errors: string[];
}

export class ShopStatsBoard {
  api: (() => OrdersApiStats) | null = null;
  live: (() => LiveStats) | null = null;
  database = { products: 0, users: 0, inventory: 0, reviews: 0 };
  events: ProduceEventsOutput | null = null;
  dropped: string[] = [];
  errors: string[] = [];

  /** A background channel failed: kept for stats and logged, the other channels go on. */
  fail(channel: string, err: unknown, log: (m: string) => void): void {
    const message = `${channel}: ${err instanceof Error ? err.message : String(err)}`;
    this.errors.push(message);
    log(`error in ${message}`);
  }

  snapshot(): ShopStats {
    return {
      api: this.api?.() ?? null, database: { ...this.database }, events: this.events, dropped: [...this.dropped],
      live: this.live?.() ?? null, errors: [...this.errors],
    };
  }
}
