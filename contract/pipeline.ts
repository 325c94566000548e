/**
 * What every pipeline shares with the workflows that run it: the pipelines and their cadences, a
 * partition (a run's window), and the counts of a load. Pure types and constants: workflows,
 * activities, the CLI and the schedules all import them, and they import nothing.
 */
export const PIPELINES = {
  orders: { cadenceMinutes: 10, workflowType: 'ordersPipelineWorkflow' },
  catalog: { cadenceMinutes: 30, workflowType: 'catalogPipelineWorkflow' },
  files: { cadenceMinutes: 5, workflowType: 'filesPipelineWorkflow' },
  transform: { cadenceMinutes: 60, workflowType: 'transformWorkflow' },
} as const;

export type PipelineName = keyof typeof PIPELINES;

/** The sources the raw zone holds (raw/<source>/), in the order a rebuild replays them: the catalog first. */
export const RAW_SOURCES = ['products', 'users', 'inventory', 'reviews', 'orders', 'purchases', 'events'] as const;
export type RawSource = (typeof RAW_SOURCES)[number];

/** The events stream's Kafka consumer group unless a run names another (its offsets live in etl.kafka_offsets). */
export const DEFAULT_EVENTS_GROUP = 'etl-events';
export const PIPELINE_NAMES = Object.keys(PIPELINES) as PipelineName[];

/** A partition of one pipeline. Both ends are ISO 8601 UTC; end = start + cadence. */
export interface PartitionInput {
  partitionStart: string;
  partitionEnd: string;
  /** True when run by a backfill: it must not move the live incremental cursors. */
  backfill?: boolean;
}

/** Counts of one load, as recorded in etl.loads. received = loaded + quarantined + duplicates. */
export interface LoadSummary {
  loadId: string;
  source: string;
  received: number;
  loaded: number;
  quarantined: number;
  duplicates: number;
  /** Records the source deleted before they were read (Kafka retention), when any; not part of received. */
  lost?: number;
  /** True when the load had already succeeded and was not applied again. */
  skipped?: boolean;
}

export interface PartitionOutput {
  pipeline: PipelineName;
  partitionStart: string;
  partitionEnd: string;
  loads: LoadSummary[];
}

