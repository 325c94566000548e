/**
 * Workflow histories for replay tests: exported from a running server as Temporal's JSON format
 * (the same as `temporal workflow show --output json`), one file per run under test/histories/.
 * The file name carries the workflow type and the URI-encoded id, because a history does not record its id.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { History } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = join(__dirname, '..', 'test', 'histories');

export interface RecordedHistory { file: string; workflowType: string; workflowId: string; events: number }

export function historyFileName(workflowType: string, workflowId: string): string {
  return `${workflowType}__${encodeURIComponent(workflowId)}.json`;
}

/** Exports the latest completed run of each workflow type matched by the query (or by explicit ids). */
export async function recordHistories(client: Client, opts: { query?: string; ids?: string[]; perType?: number; outDir?: string }): Promise<RecordedHistory[]> {
  const outDir = opts.outDir ?? HISTORIES_DIR;
  mkdirSync(outDir, { recursive: true });
  const picked: Array<{ workflowId: string; runId: string; type: string }> = [];
  if (opts.ids?.length) {
    for (const id of opts.ids) {
      const d = await client.workflow.getHandle(id).describe();
      picked.push({ workflowId: id, runId: d.runId, type: d.type });
    }
  } else {
    const perType = new Map<string, number>();
    const query = opts.query ?? 'ExecutionStatus = "Completed"';
    for await (const w of client.workflow.list({ query })) {
      const n = perType.get(w.type) ?? 0;
      if (n >= (opts.perType ?? 1)) continue;
      perType.set(w.type, n + 1);
      picked.push({ workflowId: w.workflowId, runId: w.runId, type: w.type });
    }
  }
  const out: RecordedHistory[] = [];
  for (const p of picked) {
    const history = await client.workflow.getHandle(p.workflowId, p.runId).fetchHistory();
    const file = historyFileName(p.type, p.workflowId);
    writeFileSync(join(outDir, file), historyToJSON(history));
    out.push({ file, workflowType: p.type, workflowId: p.workflowId, events: history.events?.length ?? 0 });
  }
  return out;
}

export interface StoredHistory { file: string; workflowId: string; history: History }

export function loadHistories(dir = HISTORIES_DIR): StoredHistory[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      workflowId: decodeURIComponent(file.replace(/\.json$/, '').split('__')[1] ?? file),
      history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))),
    }));
}
