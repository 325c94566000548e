import { ApplicationFailure, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { SmokeActivities, SmokeOutput } from '../activities/smoke';
import { EtlPartition, EtlPipeline } from './search-attributes';

/** runId names the run; payload is what each service must hand back unchanged. */
export interface WiringCheckInput { runId: string; payload?: string }
export interface WiringCheckOutput { ok: boolean; checks: SmokeOutput[] }

const { checkStaging, checkS3, checkKafka } = proxyActivities<SmokeActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});

/** Proves the wiring end to end: staging PostgreSQL, Kafka and S3, each written and read back. */
export async function wiringCheckWorkflow(input: WiringCheckInput): Promise<WiringCheckOutput> {
  if (!input?.runId) throw ApplicationFailure.nonRetryable('wiringCheckWorkflow needs a runId', 'InvalidInput');
  upsertSearchAttributes([{ key: EtlPipeline, value: 'smoke' }, { key: EtlPartition, value: input.runId }]);
  const args = { runId: input.runId, payload: input.payload ?? `hello from ${input.runId}` };
  const checks = await Promise.all([checkStaging(args), checkKafka(args), checkS3(args)]);
  const bad = checks.filter((c) => c.readBack !== c.wrote);
  if (bad.length > 0) {
    throw ApplicationFailure.nonRetryable(`read-back mismatch at ${bad.map((b) => b.location).join(', ')}`, 'WiringMismatch');
  }
  return { ok: true, checks };
}
