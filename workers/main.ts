/** `etl worker`: runs one worker until SIGINT/SIGTERM, then drains and exits. */
import { loadConfig } from '../config';
import { ACTIVITY_SLOTS, createWorker } from './worker';
import { isQueueRole, QUEUE_ROLES, type QueueRole } from '../workflows/queue-names';

/** `--queues default,heavy`: the queue roles this process serves (all of them when absent). */
export function parseQueueRoles(list: string | undefined): QueueRole[] {
  if (!list) return [...QUEUE_ROLES];
  const roles = list.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !isQueueRole(r));
  if (bad.length > 0 || roles.length === 0) throw new Error(`--queues: unknown queue role ${bad.map((b) => JSON.stringify(b)).join(', ') || '(none)'}; use a comma-separated list of ${QUEUE_ROLES.join(', ')}`);
  return [...new Set(roles)] as QueueRole[];
}

export async function runWorker(opts: { taskQueue?: string; queues?: string } = {}): Promise<void> {
  const config = loadConfig();
  const roles = parseQueueRoles(opts.queues);
  const started = await createWorker(config, opts.taskQueue ? { taskQueue: opts.taskQueue } : {}, roles);
  const polled = started.queues.map((q) => `"${q.taskQueue}" (${q.role}, ${ACTIVITY_SLOTS[q.role]} activity slots${q.role === 'default' ? ', workflows' : ''})`).join(', ');
  console.log(`worker polling ${polled} at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`);
  try {
    await started.run(); // The SDK shuts down on SIGINT/SIGTERM by itself.
  } finally {
    await started.close();
  }
}
