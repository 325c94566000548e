/**
 * Pipelines, their cadences and partitions. Pure and deterministic: used by workflows (to derive a
 * run's window from its scheduled time), by activities, the CLI and the schedules.
 * Windows are closed at the start and open at the end: [start, end).
 */
import { PIPELINES, type PartitionInput, type PipelineName } from '../contract/pipeline';

export { PIPELINES, PIPELINE_NAMES } from '../contract/pipeline';
export type { LoadSummary, PartitionInput, PartitionOutput, PipelineName } from '../contract/pipeline';

export function isPipelineName(name: string): name is PipelineName {
  return Object.prototype.hasOwnProperty.call(PIPELINES, name);
}

export function cadenceMs(pipeline: PipelineName): number {
  return PIPELINES[pipeline].cadenceMinutes * 60_000;
}

/** The partition containing `time`. */
export function partitionAt(pipeline: PipelineName, time: Date | string): PartitionInput {
  const ms = new Date(time).getTime();
  if (Number.isNaN(ms)) throw new Error(`not a valid time: ${String(time)}`);
  const start = Math.floor(ms / cadenceMs(pipeline)) * cadenceMs(pipeline);
  return { partitionStart: new Date(start).toISOString(), partitionEnd: new Date(start + cadenceMs(pipeline)).toISOString() };
}

/** The window a scheduled run at time T covers: the partition that ends at T, [T - cadence, T). */
export function partitionEndingAt(pipeline: PipelineName, scheduledTime: Date | string): PartitionInput {
  const end = new Date(new Date(scheduledTime).getTime() - 1);
  return partitionAt(pipeline, end);
}

/** Every partition overlapping [from, to), in order. */
export function partitionsBetween(pipeline: PipelineName, from: Date | string, to: Date | string): PartitionInput[] {
  const toMs = new Date(to).getTime();
  const out: PartitionInput[] = [];
  let p = partitionAt(pipeline, from);
  while (new Date(p.partitionStart).getTime() < toMs) {
    out.push(p);
    p = partitionAt(pipeline, p.partitionEnd);
  }
  return out;
}

/** Workflow id of a pipeline partition: `<pipeline>/<partition-start-ISO>`. */
export function partitionWorkflowId(pipeline: PipelineName, partitionStart: string): string {
  return `${pipeline}/${partitionStart}`;
}

/** Checks a partition input; returns a message naming what is wrong, or undefined. */
export function invalidPartition(pipeline: PipelineName, input: Partial<PartitionInput> | undefined): string | undefined {
  if (!input?.partitionStart || !input.partitionEnd) return `${pipeline}: partitionStart and partitionEnd are required`;
  const s = Date.parse(input.partitionStart);
  const e = Date.parse(input.partitionEnd);
  if (Number.isNaN(s) || Number.isNaN(e)) return `${pipeline}: partition bounds must be ISO 8601 times, got ${input.partitionStart} .. ${input.partitionEnd}`;
  if (e <= s) return `${pipeline}: partitionEnd must be after partitionStart (${input.partitionStart} .. ${input.partitionEnd})`;
  return undefined;
}
