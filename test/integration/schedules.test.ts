import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchedules } from '../../schedules/apply';
import { deleteSchedules } from '../../schedules/delete';
import { listSchedules } from '../../schedules/list';
import { CATCHUP_WINDOW, SCHEDULE_TIMING, scheduleId } from '../../schedules/specs';
import { triggerSchedule } from '../../schedules/trigger';
import { backfillWorkflow } from '../../workflows/backfill';
import { planBackfill } from '../../workflows/backfill-plan';
import { partitionEndingAt, PIPELINE_NAMES } from '../../workflows/partitions';
import { scheduleMonitorWorkflow } from '../../workflows/monitor';
import { scheduledPipelineWorkflow, TemporalScheduledStartTime, type ScheduledPipelineOutput } from '../../workflows/scheduled';
import { EtlPartition, EtlPipeline } from '../../workflows/search-attributes';
import { iso, orchestrationEnv, randomDay, sleepMs, waitFor, type OrchestrationEnv } from '../fixtures/orchestration/env';

describe('schedules and scheduled runs (real Temporal + PostgreSQL, test pipelines)', () => {
  const prefix = `t${randomUUID().slice(0, 8)}-`;
  const ids = PIPELINE_NAMES.map((p) => scheduleId(p, prefix));
  const monitorId = `${prefix}monitor`;
  const churnId = `${prefix}churn`;
  const freshnessId = `${prefix}freshness`;
  const blockedId = `${prefix}blocked`;
  const hooks: Array<{ key: string | undefined; body: Record<string, unknown> }> = [];
  /** While set, the webhook answers 503 to everything, and `refused` counts the tries by alert id. */
  let webhookDown = false;
  const refused: Array<string | undefined> = [];
  let server: Server;
  let env: OrchestrationEnv;
  const day = randomDay().getTime();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        if (webhookDown) {
          refused.push(req.headers['idempotency-key'] as string | undefined);
          res.writeHead(503).end();
          return;
        }
        hooks.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    env = await orchestrationEnv('schedules', { ...process.env, ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` });
  });
  afterAll(async () => {
    if (env) {
      await deleteSchedules(env.client, [...ids, monitorId, churnId, freshnessId, blockedId]);
      await env.close();
    }
    await new Promise((r) => server?.close(r));
  });

  const ctx = () => ({ taskQueue: env.taskQueue, idPrefix: prefix, workflowIdPrefix: `scheduled/${prefix}`, startPaused: true });
  const q = <T extends Record<string, unknown>>(sql: string, params: unknown[]) => env.deps.staging.query<T>(sql, params).then((r) => r.rows);

  it('apply twice leaves exactly one schedule per id, updated in place and still paused', async () => {
    const first = await applySchedules(env.client, ctx());
    expect(first.map((a) => a.change)).toEqual(['created', 'created', 'created', 'created', 'created', 'created', 'created']);
    const second = await applySchedules(env.client, { ...ctx(), slaMinutes: { orders: 3 } });
    expect(second.map((a) => [a.scheduleId, a.change])).toEqual([...ids, monitorId, churnId, freshnessId].map((id) => [id, 'updated']));
    const rows = await waitFor('the listing to show the seven schedules', async () => {
      const r = await listSchedules(env.client, prefix);
      return r.length >= 7 ? r : undefined;
    });
    expect(rows.map((r) => r.scheduleId)).toEqual([...ids, monitorId, churnId, freshnessId].sort());
    expect(rows.every((r) => r.paused)).toBe(true);
    expect(rows.map((r) => r.workflowType)).toEqual(rows.map((r) => ({ [monitorId]: 'scheduleMonitorWorkflow', [churnId]: 'churnWorkflow', [freshnessId]: 'freshnessWorkflow' })[r.scheduleId] ?? 'scheduledPipelineWorkflow'));
    const churn = await env.client.schedule.getHandle(churnId).describe();
    expect(churn.spec.calendars).toEqual([expect.objectContaining({ dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }], hour: [{ start: 3, end: 3, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] })]);
    // Paused and new: nothing waits behind a running start, nothing was dropped.
    expect(rows.map((r) => [r.buffered, r.dropped])).toEqual(rows.map(() => [0, 0]));
    const orders = await env.client.schedule.getHandle(scheduleId('orders', prefix)).describe();
    expect(orders.action.type === 'startWorkflow' && orders.action.args).toEqual([{ pipeline: 'orders', lagMinutes: 2, slaMinutes: 3 }]);
    expect(orders.policies.overlap).toBe('BUFFER_ALL');
    expect(orders.policies.catchupWindow).toBe(86_400_000);
    expect(CATCHUP_WINDOW).toBe('1 day');
    const transform = await env.client.schedule.getHandle(scheduleId('transform', prefix)).describe();
    expect(transform.spec.intervals).toEqual([{ every: 3_600_000, offset: 300_000 }]);
  });

  it('a triggered run takes its window from its scheduled time: [T - lag - cadence, T - lag)', async () => {
    const id = scheduleId('transform', prefix);
    const out = await env.run(async () => {
      await triggerSchedule(env.client, id);
      const action = await waitFor('the triggered action', async () => (await env.client.schedule.getHandle(id).describe()).info.recentActions.at(-1));
      const handle = env.client.workflow.getHandle<typeof scheduledPipelineWorkflow>(action.action.workflow.workflowId);
      return { result: await handle.result(), desc: await handle.describe(), scheduledAt: action.scheduledAt };
    });
    const t = out.desc.typedSearchAttributes.get(TemporalScheduledStartTime);
    // The search attribute holds whole seconds; a trigger's time has milliseconds, a scheduled tick has none.
    expect(Math.abs((t?.getTime() ?? 0) - out.scheduledAt.getTime())).toBeLessThan(1000);
    expect(out.result.scheduledTime).toBe(t?.toISOString());
    const window = partitionEndingAt('transform', new Date((t?.getTime() ?? 0) - 5 * 60_000));
    expect(out.result).toMatchObject({ outcome: 'completed', childWorkflowId: `transform/${window.partitionStart}`, partitionStart: window.partitionStart, partitionEnd: window.partitionEnd });
    const child = await env.client.workflow.getHandle(out.result.childWorkflowId).describe();
    expect(child.typedSearchAttributes.get(EtlPipeline)).toBe('transform');
    expect(child.typedSearchAttributes.get(EtlPartition)).toBe(window.partitionStart);
    expect(out.desc.typedSearchAttributes.get(EtlPartition)).toBe(window.partitionStart);
  });

  it("Temporal's schedule backfill starts exactly the children the project's backfill starts", async () => {
    const id = scheduleId('files', prefix);
    const from = day + 3 * 3600_000;
    const to = from + 30 * 60_000;
    const expected = planBackfill(['files'], iso(from), iso(to)).map((p) => p.workflowId);
    const around = async (backfill: boolean) => (await q<{ workflow_id: string }>(
      `select distinct workflow_id from orch_test.runs where pipeline = 'files' and backfill = $1 and finished_at is not null
         and partition_start >= $2::timestamptz - interval '1 hour' and partition_start < $3::timestamptz + interval '1 hour'`,
      [backfill, iso(from), iso(to)])).map((r) => r.workflow_id).sort();
    await env.run(async () => {
      // Scheduled times T in [from + cadence + lag, to + lag], both ends included, cover windows [from, to).
      const lag = SCHEDULE_TIMING.files.lagMinutes * 60_000;
      await env.client.schedule.getHandle(id).backfill({ start: new Date(from + 5 * 60_000 + lag), end: new Date(to + lag), overlap: 'ALLOW_ALL' });
      await waitFor('the schedule backfill runs', async () => (await around(false)).length >= expected.length, 120_000);
      await (await env.client.workflow.start(backfillWorkflow, { taskQueue: env.taskQueue, workflowId: `backfill-test/same/${iso(from)}`, args: [{ pipelines: ['files'], from: iso(from), to: iso(to) }] })).result();
    });
    expect(await around(false)).toEqual([...expected].sort());
    expect(await around(true)).toEqual([...expected].sort());
  });

  it('a failed run raises one failed alert, sends it to the webhook once, and fails', async () => {
    const scheduledTime = iso(day + 5 * 3600_000);
    const window = partitionEndingAt('orders', scheduledTime);
    await q('insert into orch_test.control (workflow_id, fail) values ($1, true) on conflict (workflow_id) do update set fail = true', [`orders/${window.partitionStart}`]);
    const workflowId = `scheduled/${prefix}manual-fail`;
    const err = await env.run(async () => {
      const e = await env.client.workflow.execute(scheduledPipelineWorkflow, { taskQueue: env.taskQueue, workflowId, args: [{ pipeline: 'orders', scheduledTime }] }).catch((x: unknown) => x);
      // The webhook is the delivery child's to send, after the run has ended.
      await waitFor('the alert delivered', async () => (await q('select 1 from etl.alerts where workflow_id = $1 and delivered_at is not null', [workflowId])).length === 1);
      return e;
    });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toContain(`orders/${window.partitionStart} failed: planted failure`);
    const alerts = await q<{ alert_id: string; kind: string; message: string; delivered_at: Date | null }>('select alert_id, kind, message, delivered_at from etl.alerts where workflow_id = $1', [workflowId]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'failed' });
    expect(alerts[0]?.message).toContain(`etl backfill orders --from ${window.partitionStart} --to ${window.partitionEnd}`);
    expect(alerts[0]?.delivered_at).toBeInstanceOf(Date);
    expect(hooks.filter((h) => h.key === alerts[0]?.alert_id)).toHaveLength(1);
    expect(hooks.find((h) => h.key === alerts[0]?.alert_id)?.body).toMatchObject({ kind: 'failed', pipeline: 'orders', workflowId });
    // What a person sees: `etl alerts` lists it with its webhook state and a link to the run.
    const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, '..', '..', 'bin', 'etl.js'), 'alerts', '--limit', '500', '--json']);
    const listed = (JSON.parse(stdout) as Array<{ workflow_id: string; kind: string; webhook: string; ui: string }>).find((a) => a.workflow_id === workflowId);
    expect(listed).toMatchObject({ kind: 'failed', webhook: 'sent' });
    expect(listed?.ui).toContain(encodeURIComponent(workflowId));
  });

  it('a dead webhook holds no run: the failed run ends with its alert recorded, the next window runs, and the alert goes out once the webhook is back', async () => {
    const scheduledTime = iso(day + 6 * 3600_000);
    const window = partitionEndingAt('orders', scheduledTime);
    const next = iso(Date.parse(scheduledTime) + 10 * 60_000);
    await q('insert into orch_test.control (workflow_id, fail) values ($1, true) on conflict (workflow_id) do update set fail = true', [`orders/${window.partitionStart}`]);
    const workflowId = `scheduled/${prefix}manual-dead-hook`;
    webhookDown = true;
    try {
      await env.run(async () => {
        const err = await env.client.workflow.execute(scheduledPipelineWorkflow, { taskQueue: env.taskQueue, workflowId, args: [{ pipeline: 'orders', scheduledTime }] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        const [alert] = await q<{ alert_id: string; delivered_at: Date | null }>('select alert_id, delivered_at from etl.alerts where workflow_id = $1', [workflowId]);
        expect(alert?.delivered_at).toBeNull();
        // The run ended while its alert is still undelivered, and the delivery goes on without it.
        const delivery = env.client.workflow.getHandle(`alert-delivery/${alert?.alert_id}`);
        expect((await delivery.describe()).status.name).toBe('RUNNING');
        await waitFor('the dead webhook tried', async () => refused.includes(alert?.alert_id));
        expect(hooks.filter((h) => h.key === alert?.alert_id)).toHaveLength(0);
        const out: ScheduledPipelineOutput = await env.client.workflow.execute(scheduledPipelineWorkflow, { taskQueue: env.taskQueue, workflowId: `${workflowId}-next`, args: [{ pipeline: 'orders', scheduledTime: next }] });
        expect(out.outcome).toBe('completed');
        webhookDown = false;
        await delivery.result();
        const [after] = await q<{ delivered_at: Date | null; delivery_error: string | null }>('select delivered_at, delivery_error from etl.alerts where workflow_id = $1', [workflowId]);
        expect(after?.delivered_at).toBeInstanceOf(Date);
        expect(after?.delivery_error).toBeNull();
        expect(hooks.filter((h) => h.key === alert?.alert_id)).toHaveLength(1);
      });
    } finally {
      webhookDown = false;
    }
  });

  it('the monitor raises one backlog alert when starts pile up behind a stuck run, and none for a schedule that keeps up', async () => {
    // A schedule whose run holds on (a 60 s activity), triggered four times: one runs, three wait.
    await env.client.schedule.create({
      scheduleId: blockedId,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: 'slowActivityWorkflow', workflowId: `${prefix}blocked-run`, taskQueue: env.taskQueue, args: [{ key: `${prefix}blocked`, steps: 600 }] },
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ALL },
      state: { paused: true },
    });
    const blocked = env.client.schedule.getHandle(blockedId);
    // Buffered as the schedule's own starts would be; a second apart, as the started ids carry the time in seconds.
    for (let i = 0; i < 4; i++) {
      await blocked.trigger(ScheduleOverlapPolicy.BUFFER_ALL);
      await sleepMs(1100);
    }
    const listed = await waitFor('three starts buffered', async () => (await listSchedules(env.client, prefix)).find((r) => r.scheduleId === blockedId && r.buffered === 3));
    expect(listed.running).toHaveLength(1);
    try {
      const monitor = (n: number) => env.client.workflow.execute(scheduleMonitorWorkflow, { taskQueue: env.taskQueue, workflowId: `${prefix}monitor-check-${n}`, args: [{ idPrefix: prefix, backlogThreshold: 3 }] });
      const [first, second] = await env.run(async () => [await monitor(1), await monitor(2)]);
      const alertId = `schedule/${blockedId}/backlog/${listed.running[0]}`;
      // The paused pipeline schedules (nothing buffered), the monitor's, the churn training's and the
      // freshness check's own, and the blocked one: all checked, only the blocked one found.
      expect(first.checked).toBe(PIPELINE_NAMES.length + 4);
      expect(first.findings.map((f) => [f.scheduleId, f.kind])).toEqual([[blockedId, 'schedule_backlog']]);
      expect(first.raised).toEqual([alertId]);
      // The same stuck run on the next check: still a finding, not a second alert.
      expect(second.raised).toEqual([]);
      const rows = await q<{ kind: string; message: string }>('select kind, message from etl.alerts where alert_id = $1', [alertId]);
      expect(rows).toEqual([{ kind: 'schedule_backlog', message: expect.stringContaining('3 starts wait behind') }]);
    } finally {
      await blocked.delete();
      for await (const w of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}blocked-run" AND ExecutionStatus = "Running"` })) {
        await env.client.workflow.getHandle(w.workflowId, w.runId).terminate('test done');
      }
    }
  });

  it('a run past its SLA raises a slow alert and still completes', async () => {
    const scheduledTime = iso(day + 7 * 3600_000);
    const window = partitionEndingAt('catalog', scheduledTime);
    await q('insert into orch_test.control (workflow_id, delay_ms) values ($1, 4000) on conflict (workflow_id) do update set delay_ms = 4000', [`catalog/${window.partitionStart}`]);
    const workflowId = `scheduled/${prefix}manual-slow`;
    const out: ScheduledPipelineOutput = await env.run(() => env.client.workflow.execute(scheduledPipelineWorkflow, { taskQueue: env.taskQueue, workflowId, args: [{ pipeline: 'catalog', scheduledTime, slaMinutes: 0.02 }] }));
    expect(out).toMatchObject({ outcome: 'completed', slow: true, childWorkflowId: `catalog/${window.partitionStart}` });
    const alerts = await q<{ kind: string }>('select kind from etl.alerts where workflow_id = $1', [workflowId]);
    expect(alerts).toEqual([{ kind: 'slow' }]);
  });

  it('does not start a partition that is already running elsewhere', async () => {
    const scheduledTime = iso(day + 9 * 3600_000);
    const window = partitionEndingAt('files', scheduledTime);
    const childId = `files/${window.partitionStart}`;
    await q('insert into orch_test.control (workflow_id, delay_ms) values ($1, 60000) on conflict (workflow_id) do update set delay_ms = 60000', [childId]);
    const out = await env.run(async () => {
      const other = await env.client.workflow.start('filesPipelineWorkflow', { taskQueue: env.taskQueue, workflowId: childId, args: [{ ...window, backfill: true }] });
      try {
        return await env.client.workflow.execute(scheduledPipelineWorkflow, { taskQueue: env.taskQueue, workflowId: `scheduled/${prefix}manual-dup`, args: [{ pipeline: 'files', scheduledTime }] });
      } finally {
        await other.terminate('test done');
      }
    });
    expect(out).toMatchObject({ outcome: 'already-running', childWorkflowId: childId });
  });

  it('the monitor sends alerts an activity recorded but could not send, once, and leaves the fresh and the day-old ones', async () => {
    // As the events stream writes data_lost in its load's transaction and its one send failed.
    const insert = (id: string, age: string) => q(
      `insert into etl.alerts (alert_id, pipeline, kind, message, workflow_id, run_id, raised_at) values ($1, 'events', 'data_lost', 'planted', '-', '-', now() - $2::interval)`, [id, age]);
    const unsent = `${prefix}lost/unsent`;
    const fresh = `${prefix}lost/fresh`;
    const old = `${prefix}lost/old`;
    await insert(unsent, '5 minutes');
    await insert(fresh, '10 seconds');
    await insert(old, '2 days');
    const out = await env.run(() => env.client.workflow.execute(scheduleMonitorWorkflow, { taskQueue: env.taskQueue, workflowId: `${prefix}monitor-redeliver`, args: [{ idPrefix: `${prefix}none-` }] }));
    expect(out.redelivered).toContain(unsent);
    expect(out.redelivered).not.toContain(fresh);
    expect(out.redelivered).not.toContain(old);
    await env.run(() => env.client.workflow.getHandle(`alert-delivery/${unsent}`).result());
    const [row] = await q<{ delivered_at: Date | null }>('select delivered_at from etl.alerts where alert_id = $1', [unsent]);
    expect(row?.delivered_at).toBeInstanceOf(Date);
    expect(hooks.filter((h) => h.key === unsent)).toHaveLength(1);
    expect(hooks.filter((h) => h.key === fresh || h.key === old)).toHaveLength(0);
    // Sent: the next check leaves it alone.
    const again = await env.run(() => env.client.workflow.execute(scheduleMonitorWorkflow, { taskQueue: env.taskQueue, workflowId: `${prefix}monitor-redeliver-2`, args: [{ idPrefix: `${prefix}none-` }] }));
    expect(again.redelivered).not.toContain(unsent);
  });

  it('rejects a manual run without a scheduled time, naming the fix', async () => {
    const err = await env.run(() => env.client.workflow.execute(scheduledPipelineWorkflow, { taskQueue: env.taskQueue, workflowId: `scheduled/${prefix}manual-bad`, args: [{ pipeline: 'orders' }] }).catch((e: unknown) => e));
    expect((err as WorkflowFailedError).cause?.message).toMatch(/no scheduled time.*pass scheduledTime/);
  });
});
