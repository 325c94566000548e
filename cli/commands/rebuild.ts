import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { loadConfig } from '../../config';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { isRawSource, RAW_SOURCES, type RawSource } from '../../activities/rebuild';
import { rebuildProgressQuery, rebuildWorkflow, type RebuildInput, type RebuildProgress } from '../../workflows/rebuild';

/** The id of a rebuild: the same request gets the same id, so a killed or cancelled one is simply run again (it resumes). */
export function rebuildId(input: RebuildInput): string {
  return `rebuild/${(input.sources ?? ['all']).join(',')}/${input.from ?? 'all'}/${input.to ?? 'all'}`;
}

export function parseRebuildArgs(opts: { sources?: string; from?: string; to?: string; concurrency: string; transform: boolean; group?: string }): RebuildInput {
  const sources = opts.sources?.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = sources?.filter((s) => !isRawSource(s));
  if (bad?.length) throw new Error(`unknown source ${bad.join(', ')}; use ${RAW_SOURCES.join(', ')}`);
  for (const d of [opts.from, opts.to]) if (d !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new Error(`--from and --to are raw partition dates YYYY-MM-DD, got ${d}`);
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer, got ${opts.concurrency}`);
  return {
    ...(sources ? { sources: RAW_SOURCES.filter((s) => sources.includes(s)) as RawSource[] } : {}),
    ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}),
    concurrency, transform: opts.transform, ...(opts.group ? { consumerGroup: opts.group } : {}),
  };
}

/** A progress bar over the units (a source's raw date, or a Kafka partition), then the counts. */
export function rebuildLine(p: RebuildProgress, width = 24): string {
  const t = p.totals;
  const filled = p.total === 0 ? (p.phase === 'done' ? width : 0) : Math.round((p.done / p.total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.phase.padEnd(9)} ${p.done}/${p.total} units  ${t.objects} objects, ${t.received} records: ${t.loaded} loaded, ${t.duplicates} duplicates, ${t.quarantined} quarantined`
    + `${p.inexact ? `  ${p.inexact} inexact` : ''}${p.running.length ? `  at ${p.running.join(' ')}` : ''}`;
}

export function register(program: Command): void {
  program
    .command('rebuild')
    .description('Rebuild staging, analytics and the curated lake from the raw zone alone (docs/recovery.md): replays raw through the live validation and merge, then runs the transform. Resumable and idempotent.')
    .requiredOption('--from-raw', 'replay the raw zone (the only mode)')
    .option('--sources <list>', `comma-separated, default all: ${RAW_SOURCES.join(',')}`)
    .option('--from <date>', 'first raw partition (dt, YYYY-MM-DD)')
    .option('--to <date>', 'last raw partition (dt, YYYY-MM-DD)')
    .option('--concurrency <n>', 'raw partitions replayed at once', '4')
    .option('--group <name>', 'consumer group whose Kafka offsets the events restore (default the stream\'s)')
    .option('--no-transform', 'replay into staging only')
    .option('--detach', 'start it and return')
    .action(async (opts: { sources?: string; from?: string; to?: string; concurrency: string; transform: boolean; group?: string; detach?: boolean }) => {
      const config = loadConfig();
      const input = parseRebuildArgs(opts);
      const client = await makeTemporalClient(config);
      try {
        const workflowId = rebuildId(input);
        const handle = await client.workflow.start(rebuildWorkflow, { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId, args: [input] }).catch((err: unknown) => {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof rebuildWorkflow>(workflowId);
          throw err;
        });
        console.error(`rebuild ${workflowId}: ${workflowUiUrl(config, workflowId)}`);
        if (opts.detach) return;
        const result = handle.result();
        let done = false;
        void result.finally(() => { done = true; }).catch(() => undefined);
        let last = '';
        while (!done) {
          const p = await handle.query(rebuildProgressQuery).catch(() => undefined);
          const text = p ? rebuildLine(p) : '';
          if (text && text !== last) console.error(text);
          last = text || last;
          await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
        }
        try {
          const out = await result;
          console.error(rebuildLine(out));
          for (const x of out.inexactObjects) console.error(`inexact: ${x}`);
          console.log(JSON.stringify(out));
        } catch (err) {
          if (!(err instanceof WorkflowFailedError)) throw err;
          // The reason is at the bottom of the chain (workflow <- activity <- the activity's error).
          const chain: string[] = [];
          for (let e: unknown = err.cause; e instanceof Error; e = e.cause) chain.push(e.message);
          console.error(`rebuild failed: ${chain[chain.length - 1] ?? err.message}`);
          process.exitCode = 1;
        }
      } finally {
        await client.connection.close();
      }
    });
}
