import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { makeKafka, makePool } from '../../lib/clients';
import type { EventName } from '../../contract/layout';
import { ensureTopic, eventsProducer } from '../../shop/simulator/events';
import { startOptionsFromFlags, type ServeFlags } from '../../shop/simulator/serve-options';
import { loadShopDatabase } from '../../shop/simulator/shop-database';
import { runSpike } from '../../shop/simulator/spike';
import { startShop } from '../../shop/simulator/start-shop';
import { printData } from '../output';

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
};

const untilSignal = () => new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

/** Nested stats become dotted rows, so the table stays readable. */
function flatten(o: unknown, prefix = ''): Array<Record<string, unknown>> {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [{ name: prefix, value: Array.isArray(o) ? o.length : o }];
  return Object.entries(o).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

export function register(program: Command): void {
  const shop = program.command('shop').description('The simulated shop: serve a dataset through the orders API, the shop database, Kafka and file drops.');
  shop
    .command('serve')
    .description('Serve a dataset folder (from `etl generate`, or your own export in the documented layout) until Ctrl-C. See docs/simulator.md.')
    .requiredOption('--data <dir>', 'dataset folder')
    .option('--port <n>', 'orders API port (default: ETL_ORDERS_API_PORT)', num)
    .option('--seed <n>', 'seed of the fault injector and the live generator', num, 1)
    .option('--rate-limit-rate <p>', 'share of /orders requests answered 429', num, 0)
    .option('--retry-after <s>', 'Retry-After seconds of a 429', num, 1)
    .option('--server-error-rate <p>', 'share answered 500/502/503', num, 0)
    .option('--slow-rate <p>', 'share answered after --slow-ms', num, 0)
    .option('--slow-ms <ms>', 'delay of a slow answer', num, 2000)
    .option('--timeout-rate <p>', 'share held unanswered for --timeout-seconds, then closed', num, 0)
    .option('--timeout-seconds <s>', 'how long a timed-out request is held', num, 30)
    .option('--speed <x>', 'replay at the dataset\'s own timestamps, x times real time (from --from)', num)
    .option('--from <iso>', 'simulated start of a replay (default: the manifest\'s range start)')
    .option('--live', 'wall-clock mode: serve what is due now and keep generating new orders, events and catalogue changes')
    .option('--all-now', 'drop every purchase file at once, even in replay/live mode')
    .option('--reset', 'empty the shop database tables first, so an earlier dataset does not mix in')
    .option('--refresh-seconds <s>', 'how often the shop database advances with the clock', num, 10)
    .option('--topic <name>', 'events topic (default: KAFKA_EVENTS_TOPIC)')
    .option('--drop-prefix <prefix>', 'S3 key prefix of file drops (default: drop/purchases/)')
    .option('--no-api', 'do not start the orders API')
    .option('--no-database', 'do not load the shop database')
    .option('--no-events', 'do not send events to Kafka')
    .option('--no-drops', 'do not drop purchase files')
    .option('--live-orders <n>', 'live: new orders per minute', num, 12)
    .option('--live-events <n>', 'live: browsing events per minute', num, 300)
    .option('--live-catalogue <n>', 'live: price and stock changes per minute', num, 2)
    .option('--live-compress <x>', 'live: order lifecycle speed-up (48: a day of status changes in 30 minutes)', num, 48)
    .action(async (flags: ServeFlags) => {
      const log = (m: string) => console.log(`[${new Date().toISOString()}] ${m}`);
      const running = await startShop(startOptionsFromFlags(loadConfig(), flags, log));
      let stopping = false;
      void running.replayed.then(() => stopping || log('dataset events and files all delivered; serving until Ctrl-C'));
      await untilSignal();
      stopping = true;
      await running.stop();
    });

  shop
    .command('stats')
    .description('Ask a running `etl shop serve` for its orders API counters, including injected faults.')
    .option('--url <url>', 'orders API base URL (default: ORDERS_API_URL)')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; json?: boolean }) => {
      const url = `${(opts.url ?? loadConfig().ORDERS_API_URL).replace(/\/$/, '')}/stats`;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url} answered ${res.status}; is \`etl shop serve\` running?`);
      const body: unknown = await res.json();
      if (opts.json) console.log(JSON.stringify(body, null, 2));
      else printData(flatten(body), opts);
    });

  shop
    .command('spike')
    .description('Inject a spike of one event type into the events topic: factor x its baseline per-minute rate for N minutes.')
    .requiredOption('--event <name>', 'view, add_to_cart, wishlist, order or return')
    .option('--factor <x>', 'multiple of the baseline rate', num, 8)
    .option('--minutes <n>', 'how long the spike lasts', num, 3)
    .option('--baseline <n>', 'normal events per minute of that type', num, 60)
    .option('--topic <name>', 'events topic (default: KAFKA_EVENTS_TOPIC)')
    .option('--json', 'print JSON')
    .action(async (opts: { event: EventName; factor: number; minutes: number; baseline: number; topic?: string; json?: boolean }) => {
      const config = loadConfig();
      const kafka = makeKafka(config, 'shop-spike');
      const topic = opts.topic ?? config.KAFKA_EVENTS_TOPIC;
      await ensureTopic(kafka, topic, config.KAFKA_EVENTS_PARTITIONS);
      const producer = eventsProducer(kafka);
      const pool = makePool(config, 'shopOwner', 1);
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      await producer.connect();
      try {
        const r = await runSpike({
          producer, topic, pool, event: opts.event, factor: opts.factor, minutes: opts.minutes, baselinePerMinute: opts.baseline, signal: abort.signal,
          onTick: (sent) => { if (!opts.json) process.stdout.write(`\r${sent} ${opts.event} events sent`); },
        });
        if (!opts.json) console.log('');
        printData([{ event: opts.event, topic, sent: r.sent, per_minute: r.perMinute, seconds: Math.round(r.seconds) }], opts);
      } finally {
        await producer.disconnect();
        await pool.end();
      }
    });

  shop
    .command('load-db')
    .description('Load only the shop database from a dataset folder (idempotent), optionally as of a time.')
    .requiredOption('--data <dir>', 'dataset folder')
    .option('--as-of <iso>', 'only versions with updated_at before this instant')
    .option('--json', 'print JSON')
    .action(async (opts: { data: string; asOf?: string; json?: boolean }) => {
      const pool = makePool(loadConfig(), 'shopOwner', 1);
      try {
        const asOf = opts.asOf ? new Date(opts.asOf) : undefined;
        if (asOf && Number.isNaN(asOf.getTime())) throw new Error(`--as-of ${opts.asOf} is not a date-time`);
        const r = await loadShopDatabase({ pool, dataDir: opts.data, asOf });
        printData([{ ...r }], opts);
      } finally {
        await pool.end();
      }
    });
}
