/**
 * A dropped object the files pipeline does not take (an unknown extension) is never skipped in
 * silence: it becomes a load with status 'ignored' (`etl runs`, etl.loads) and one 'bad_input'
 * alert (`etl alerts`, the webhook's outbox). Keyed by object key and ETag like a loaded file, so a
 * run that sees it again records nothing new, and a renamed or replaced object is recorded anew.
 */
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { PURCHASE_EXTENSIONS } from '../../contract/layout';

export interface IgnoredObject { key: string; etag: string; size: number; lastModified?: Date }

function currentRun(): { workflowId: string; runId: string } {
  try {
    const { workflowExecution } = Context.current().info;
    if (workflowExecution) return { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId };
  } catch {
    // Not in an activity: a script or a benchmark.
  }
  return { workflowId: 'outside-a-workflow', runId: 'none' };
}

export const ignoredLoadId = (o: Pick<IgnoredObject, 'key' | 'etag'>) => `files/${o.key}@${o.etag}`;

/** Records the objects not seen before; returns their keys. */
export async function recordIgnoredFiles(staging: Pool, objects: readonly IgnoredObject[]): Promise<string[]> {
  if (objects.length === 0) return [];
  const reason = (o: IgnoredObject) =>
    `${o.key} (${o.size} bytes) was not loaded: a purchase file's name must end in ${PURCHASE_EXTENSIONS.join(', ')}. Rename it under the drop prefix to load it, or move it elsewhere.`;
  const { rows } = await staging.query<{ load_id: string; message: string }>(
    `insert into etl.loads (load_id, pipeline, source, status, finished_at, detail)
     select o.id, 'files', 'purchases', 'ignored', now(), jsonb_build_object('key', o.key, 'etag', o.etag, 'bytes', o.bytes, 'reason', o.reason)
     from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) as o(id, key, etag, bytes, reason)
     on conflict (load_id) do nothing
     returning load_id, detail->>'reason' as message`,
    [objects.map(ignoredLoadId), objects.map((o) => o.key), objects.map((o) => o.etag), objects.map((o) => o.size), objects.map(reason)],
  );
  if (rows.length === 0) return [];
  const run = currentRun();
  await staging.query(
    `insert into etl.alerts (alert_id, pipeline, kind, message, workflow_id, run_id)
     select 'ignored/' || r.id, 'files', 'bad_input', r.message, $3, $4 from unnest($1::text[], $2::text[]) as r(id, message)
     on conflict (alert_id) do nothing`,
    [rows.map((r) => r.load_id), rows.map((r) => r.message), run.workflowId, run.runId],
  );
  return rows.map((r) => r.load_id.slice('files/'.length, r.load_id.lastIndexOf('@')));
}
