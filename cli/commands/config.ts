import type { Command } from 'commander';
import { loadConfig, redactConfig } from '../../config';
import { printData } from '../output';

export function register(program: Command): void {
  program
    .command('config')
    .description('Validate the environment and print the effective configuration (secrets hidden).')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const config = redactConfig(loadConfig());
      if (opts.json) console.log(JSON.stringify(config, null, 2));
      else printData(Object.entries(config).map(([name, value]) => ({ name, value })), opts);
    });
}
