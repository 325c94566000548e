/**
 * The test suite's Temporal namespace: test runs never show in the user's `default` namespace
 * (UI, `etl runs`, schedules). The global setup registers it; every test file runs in it.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import type { Config } from '../../config';
import { ensureSearchAttributes } from '../../services/temporal';

/** The namespace every integration test runs in. */
export const TEST_NAMESPACE = 'etl-test';
const ALREADY_EXISTS = 6; // gRPC status

/** Registers TEST_NAMESPACE if missing, with the project's search attributes, and waits until both answer. */
export async function ensureTestNamespace(config: Config): Promise<string> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    let note = `namespace ${TEST_NAMESPACE} exists`;
    try {
      await connection.workflowService.registerNamespace({ namespace: TEST_NAMESPACE, workflowExecutionRetentionPeriod: msToTs('1 day'), description: 'shop-etl integration tests' });
      note = `registered namespace ${TEST_NAMESPACE}`;
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
    // A namespace just registered takes a few seconds to reach every service of the server.
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        const added = await ensureSearchAttributes(connection, TEST_NAMESPACE);
        if (added.length) note += `, added search attributes ${added.join(', ')}`;
        await connection.workflowService.listWorkflowExecutions({ namespace: TEST_NAMESPACE, pageSize: 1, query: 'EtlPipeline = "none"' });
        return note;
      } catch (err) {
        if (Date.now() > end) throw new Error(`namespace ${TEST_NAMESPACE} is not usable after 60 s: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}
