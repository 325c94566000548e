import { ApplicationFailure, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CatalogActivities } from '../activities/catalog';
import { invalidPartition, type PartitionInput, type PartitionOutput } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { activitiesOn } from './queues';

const SOURCES = ['products', 'users', 'inventory', 'reviews'] as const;

const { loadProducts, loadUsers, loadInventory, loadReviews } = activitiesOn<CatalogActivities>('heavy', {
  startToCloseTimeout: '30 minutes',
  // Each source heartbeats once per keyset chunk, and every 5 s from a timer: a worker killed
  // mid-load is noticed in 30 s and the load retried on another (bench/scale-out.ts).
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});

/**
 * One 30-minute partition of the shop database: products, users, inventory and reviews changed in
 * [partitionStart, partitionEnd), in parallel, one idempotent load each. A scheduled run moves the
 * live cursor of each source; a backfill (input.backfill) leaves them alone.
 */
export async function catalogPipelineWorkflow(input: PartitionInput): Promise<PartitionOutput> {
  const bad = invalidPartition('catalog', input);
  if (bad) throw ApplicationFailure.nonRetryable(bad, 'InvalidPartition');
  upsertSearchAttributes([{ key: EtlPipeline, value: 'catalog' }, { key: EtlPartition, value: input.partitionStart }]);
  const args = { ...input, workflowId: workflowInfo().workflowId };
  // allSettled: one failing source must not cancel the others' loads mid-way.
  const settled = await Promise.allSettled([loadProducts(args), loadUsers(args), loadInventory(args), loadReviews(args)]);
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ source: SOURCES[i], reason: s.reason as Error }] : []));
  const first = failed[0];
  if (first) {
    throw ApplicationFailure.create({
      message: `catalog partition ${input.partitionStart}..${input.partitionEnd}: ${failed.map((f) => f.source).join(', ')} failed; first: ${first.reason.message}`,
      type: 'CatalogSourceFailed', nonRetryable: true, cause: first.reason,
    });
  }
  return { pipeline: 'catalog', partitionStart: input.partitionStart, partitionEnd: input.partitionEnd, loads: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.load] : [])) };
}
