import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { startDashboard } from '../../dashboard/start';

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the analysts\' dashboard (overview, products, inventory, customers, realtime, pipeline health) on http://<host>:<port>/, reading analytics as etl_analyst (docs/dashboards.md).')
    .option('--port <n>', 'port to listen on (default: ETL_DASHBOARD_PORT, 18090)')
    .option('--host <address>', 'address to bind (127.0.0.1: this machine only)', '127.0.0.1')
    .action(async (opts: { port?: string; host: string }) => {
      const config = loadConfig();
      const port = opts.port === undefined ? config.ETL_DASHBOARD_PORT : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0-65535), got ${opts.port}`);
      const d = await startDashboard(config, port, opts.host);
      console.log(`dashboard: ${d.url} (Ctrl-C stops it)`);
      const stop = () => void d.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
