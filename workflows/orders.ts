import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrdersActivities } from '../activities/orders';
import { invalidPartition, type PartitionInput, type PartitionOutput } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';

const { extractOrders } = proxyActivities<OrdersActivities>({
  // A page retries inside the activity first (429 waits, 5xx backoff); these retries cover the rest.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
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
  const out = await extractOrders({ ...input, workflowId: workflowInfo().workflowId });
  return { pipeline: 'orders', partitionStart: input.partitionStart, partitionEnd: input.partitionEnd, loads: out.loads };
}
