import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrdersActivities } from '../activities/orders';
import { invalidPartition, type PartitionInput, type PartitionOutput } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';

const { extractOrders } = proxyActivities<OrdersActivities>({
  // A page retries inside the activity first (429 waits, 5xx backoff); these retries cover the rest.
  // The activity heartbeats after each page and every 5 s while it waits on the API; a dead worker is
  // noticed in 20 s (it was 1 minute, and the back-off grew to 2 minutes: a worker kill cost a run up
  // to 3 minutes). A page's S3 write and merge do not heartbeat: a stall there over 20 s retries the
  // attempt while it goes on (page loads are idempotent; a keep-alive per page is still to do).
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * One 10-minute partition of the orders API: every order version with updated_at in
 * [partitionStart, partitionEnd), staged page by page. A scheduled run also moves the live cursor;
 * a backfill (input.backfill) leaves it alone.
 */
export async function ordersPipelineWorkflow(input: PartitionInput): Promise<PartitionOutput> {
  const bad = invalidPartition('orders', input);
  if (bad) throw ApplicationFailure.nonRetryable(bad, 'InvalidPartition');
  upsertSearchAttributes([{ key: EtlPipeline, value: 'orders' }, { key: EtlPartition, value: input.partitionStart }]);
  const workflowId = workflowInfo().workflowId;
  let out = await extractOrders({ ...input, workflowId, handOver: true });
  // Handed over by a retried attempt (a worker died mid-run after loading pages): go on from there in
  // a fresh activity. Runs recorded before the hand-over never have `resume`, so they replay unchanged.
  while (out.resume) out = await extractOrders({ ...input, workflowId, handOver: true, resume: out.resume });
  return { pipeline: 'orders', partitionStart: input.partitionStart, partitionEnd: input.partitionEnd, loads: out.loads };
}
