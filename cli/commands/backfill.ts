import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { loadConfig } from '../../config';
import { makeTemporalClient, workflowUiUrl } from '../../lib/temporal';
import { backfillWorkflow, progressQuery } from '../../workflows/backfill';
import { DEFAULT_RUN_SIZES, invalidBackfill, invalidBackfillShape, invalidRunSizes, type RunSizes } from '../../workflows/backfill-plan';
import { PIPELINE_NAMES } from '../../workflows/partitions';
import { outcomeOf, renderBar, watchBackfill } from '../backfill-watch';
import { printData } from '../output';

interface StartOpts { from: string; to: string; concurrency: string; partitionsPerRun?: string; initial?: boolean; json?: boolean; detach?: boolean }

/** The id of a backfill: the same request gets the same id, so a cancelled one can simply be run again. */
export function backfillId(pipelines: string[], from: string, to: string): string {
  return `backfill/${pipelines.join(',')}/${from}/${to}`;
}

export function parseBackfillArgs(pipelinesArg: string | undefined, opts: StartOpts) {
  const pipelines = (pipelinesArg ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const concurrency = Number(opts.concurrency);
  // `--to now`: up to the current minute (the id then names that minute; loads are idempotent, so a later re-run overlaps harmlessly).
  if (opts.to === 'now') opts = { ...opts, to: new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString() };
  const bad = invalidBackfillShape({ pipelines, from: opts.from, to: opts.to, concurrency });
  if (bad) throw new Error(bad);
  // Canonical order, so `transform,orders` and `orders,transform` are the same backfill (same id).
  const ordered = PIPELINE_NAMES.filter((p) => pipelines.includes(p));
  const runSizes = Object.fromEntries(ordered.map((p) => [p, DEFAULT_RUN_SIZES[p]])) as RunSizes;
  // An initial load: the whole history of each pipeline as one run (README, "Running it for real").
  if (opts.initial) for (const p of ordered) runSizes[p] = 0;
  Object.assign(runSizes, parseRunSizes(opts.partitionsPerRun));
  const badSizes = invalidRunSizes(runSizes, ordered);
  if (badSizes) throw new Error(`${badSizes} (--partitions-per-run)`);
  const input = { pipelines: ordered, from: new Date(opts.from).toISOString(), to: new Date(opts.to).toISOString(), concurrency, runSizes };
  // The plan's size depends on the run sizes.
  const tooBig = invalidBackfill(input);
  if (tooBig) throw new Error(tooBig);
  return { input, workflowId: backfillId(input.pipelines, input.from, input.to) };
}

/** `orders=6,transform=24`; `1` everywhere with `all=1`. Numbers are checked by invalidRunSizes. */
export function parseRunSizes(text: string | undefined): RunSizes {
  const out: Record<string, number> = {};
  for (const entry of (text ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [name = '', value = ''] = entry.split('=').map((x) => x.trim());
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (name === 'all') for (const p of PIPELINE_NAMES) out[p] = n;
    else out[name] = n;
  }
  return out as RunSizes;
}

function notFound(id: string) {
  return (err: unknown): never => {
    if (err instanceof WorkflowNotFoundError) throw new Error(`no backfill "${id}"; ids look like backfill/<pipelines>/<from>/<to> (etl runs --pipeline backfill --all lists them)`);
    throw err;
  };
}

export function register(program: Command): void {
  const backfill = program
    .command('backfill')
    .description('Backfill pipelines over a date range with bounded concurrency and a progress bar (`etl backfill orders,transform --from 2026-01-01 --to 2026-01-02`).')
    .argument('[pipelines]', 'comma-separated: orders, catalog, files, transform')
    .option('--from <iso>', 'start of the range, included (ISO 8601, UTC)')
    .option('--to <iso>', 'end of the range, excluded (ISO 8601, UTC, or now)')
    .option('--concurrency <n>', 'runs at once', '4')
    .option('--partitions-per-run <spec>', `partitions one run covers, per pipeline, e.g. orders=6,transform=24; 0 = the whole range; a transform run covers whole ingestion runs; all=1 runs every partition on its own (default ${Object.entries(DEFAULT_RUN_SIZES).map(([p, n]) => `${p}=${n}`).join(',')}: a day of each ingestion pipeline per run, then one transform over the range)`)
    .option('--initial', 'an initial load: each pipeline\'s whole range as one run (same as --partitions-per-run all=0; --to may be "now")')
    .option('--json', 'print progress and the outcome as JSON lines')
    .option('--detach', 'start it and return; follow with `etl backfill status <id>`')
    .action(async (pipelinesArg: string | undefined, opts: StartOpts) => {
      if (!pipelinesArg) {
        backfill.help({ error: true });
      }
      const { input, workflowId } = parseBackfillArgs(pipelinesArg, opts);
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      try {
        let handle = client.workflow.getHandle<typeof backfillWorkflow>(workflowId);
        try {
          handle = await client.workflow.start(backfillWorkflow, { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId, args: [input] });
          if (!opts.json) console.error(`started ${workflowId}\n  ${workflowUiUrl(config, workflowId)}`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          console.error(`${workflowId} is already running; following it (its own concurrency applies)`);
        }
        if (opts.detach) {
          printData([{ workflowId, ui: workflowUiUrl(config, workflowId), status: `etl backfill status '${workflowId}'` }], opts);
          return;
        }
        if (!opts.json) console.error('Ctrl-C stops watching; the backfill goes on (etl backfill cancel <id> stops it).');
        process.exitCode = await watchBackfill(handle, opts);
      } finally {
        await client.connection.close();
      }
    });

  backfill
    .command('status <id>')
    .description('Progress of a running backfill, or the outcome of a finished one.')
    .option('--json', 'print JSON')
    .action(async (id: string, own: { json?: boolean }) => {
      // `backfill` has a --json of its own, which commander gives the parent: read both.
      const opts = { json: own.json ?? backfill.opts<{ json?: boolean }>().json };
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      try {
        const handle = client.workflow.getHandle<typeof backfillWorkflow>(id);
        const desc = await handle.describe().catch(notFound(id));
        if (desc.status.name === 'RUNNING') {
          const p = await handle.query(progressQuery);
          if (opts.json) console.log(JSON.stringify({ workflowId: id, status: 'RUNNING', ...p }));
          else console.log(`${id}: running\n${renderBar(p)}\n${workflowUiUrl(config, id)}`);
          return;
        }
        const o = await outcomeOf(handle);
        const out = 'out' in o ? o.out : undefined;
        if (opts.json) console.log(JSON.stringify({ workflowId: id, status: desc.status.name, ...out, ...('message' in o ? { message: o.message } : {}) }));
        else {
          console.log(`${id}: ${desc.status.name.toLowerCase()}${out ? `\n${renderBar(out)}` : ''}${'message' in o ? `\n${o.message}` : ''}\n${workflowUiUrl(config, id)}`);
          for (const f of out?.failedPartitions ?? []) console.log(`  ${f.workflowId}: ${f.error}`);
          const more = (out?.failed ?? 0) - (out?.failedPartitions.length ?? 0);
          // The chain's first run id: a backfill started again under the same id has a list of its own.
          const firstRunId = (desc.raw.workflowExecutionInfo as { firstRunId?: string | null } | null | undefined)?.firstRunId;
          const run = firstRunId ? ` and run_id = '${firstRunId}'` : '';
          if (more > 0) console.log(`  … and ${more} more: select workflow_id, error from etl.backfill_failures where backfill_id = '${id.replace(/'/g, "''")}'${run} (staging database)`);
        }
        if (o.kind !== 'completed') process.exitCode = 1;
      } finally {
        await client.connection.close();
      }
    });

  backfill
    .command('cancel <id>')
    .description('Cancel a backfill: its running partitions are cancelled and it ends as cancelled. Run it again to resume.')
    .action(async (id: string) => {
      const config = loadConfig();
      const client = await makeTemporalClient(config);
      try {
        const handle = client.workflow.getHandle<typeof backfillWorkflow>(id);
        await handle.cancel().catch(notFound(id));
        const o = await outcomeOf(handle);
        console.log(o.kind === 'cancelled' ? `${id}: cancelled; its running partitions were cancelled` : `${id}: ended ${o.kind} before the cancellation took effect`);
      } finally {
        await client.connection.close();
      }
    });
}
