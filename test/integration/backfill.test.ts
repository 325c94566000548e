import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBackfill } from '../../workflows/backfill-plan';
import { backfillWorkflow, progressQuery, type BackfillOutput, type BackfillProgress } from '../../workflows/backfill';
import { iso, orchestrationEnv, randomDay, sleepMs, waitFor, type OrchestrationEnv } from '../fixtures/orchestration/env';

describe('backfill workflow (real Temporal + PostgreSQL, test pipelines)', () => {
  let env: OrchestrationEnv;
  const day = randomDay().getTime();
  beforeAll(async () => {
    env = await orchestrationEnv('backfill');
  });
  afterAll(async () => env?.close());

  const q = <T extends Record<string, unknown>>(sql: string, params: unknown[]) => env.deps.staging.query<T>(sql, params).then((r) => r.rows);
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, [join(__dirname, '..', '..', 'bin', 'etl.js'), ...args], { env: { ...process.env, TEMPORAL_TASK_QUEUE: env.taskQueue } })
    .then((r) => ({ code: 0, stdout: r.stdout }), (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }));
  const start = (workflowId: string, input: Parameters<typeof backfillWorkflow>[0]) =>
    env.client.workflow.start(backfillWorkflow, { taskQueue: env.taskQueue, workflowId, args: [input] });

  it('runs every partition once in a sliding window, transform after its ingestion, and continues as new with a working progress query', async () => {
    const from = iso(day);
    const to = iso(day + 2 * 3600_000);
    const id = `backfill-test/can/${from}`;
    const ids = planBackfill(['orders', 'transform'], from, to).map((p) => p.workflowId);
    const seen: BackfillProgress[] = [];
    const queryErrors: string[] = [];
    const out = await env.run(async () => {
      const handle = await start(id, { pipelines: ['orders', 'transform'], from, to, concurrency: 3, maxChildrenPerRun: 5 });
      const result = handle.result();
      let done = false;
      void result.finally(() => { done = true; }).catch(() => undefined);
      while (!done) {
        await handle.query(progressQuery).then((p) => seen.push(p), (err: unknown) => queryErrors.push(err instanceof Error ? err.message : String(err)));
        await sleepMs(150);
      }
      return result;
    });
    expect(ids).toHaveLength(14);
    expect(out).toMatchObject({ total: 14, completed: 14, failed: 0, skipped: 0, running: 0, pending: 0, continuedAsNew: 2 });
    // The query kept answering across continue-as-new: never an error, a fixed total, counts that only grow.
    expect(queryErrors).toEqual([]);
    expect(seen.length).toBeGreaterThan(3);
    expect(new Set(seen.map((p) => p.total))).toEqual(new Set([14]));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.completed).toBeGreaterThanOrEqual(seen[i - 1]!.completed);
    expect(Math.max(...seen.map((p) => p.running))).toBeLessThanOrEqual(3);
    expect(seen.some((p) => p.continuedAsNew > 0 && p.completed < 14)).toBe(true);

    const runs = await q<{ workflow_id: string; backfill: boolean; started_at: Date; finished_at: Date }>(
      'select workflow_id, backfill, started_at, finished_at from orch_test.runs where workflow_id = any($1)', [ids]);
    expect(runs.map((r) => r.workflow_id).sort()).toEqual([...ids].sort());
    expect(runs.every((r) => r.backfill)).toBe(true);
    for (const t of runs.filter((r) => r.workflow_id.startsWith('transform/'))) {
      const hour = Date.parse(t.workflow_id.slice('transform/'.length));
      const ingestion = runs.filter((r) => r.workflow_id.startsWith('orders/') && Date.parse(r.workflow_id.slice(7)) >= hour && Date.parse(r.workflow_id.slice(7)) < hour + 3600_000);
      expect(ingestion).toHaveLength(6);
      for (const o of ingestion) expect(t.started_at.getTime()).toBeGreaterThanOrEqual(o.finished_at.getTime());
    }
    // Transform hours run one at a time, in order.
    const hours = runs.filter((r) => r.workflow_id.startsWith('transform/')).sort((a, b) => a.started_at.getTime() - b.started_at.getTime());
    expect(hours[1]!.started_at.getTime()).toBeGreaterThanOrEqual(hours[0]!.finished_at.getTime());
    const chain = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = "${id}"` })) chain.push(w.status.name);
    expect(chain.sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
  });

  it('cancels running children, ends cancelled, runs again under the same id, and a re-run changes nothing', async () => {
    const from = iso(day + 6 * 3600_000);
    const to = iso(day + 7 * 3600_000);
    const id = `backfill-test/cancel/${from}`;
    const ids = planBackfill(['files'], from, to).map((p) => p.workflowId);
    await q('insert into orch_test.control (workflow_id, delay_ms) select unnest($1::text[]), 60000 on conflict (workflow_id) do update set delay_ms = 60000', [ids]);
    const input = { pipelines: ['files' as const], from, to, concurrency: 2 };
    const running = await env.run(async () => {
      const handle = await start(id, input);
      const p = await waitFor('two running children', async () => {
        const pr = await handle.query(progressQuery);
        return pr.running === 2 ? pr : undefined;
      });
      expect((await cli('backfill', 'cancel', id)).stdout).toContain(`${id}: cancelled`);
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      return p.runningIds;
    });
    expect((await env.client.workflow.getHandle(id).describe()).status.name).toBe('CANCELLED');
    for (const child of running) expect((await env.client.workflow.getHandle(child).describe()).status.name).toBe('CANCELLED');

    await q('update orch_test.control set delay_ms = 0 where workflow_id = any($1)', [ids]);
    const checksum = async () => (await q<{ n: number; sum: string }>(
      `select count(*)::int as n, md5(string_agg(o.workflow_id || o.payload || l.status || l.received || l.loaded || l.duplicates, ',' order by o.workflow_id)) as sum
       from orch_test.output o join etl.loads l on l.load_id = o.workflow_id || '/fake' where o.workflow_id = any($1)`, [ids]))[0];
    const first = await env.run(async () => (await start(id, input)).result());
    expect(first).toMatchObject({ total: 12, completed: 12, failed: 0 });
    const before = await checksum();
    expect(before?.n).toBe(12);
    const runsBefore = (await q<{ n: number }>('select count(*)::int as n from orch_test.runs where workflow_id = any($1)', [ids]))[0]?.n ?? 0;

    const second = await env.run(async () => (await start(id, input)).result());
    expect(second).toMatchObject({ total: 12, completed: 12, failed: 0 });
    expect(await checksum()).toEqual(before);
    // The re-run really ran every partition again; it just changed nothing.
    const runsAfter = (await q<{ n: number }>('select count(*)::int as n from orch_test.runs where workflow_id = any($1)', [ids]))[0]?.n ?? 0;
    expect(runsAfter - runsBefore).toBe(12);
  });

  it('fails naming the failed partitions, and does not run a transform hour whose ingestion failed', async () => {
    const from = iso(day + 10 * 3600_000);
    const to = iso(day + 11 * 3600_000);
    const bad = `orders/${iso(day + 10 * 3600_000 + 20 * 60_000)}`;
    await q('insert into orch_test.control (workflow_id, fail) values ($1, true) on conflict (workflow_id) do update set fail = true', [bad]);
    const id = `backfill-test/fail/${from}`;
    const err = await env.run(async () => (await start(id, { pipelines: ['orders', 'transform'], from, to })).result().catch((e: unknown) => e));
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('BackfillPartitionsFailed');
    expect(failure.message).toContain(bad);
    const out = failure.details?.[0] as BackfillOutput;
    expect(out).toMatchObject({ total: 7, completed: 5, failed: 2 });
    expect(out.failedPartitions.map((f) => f.workflowId)).toEqual([bad, `transform/${from}`]);
    expect(out.failedPartitions[1]?.error).toContain(`not run: ${bad} failed`);
    const ran = await q('select 1 from orch_test.runs where workflow_id = $1', [`transform/${from}`]);
    expect(ran).toHaveLength(0);
  });

  it('a backfill where every partition fails carries only counts and the first failures, and lists every one in etl.backfill_failures', async () => {
    const from = iso(day + 12 * 3600_000);
    const to = iso(day + 24 * 3600_000);
    const plan = planBackfill(['orders', 'transform'], from, to);
    const orders = plan.filter((p) => p.pipeline === 'orders').map((p) => p.workflowId);
    await q('insert into orch_test.control (workflow_id, fail) select unnest($1::text[]), true on conflict (workflow_id) do update set fail = true', [orders]);
    const id = `backfill-test/all-fail/${from}`;
    const { err, carried } = await env.run(async () => {
      const handle = await start(id, { pipelines: ['orders', 'transform'], from, to, concurrency: 8, maxChildrenPerRun: 20 });
      const e = await handle.result().catch((x: unknown) => x);
      // The last run of the chain: the state it was started with is what continue-as-new carried.
      const history = await env.client.workflow.getHandle(id).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      return { err: e, carried: payload ?? new Uint8Array() };
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('BackfillPartitionsFailed');
    expect(failure.message).toContain(`${plan.length} of ${plan.length} partitions failed`);
    const out = failure.details?.[0] as BackfillOutput;
    expect(out).toMatchObject({ total: plan.length, completed: 0, failed: plan.length, pending: 0 });
    expect(out.continuedAsNew).toBeGreaterThanOrEqual(3);
    expect(out.failedPartitions).toHaveLength(50);
    const state = (JSON.parse(Buffer.from(carried).toString('utf8')) as { state?: { failed: unknown[]; failedCount: number; recentFailed: number[] } }).state;
    expect(state?.failedCount).toBeGreaterThan(50);
    expect(state?.failed.length).toBe(50);
    expect(state?.recentFailed.length).toBeLessThanOrEqual(30);
    expect(carried.byteLength).toBeLessThan(40_000);
    const listed = await q<{ workflow_id: string; error: string }>('select workflow_id, error from etl.backfill_failures where backfill_id = $1 order by workflow_id', [id]);
    expect(listed.map((r) => r.workflow_id)).toEqual(plan.map((p) => p.workflowId).sort());
    expect(listed.find((r) => r.workflow_id.startsWith('transform/'))?.error).toMatch(/^not run: orders\/.* failed/);
  });

  it('runs a three-year backfill of all four pipelines: each run finds its items by arithmetic, continues as new, and cancels', async () => {
    const from = iso(day + 86_400_000);
    const to = iso(day + 86_400_000 + 1096 * 86_400_000);
    const id = `backfill-test/three-years/${from}`;
    const progress = await env.run(async () => {
      const handle = await start(id, { pipelines: ['orders', 'catalog', 'files', 'transform'], from, to, concurrency: 2, maxChildrenPerRun: 3 });
      const p = await waitFor('two continue-as-new', async () => {
        const q = await handle.query(progressQuery).catch(() => undefined);
        return q && q.continuedAsNew >= 2 ? q : undefined;
      });
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      return p;
    });
    expect(progress.total).toBe(1096 * 24 * (6 + 2 + 12 + 1));
    expect(progress.failed).toBe(0);
    // The first items of the plan ran, in plan order: the first hour's partitions by their end.
    expect(progress.completed).toBeGreaterThanOrEqual(6);
  });

  it('waits for a partition that another run has, then runs it itself', async () => {
    const from = iso(day + 16 * 3600_000);
    const to = iso(day + 16 * 3600_000 + 15 * 60_000);
    const busy = `files/${iso(day + 16 * 3600_000 + 5 * 60_000)}`;
    await q('insert into orch_test.control (workflow_id, delay_ms) values ($1, 5000) on conflict (workflow_id) do update set delay_ms = 5000', [busy]);
    const out = await env.run(async () => {
      await env.client.workflow.start('filesPipelineWorkflow', { taskQueue: env.taskQueue, workflowId: busy, args: [{ partitionStart: busy.slice(6), partitionEnd: iso(Date.parse(busy.slice(6)) + 5 * 60_000) }] });
      await waitFor('the other run to start', async () => (await q('select 1 from orch_test.runs where workflow_id = $1', [busy])).length > 0);
      await q('update orch_test.control set delay_ms = 0 where workflow_id = $1', [busy]);
      return (await start(`backfill-test/wait/${from}`, { pipelines: ['files'], from, to, alreadyRunningPollSeconds: 1 })).result();
    });
    expect(out).toMatchObject({ total: 3, completed: 3, failed: 0, skipped: 0 });
    const runs = await q<{ backfill: boolean; started_at: Date; finished_at: Date }>('select backfill, started_at, finished_at from orch_test.runs where workflow_id = $1 order by started_at', [busy]);
    expect(runs.map((r) => r.backfill)).toEqual([false, true]);
    expect(runs[1]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[0]!.finished_at.getTime());
  });

  it('etl backfill prints JSON progress lines, exits 1 naming the failed partition, and status reports it', async () => {
    const from = iso(day + 14 * 3600_000);
    const to = iso(day + 14 * 3600_000 + 30 * 60_000);
    const bad = `files/${iso(day + 14 * 3600_000 + 10 * 60_000)}`;
    await q('insert into orch_test.control (workflow_id, fail) values ($1, true) on conflict (workflow_id) do update set fail = true', [bad]);
    // The schedule's grain (the CLI coalesces by default; the coalesced case is below).
    const run = await env.run(() => cli('backfill', 'files', '--from', from, '--to', to, '--concurrency', '2', '--json', '--partitions-per-run', 'all=1'));
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.event === 'progress').length).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({ event: 'failed', workflowId: `backfill/files/${from}/${to}`, total: 6, completed: 5, failed: 1 });
    expect(JSON.stringify(lines.at(-1))).toContain(bad);
    const status = await cli('backfill', 'status', `backfill/files/${from}/${to}`, '--json');
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'FAILED', total: 6, failed: 1 });

    // etl runs: the failed partition from visibility, and a loaded one joined with its etl.loads counts.
    type Run = { workflowId: string; status: string; loads: number; received: number; loaded: number; ui: string };
    const good = `files/${from}`;
    const runs = await waitFor('both runs in visibility', async () => {
      const r = await cli('runs', '--pipeline', 'files', '--all', '--limit', '200', '--json');
      const rows = JSON.parse(r.stdout) as Run[];
      return rows.some((x) => x.workflowId === bad) && rows.some((x) => x.workflowId === good) ? rows : undefined;
    });
    expect(runs.find((x) => x.workflowId === bad)).toMatchObject({ status: 'FAILED', loads: 0 });
    expect(runs.find((x) => x.workflowId === good)).toMatchObject({ status: 'COMPLETED', loads: 1, received: 1 });
    expect(runs.find((x) => x.workflowId === good)?.ui).toContain(encodeURIComponent(good));
    const failedOnly = JSON.parse((await cli('runs', '--pipeline', 'files', '--status', 'failed', '--limit', '200', '--json')).stdout) as Run[];
    expect(failedOnly.every((x) => x.status === 'FAILED')).toBe(true);
    expect(failedOnly.some((x) => x.workflowId === bad)).toBe(true);
  });

  it('a coalesced run that fails names the window and the partitions it covered', async () => {
    const from = iso(day + 15 * 3600_000);
    const to = iso(day + 15 * 3600_000 + 30 * 60_000);
    const runId = `files/${from}..${to}`;
    await q('insert into orch_test.control (workflow_id, fail) values ($1, true) on conflict (workflow_id) do update set fail = true', [runId]);
    const run = await env.run(() => cli('backfill', 'files', '--from', from, '--to', to, '--json'));
    expect(run.code).toBe(1);
    const last = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(last).toMatchObject({ event: 'failed', total: 1, completed: 0, failed: 1, partitions: { total: 6, completed: 0, failed: 6 } });
    expect(JSON.stringify(last.failedPartitions)).toContain(runId);
  });
});
