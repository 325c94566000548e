/**
 * Turns `etl shop serve` flags into startShop options, so the CLI file only declares flags.
 * The clock: --live runs on the wall clock; --speed/--from replay the dataset's own time.
 */
import type { Config } from '../../config';
import { readManifest } from '../dataset/read-sources';
import { liveClock, simClock, type SimClock } from './clock';
import type { StartShopOptions } from './start-shop';
import { parseDate } from '../../contract/rules';

/** Flag values as commander hands them over (negatable --no-x flags arrive as x: false). */
export interface ServeFlags {
  data: string; port?: number; seed: number;
  rateLimitRate: number; retryAfter: number; serverErrorRate: number; slowRate: number; slowMs: number; timeoutRate: number; timeoutSeconds: number;
  live?: boolean; reset?: boolean; speed?: number; from?: string; allNow?: boolean; refreshSeconds: number;
  api: boolean; database: boolean; events: boolean; drops: boolean; topic?: string; dropPrefix?: string;
  liveOrders: number; liveEvents: number; liveCatalogue: number; liveCompress: number;
}

export function serveClock(f: ServeFlags): SimClock | undefined {
  if (f.live) {
    if (f.speed !== undefined || f.from !== undefined) throw new Error('--live runs on the wall clock: drop --speed and --from');
    return liveClock();
  }
  if (f.speed === undefined && f.from === undefined) return undefined;
  let from: number;
  if (f.from !== undefined) {
    const d = parseDate(f.from);
    if (!d) throw new Error(`--from ${JSON.stringify(f.from)} is not an ISO 8601 date-time`);
    from = d.getTime();
  } else {
    const manifest = readManifest(f.data);
    if (!manifest) throw new Error('--from is required when the dataset has no manifest.json (it says where the dataset starts)');
    from = Date.parse(manifest.range.start);
  }
  return simClock(from, f.speed ?? 1);
}

export function startOptionsFromFlags(config: Config, f: ServeFlags, log: (m: string) => void): StartShopOptions {
  const clock = serveClock(f);
  return {
    config, dataDir: f.data, clock, log,
    api: f.api && {
      port: f.port,
      faults: {
        seed: f.seed, rateLimitRate: f.rateLimitRate, retryAfterSeconds: f.retryAfter, serverErrorRate: f.serverErrorRate,
        slowRate: f.slowRate, slowMs: f.slowMs, timeoutRate: f.timeoutRate, timeoutSeconds: f.timeoutSeconds,
      },
    },
    database: f.database && { refreshMs: f.refreshSeconds * 1000, reset: f.reset },
    kafka: f.events && { topic: f.topic },
    drops: f.drops && { prefix: f.dropPrefix, allNow: f.allNow },
    live: f.live && {
      seed: f.seed, ordersPerMinute: f.liveOrders, eventsPerMinute: f.liveEvents, catalogueChangesPerMinute: f.liveCatalogue, compress: f.liveCompress,
    },
  };
}
