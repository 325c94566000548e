import type { Command } from 'commander';
import { register as config } from './config';

/** Every command group of the CLI. One line each. */
export const commands: Array<(program: Command) => void> = [
  config,
];
