import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wiringCheckWorkflow } from '../../workflows';
import { testEnv, type TestEnv } from '../support/env';

describe('wiring check workflow (real Temporal, PostgreSQL, Kafka, S3)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv('smoke');
  });
  afterAll(async () => env?.close());

  it('writes to staging, Kafka and S3 and reads each back', async () => {
    const runId = `test-${Date.now()}`;
    const result = await env.withWorker(() =>
      env.client.workflow.execute(wiringCheckWorkflow, { taskQueue: env.taskQueue, workflowId: `smoke/${runId}`, args: [{ runId, payload: `payload ${runId}` }] }),
    );
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.service).sort()).toEqual(['kafka', 's3', 'staging']);
    for (const c of result.checks) expect(c.readBack).toBe(`payload ${runId}`);
    const { rows } = await env.deps.staging.query('select payload from etl.smoke where run_id = $1', [runId]);
    expect(rows).toEqual([{ payload: `payload ${runId}` }]);
  });

  it('rejects an input without a runId as a non-retryable failure', async () => {
    const id = `smoke/bad-${Date.now()}`;
    await expect(
      env.withWorker(() => env.client.workflow.execute(wiringCheckWorkflow, { taskQueue: env.taskQueue, workflowId: id, args: [{ runId: '' }] })),
    ).rejects.toThrow(/workflow execution failed/i);
    const desc = await env.client.workflow.getHandle(id).describe();
    expect(desc.status.name).toBe('FAILED');
  });
});
