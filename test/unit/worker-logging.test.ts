import { describe, expect, it } from 'vitest';
import type { LogEntry } from '@temporalio/worker';
import { conciseLine } from '../../workers/logging';

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
