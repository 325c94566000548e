/** Activities proxied onto a role's task queue, named from the queue the workflow itself runs on. */
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { queueName, type AnyQueueRole } from './queue-names';

/**
 * proxyActivities with `taskQueue` = this role's queue beside the workflow's own (workflows/queue-names.ts).
 * Declared at module level like proxyActivities; the queue is read at call time, inside the workflow.
 */
export function activitiesOn<A extends object>(role: AnyQueueRole, options: ActivityOptions): ReturnType<typeof proxyActivities<A>> {
  return new Proxy({} as ReturnType<typeof proxyActivities<A>>, {
    // A function per name, resolved when called: destructuring at module level runs before any workflow.
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      return (...args: unknown[]) => {
        const acts = proxyActivities<Record<string, (...a: unknown[]) => Promise<unknown>>>({ ...options, taskQueue: queueName(workflowInfo().taskQueue, role) });
        return (acts[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      };
    },
  });
}
