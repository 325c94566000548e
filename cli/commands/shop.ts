import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { startShop } from '../../shop/simulator/start-shop';

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
};

interface ServeOpts {
  data: string; port?: number; seed: number;
  rateLimitRate: number; retryAfter: number; serverErrorRate: number; slowRate: number; slowMs: number; timeoutRate: number; timeoutSeconds: number;
}

export function register(program: Command): void {
  const shop = program.command('shop').description('The simulated shop: serve a dataset through the orders API, the shop database, Kafka and file drops.');
  shop
    .command('serve')
    .description('Serve a dataset folder (from `etl generate` or your own export in the documented layout) until Ctrl-C.')
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
    .action(async (opts: ServeOpts) => {
      const config = loadConfig();
      const shopInstance = await startShop({
        config, dataDir: opts.data, log: (m) => console.log(m),
        api: {
          port: opts.port,
          faults: {
            seed: opts.seed, rateLimitRate: opts.rateLimitRate, retryAfterSeconds: opts.retryAfter, serverErrorRate: opts.serverErrorRate,
            slowRate: opts.slowRate, slowMs: opts.slowMs, timeoutRate: opts.timeoutRate, timeoutSeconds: opts.timeoutSeconds,
          },
        },
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await shopInstance.stop();
    });
}
