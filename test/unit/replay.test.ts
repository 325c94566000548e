/**
 * Replays every recorded history under test/histories/ against the current workflow code, with one
 * bundle shared by all. A workflow change that would break running executions fails here; make
 * such changes with patched() (see README, "Changing workflows").
 */
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadHistories } from '../../lib/histories';
import { modulePath } from '../../lib/module-path';
import { WORKFLOWS_PATH } from '../../workers/worker';

const histories = loadHistories();
const quiet = { logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } };

describe('replay of recorded histories', () => {
  let bundle: WorkflowBundle;
  beforeAll(async () => {
    bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...quiet });
  }, 120_000);

  it('has histories to replay, including the wiring check', () => {
    expect(histories.some((h) => h.file.startsWith('wiringCheckWorkflow__'))).toBe(true);
  });

  it('replays every history without a determinism error', async () => {
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'replay-test' }, histories)) {
      results.push({ workflowId: r.workflowId, error: r.error ? `${r.error.name}: ${r.error.message}` : undefined });
    }
    expect(results).toHaveLength(histories.length);
    expect(results.filter((r) => r.error)).toEqual([]);
  }, 300_000);

  it('fails on a deliberately non-deterministic change', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: modulePath(join(__dirname, '..', 'fixtures', 'nondeterministic', 'workflows')), ...quiet });
    const smoke = histories.find((h) => h.file.startsWith('wiringCheckWorkflow__'));
    if (!smoke) throw new Error('no wiringCheckWorkflow history recorded');
    await expect(Worker.runReplayHistory({ workflowBundle: changed, replayName: 'replay-nondeterminism' }, smoke.history, smoke.workflowId))
      .rejects.toBeInstanceOf(DeterminismViolationError);
  }, 300_000);
});
