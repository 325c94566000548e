/**
 * The task queues of one deployment, named from its base queue (TEMPORAL_TASK_QUEUE, or a test's
 * own): workflows, orchestration and light activities on the base queue; the stream loops'
 * activities on `<base>-stream`, so a 30-minute load never takes their slot; the heavy loads
 * (transform, files, catalog) on `<base>-heavy`; the churn training on `<base>-ml`, served by the
 * Python ML worker (workers/ml.ts), not by the TypeScript workers. Pure: workers and workflows both name them.
 */
export const QUEUE_ROLES = ['default', 'stream', 'heavy'] as const;
export type QueueRole = (typeof QUEUE_ROLES)[number];

/** The Python ML worker's role (ml/shop_ml/worker.py). */
export type AnyQueueRole = QueueRole | 'ml';

export function queueName(base: string, role: AnyQueueRole): string {
  return role === 'default' ? base : `${base}-${role}`;
}

export function isQueueRole(s: string): s is QueueRole {
  return (QUEUE_ROLES as readonly string[]).includes(s);
}
