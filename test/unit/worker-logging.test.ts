import { describe, expect, it } from 'vitest';
import type { LogEntry } from '@temporalio/worker';
import { conciseLine, jsonLine, pipelineOf, pythonLevel, workerLine } from '../../workers/logging';
import { loadConfig, scrubSecrets } from '../../config';

const entry = (level: LogEntry['level'], message: string, meta: Record<string, unknown>): LogEntry => ({ level, message, meta, timestampNanos: 0n });

function thrown(message: string): Error {
  try {
    throw new Error(message);
  } catch (e) {
    return e as Error;
  }
}

describe('the worker concise log lines', () => {
  it('keeps a warning to one line, with the error message and where it happened', () => {
    const line = conciseLine(entry('WARN', 'Activity failed', { activityType: 'ingestPurchaseFile', error: thrown('connection reset') }));
    expect(line).toBe('[WARN] Activity failed (ingestPurchaseFile): connection reset');
  });

  it('adds the stack when a failed workflow task or an ERROR carries an Error (the SDK side; Core sends its failures as text with their stack_trace inside)', () => {
    const e = thrown('[TMPRL1100] Nondeterminism error: Activity machine does not handle this event');
    const task = conciseLine(entry('WARN', 'Failing workflow task', { workflowId: 'transform/x', failure: e })).split('\n');
    expect(task[0]).toBe('[WARN] Failing workflow task (transform/x): [TMPRL1100] Nondeterminism error: Activity machine does not handle this event');
    expect(task[1]).toMatch(/^\s+at thrown \(.*worker-logging\.test\.ts/);
    const error = conciseLine(entry('ERROR', 'Worker failed', { error: thrown('boom') })).split('\n');
    expect(error.length).toBeGreaterThan(1);
    expect(error[1]).toMatch(/^\s+at /);
  });

  it('shows a failure that arrives as text (Core forwards them so)', () => {
    expect(conciseLine(entry('WARN', 'Failing workflow task', { failure: 'Failure { message: "x" }' }))).toBe('[WARN] Failing workflow task: Failure { message: "x" }');
  });
});

describe('JSON log lines (ETL_LOG_FORMAT=json)', () => {
  const at = 1_764_928_800_000n * 1_000_000n; // 2025-12-05T10:00:00Z
  it('carry the workflow, run, activity, attempt and pipeline, and never a secret', () => {
    const config = loadConfig({ S3_SECRET_ACCESS_KEY: 's3-secret-value-123', ORDERS_API_TOKEN: 'orders-token-456' });
    const scrub = (t: string) => scrubSecrets(t, config);
    const line = JSON.parse(jsonLine({
      level: 'WARN', message: 'Activity failed with token orders-token-456', timestampNanos: at,
      meta: { workflowId: 'orders/2026-12-05T10:00:00.000Z', workflowRunId: 'run-1', workflowType: 'ordersPipelineWorkflow', activityType: 'extractOrders', activityId: '3', attempt: 2, taskQueue: 'etl', taskToken: 'dG9rZW4=', error: new Error('S3 said no to s3-secret-value-123') },
    }, scrub)) as Record<string, unknown>;
    expect(line).toEqual({
      ts: '2025-12-05T10:00:00.000Z', level: 'WARN', msg: 'Activity failed with token ***', workflowId: 'orders/2026-12-05T10:00:00.000Z', runId: 'run-1',
      workflowType: 'ordersPipelineWorkflow', activity: 'extractOrders', activityId: '3', attempt: 2, taskQueue: 'etl', pipeline: 'orders', error: 'S3 said no to ***',
    });
    expect(JSON.stringify(line)).not.toMatch(/dG9rZW4=|s3-secret-value-123|orders-token-456/);
  });

  it('name the pipeline of a workflow id, scheduled runs included', () => {
    expect(pipelineOf('transform/2026-12-05T10:00:00.000Z')).toBe('transform');
    expect(pipelineOf('scheduled/orders-2026-12-05T10:02:00Z')).toBe('orders');
    expect(pipelineOf('churn/latest/20261205T081453916Z')).toBe('churn');
    expect(pipelineOf(undefined)).toBeUndefined();
  });

  it("carry the worker's own lines and the Python ML worker's too, scrubbed, with their level", () => {
    const config = loadConfig({ PSEUDONYM_KEY: 'pseudonym-key-value-7890123' });
    const scrub = (t: string) => scrubSecrets(t, config);
    const ml = JSON.parse(workerLine(true, pythonLevel('WARNING:temporalio.worker:slow poll with pseudonym-key-value-7890123'), 'WARNING:temporalio.worker:slow poll with pseudonym-key-value-7890123', scrub, { component: 'ml' })) as Record<string, unknown>;
    expect(ml).toMatchObject({ level: 'WARN', msg: 'WARNING:temporalio.worker:slow poll with ***', component: 'ml' });
    expect(typeof ml.ts).toBe('string');
    expect(pythonLevel('Traceback (most recent call last):')).toBe('ERROR');
    expect(pythonLevel('ValueError: bad input')).toBe('ERROR');
    expect(pythonLevel('INFO:shop_ml:trained 2 models')).toBe('INFO');
    // Without json: the message as is, scrubbed.
    expect(workerLine(false, 'INFO', 'worker polling "etl"', scrub)).toBe('worker polling "etl"');
  });
});
