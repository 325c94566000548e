/**
 * Integration tests share one service stack per run: started (idempotently) here, migrated, and
 * left running afterwards so the next run is fast (`npx etl services down` stops it).
 */
import { migrateAll } from '../cli/commands/db';
import { loadConfig } from '../config';
import { servicesUp } from '../services';

export default async function setup(): Promise<void> {
  const config = loadConfig();
  await servicesUp(config);
  await migrateAll(config);
}
