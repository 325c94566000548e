import { ApplicationFailure, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { FilesActivities, IngestPurchaseFileOutput, PurchaseFileRef } from '../activities/files';
import { invalidPartition, type LoadSummary, type PartitionInput, type PartitionOutput } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { slidingWindow } from './helpers';
import { activitiesOn } from './queues';

/**
 * A files run: the partition is its window; files that landed before partitionEnd and are not
 * loaded yet are taken. dropPrefix defaults to the lake's drop/purchases/ (tests use their own).
 */
export interface FilesPipelineInput extends PartitionInput {
  dropPrefix?: string;
  /** Files loaded at once (default 4); each file is one activity. */
  parallelism?: number;
  /** Files taken per run (default 200); the rest wait for the next run, keeping histories small. */
  maxFiles?: number;
  /** Rows per merge into staging (default 10000). */
  batchSize?: number;
  /** Source lines per committed piece of a file (default 1,000,000): a retried file resumes after the last. */
  pieceLines?: number;
}

export interface FilesPipelineOutput extends PartitionOutput {
  /** Files that changed or disappeared between listing and loading; the next run sees their new version. */
  vanished: string[];
  /** More files were waiting than maxFiles. */
  more: boolean;
}

const { listNewPurchaseFiles } = proxyActivities<FilesActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});

// A killed worker's file is taken up again (after its last committed piece) 30 s after its last
// heartbeat; the load beats every 10 s whatever it is doing (activities/files).
const { ingestPurchaseFile } = activitiesOn<FilesActivities>('heavy', {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Loads every new purchase file under the drop prefix, each exactly once, a few at a time. */
export async function filesPipelineWorkflow(input: FilesPipelineInput): Promise<FilesPipelineOutput> {
  const invalid = invalidPartition('files', input);
  if (invalid) throw ApplicationFailure.nonRetryable(invalid, 'InvalidInput');
  const parallelism = input.parallelism ?? 4;
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw ApplicationFailure.nonRetryable(`files: parallelism must be a positive integer, got ${String(input.parallelism)}`, 'InvalidInput');
  }
  upsertSearchAttributes([{ key: EtlPipeline, value: 'files' }, { key: EtlPartition, value: input.partitionStart }]);

  const listed = await listNewPurchaseFiles({ dropPrefix: input.dropPrefix, before: input.partitionEnd, maxFiles: input.maxFiles });
  const results: IngestPurchaseFileOutput[] = [];
  const failures: string[] = [];
  // Sliding window: a new file starts as soon as one finishes; one failed file does not stop the rest.
  await slidingWindow(listed.files, parallelism, async (file: PurchaseFileRef) => {
    try {
      results.push(await ingestPurchaseFile({ file, partitionStart: input.partitionStart, partitionEnd: input.partitionEnd, batchSize: input.batchSize, pieceLines: input.pieceLines }));
    } catch (err) {
      failures.push(`${file.key}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`);
    }
  });

  if (failures.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `files ${input.partitionStart}: ${failures.length} of ${listed.files.length} files failed and stay unloaded (the next run retries them; the others are loaded): ${failures.join(' | ')}`,
      'FilesFailed',
    );
  }
  results.sort((a, b) => a.key.localeCompare(b.key));
  const loads = results.flatMap((r): LoadSummary[] => (r.load ? [r.load] : []));
  return {
    pipeline: 'files', partitionStart: input.partitionStart, partitionEnd: input.partitionEnd, loads,
    vanished: results.filter((r) => r.vanished).map((r) => `${r.key}: ${r.vanished ?? ''}`), more: listed.more,
  };
}
