/**
 * The `etl` command line. Each command group lives in cli/commands/<group>.ts and exports
 * `register(program)`; add new groups to the list below.
 */
import { Command } from 'commander';
import { ConfigError } from '../config';
import { commands } from './commands';

const program = new Command()
  .name('etl')
  .description('E-commerce ETL on Temporal: ingest, transform, backfill and inspect the shop data pipeline.')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

for (const register of commands) register(program);

// A reader that went away (`etl … | head`): stop quietly, as other command-line tools do, instead of
// hanging with workers or pools still open behind a stdout that can no longer be written.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(err instanceof Error ? (process.env.LOG_LEVEL === 'debug' ? err.stack : err.message) : String(err));
  }
  process.exit(1);
});
