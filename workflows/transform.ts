/**
 * The hourly transform: dedup -> clean -> enrich -> aggregate -> load analytics -> curated lake.
 * Id `transform/<hour-start-ISO>`. The window is the partition plus LOOKBACK (2 h, see
 * activities/transform/extract.ts): rows that arrived or happened in it are merged into the work
 * layer, and only the dates they touch are rebuilt, each in its own transaction, a few at a time.
 */
import { ApplicationFailure, deprecatePatch, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { TransformActivities } from '../activities/transform';
import type { TransformSource } from '../activities/transform/sources';
import { invalidPartition, type PartitionInput, type PartitionOutput } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { allOrCancel, slidingWindow } from './helpers';
import { activitiesOn } from './queues';

/** Every source the transform reads; dimensions first only for readability, they run in parallel. */
const SOURCES: TransformSource[] = ['products', 'users', 'inventory', 'orders', 'order_lines', 'purchases', 'events'];
/** Dates rebuilt at once: each holds a connection and a per-date lock. */
export const DATE_CONCURRENCY = 4;
export const CANCEL_SIBLINGS_PATCH = 'transform-cancel-sibling-extracts';

export interface TransformOutput extends PartitionOutput {
  /** The order/event dates this run rebuilt in analytics and in the curated lake. */
  dates: string[];
}

const acts = activitiesOn<TransformActivities>('heavy', {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 6 },
});

export async function transformWorkflow(input: PartitionInput): Promise<TransformOutput> {
  const invalid = invalidPartition('transform', input);
  if (invalid) throw ApplicationFailure.nonRetryable(invalid, 'InvalidPartition');
  const { partitionStart, partitionEnd } = input;
  upsertSearchAttributes([{ key: EtlPipeline, value: 'transform' }, { key: EtlPartition, value: partitionStart }]);
  const base = `${workflowInfo().workflowId}`;

  const extract = (source: TransformSource) => () => acts.extractTransformSource({ source, partitionStart, partitionEnd, loadId: `${base}/extract/${source}` });
  // One extract failing cancels the other six (patched: older runs let them run on).
  const extracts = patched(CANCEL_SIBLINGS_PATCH) ? await allOrCancel(SOURCES.map(extract)) : await Promise.all(SOURCES.map((s) => extract(s)()));
  const dates = [...new Set(extracts.flatMap((e) => e.dates))].sort();

  await slidingWindow(dates, DATE_CONCURRENCY, async (date) => {
    await acts.loadAnalyticsDate({ date, partition: base });
    await acts.writeCuratedDate({ date });
  });
  // A dimension snapshot only when products or users changed: a full dump every hour (and every
  // backfilled hour) cost more than the rest of the run at scale.
  const dimsChanged = extracts.some((e) => (e.load.source === 'products' || e.load.source === 'users') && e.load.loaded > 0);
  // A deprecated patch (docs/orchestration.md, "Patch lifecycle"): runs that wrote the snapshot every time are gone.
  deprecatePatch('dims-snapshot-on-change');
  if (dimsChanged) await acts.writeCuratedDimensions({ date: partitionStart.slice(0, 10) });

  return { pipeline: 'transform', partitionStart, partitionEnd, loads: extracts.map((e) => e.load), dates };
}

