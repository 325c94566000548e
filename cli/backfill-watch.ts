/**
 * Follows a backfill: queries its progress once a second and draws a bar (TTY), a line per
 * change (pipe), or JSON lines (--json); then reports the outcome. Returns the exit code:
 * 0 all partitions loaded, 1 some failed (named) or the backfill was cancelled.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { progressQuery, type BackfillOutput, type BackfillProgress, type backfillWorkflow } from '../workflows/backfill';

export function renderBar(p: BackfillProgress, width = 30): string {
  const done = p.completed + p.failed + p.skipped;
  const filled = p.total === 0 ? width : Math.round((done / p.total) * width);
  const pct = p.total === 0 ? 100 : Math.floor((done / p.total) * 100);
  const extra = [p.failed ? `${p.failed} failed` : '', p.skipped ? `${p.skipped} skipped` : ''].filter(Boolean).join(', ');
  // Coalesced runs cover several partitions each: say both, so progress still speaks in partitions.
  const parts = p.partitions && p.partitions.total !== p.total ? `  (partitions ${p.partitions.completed + p.partitions.failed}/${p.partitions.total})` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${p.total} ${pct}%${parts}  running ${p.running}${extra ? `  ${extra}` : ''}${p.current ? `  at ${p.current}` : ''}`;
}

type Outcome = { kind: 'completed'; out: BackfillOutput } | { kind: 'failed'; out?: BackfillOutput; message: string } | { kind: 'cancelled' };

async function outcomeOf(handle: WorkflowHandle<typeof backfillWorkflow>): Promise<Outcome> {
  try {
    return { kind: 'completed', out: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    if (err.cause instanceof CancelledFailure) return { kind: 'cancelled' };
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    return { kind: 'failed', out: cause?.details?.[0] as BackfillOutput | undefined, message: cause?.message ?? err.cause?.message ?? err.message };
  }
}

export async function watchBackfill(handle: WorkflowHandle<typeof backfillWorkflow>, opts: { json?: boolean; intervalMs?: number }): Promise<number> {
  const tty = !opts.json && process.stdout.isTTY;
  let settled: Outcome | undefined;
  const result = outcomeOf(handle).then((o) => { settled = o; });
  let last = '';
  let lastLineAt = 0;
  while (!settled) {
    const p = await handle.query(progressQuery).catch(() => undefined); // Closed or between runs: skip a beat.
    if (p && !settled) {
      const line = opts.json ? JSON.stringify({ event: 'progress', ...p }) : renderBar(p);
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else if (line !== last && (opts.json || Date.now() - lastLineAt > 5000)) {
        console.log(line);
        lastLineAt = Date.now();
      }
      last = line;
    }
    await Promise.race([result, new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000))]);
  }
  await result;
  if (tty) process.stdout.write('\n');
  return report(handle.workflowId, settled, opts);
}

function report(id: string, o: Outcome, opts: { json?: boolean }): number {
  if (opts.json) {
    console.log(JSON.stringify({ event: o.kind, workflowId: id, ...('out' in o ? o.out : {}), ...('message' in o ? { message: o.message } : {}) }));
    return o.kind === 'completed' ? 0 : 1;
  }
  if (o.kind === 'completed') {
    const runs = o.out.partitions && o.out.partitions.total !== o.out.total ? ` in ${o.out.total} run${o.out.total === 1 ? '' : 's'}` : '';
    console.log(`backfill ${id}: ${renderBar(o.out)}\nall ${o.out.partitions?.total ?? o.out.total} partitions done${runs} (${o.out.skipped} were already running elsewhere).`);
    return 0;
  }
  if (o.kind === 'cancelled') {
    console.error(`backfill ${id} was cancelled; run the same command again to resume (loaded partitions change nothing).`);
    return 1;
  }
  console.error(`backfill ${id} failed: ${o.message}`);
  for (const f of o.out?.failedPartitions ?? []) console.error(`  ${f.workflowId}: ${f.error}`);
  return 1;
}

export { outcomeOf };
