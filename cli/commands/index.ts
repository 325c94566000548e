import type { Command } from 'commander';
import { register as backfill } from './backfill';
import { register as checks } from './checks';
import { register as churn } from './churn';
import { register as config } from './config';
import { register as dashboard } from './dashboard';
import { register as db } from './db';
import { register as demo } from './demo';
import { register as events } from './events';
import { register as generate } from './generate';
import { register as histories } from './histories';
import { register as lake } from './lake';
import { register as live } from './live';
import { register as rebuild } from './rebuild';
import { register as runs } from './runs';
import { register as schedules } from './schedules';
import { register as services } from './services';
import { register as shop } from './shop';
import { register as smoke } from './smoke';
import { register as status } from './status';
import { register as worker } from './worker';

/** Every command group of the CLI. One line each. */
export const commands: Array<(program: Command) => void> = [
  backfill,
  checks,
  churn,
  config,
  dashboard,
  db,
  demo,
  events,
  generate,
  histories,
  lake,
  live,
  rebuild,
  runs,
  schedules,
  services,
  shop,
  smoke,
  status,
  worker,
];
