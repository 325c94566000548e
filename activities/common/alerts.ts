/**
 * Alerts a person sees: a row in etl.alerts (`etl alerts`) and, when ALERT_WEBHOOK_URL is set, one
 * POST to the webhook. The alert id is stable per run and kind, so a retried activity or a replayed
 * workflow writes one row, and the webhook is sent until it is accepted once (delivered_at), with the
 * id as Idempotency-Key so a receiver can drop the rare repeat (POST accepted, update then lost).
 */
import type { Pool, PoolClient } from 'pg';
import { HttpError, rethrowClassified } from '../../lib/errors';

export interface AlertDeps { staging: Pool; alertWebhookUrl?: string }

/** Failed webhook sends after which the monitor stops sending an alert (it stays in `etl alerts`). */
export const DELIVERY_ATTEMPTS_MAX = 20;

/**
 * 'schedule_backlog' and 'schedule_dropped' come from the schedule monitor (workflows/monitor.ts);
 * 'data_lost' from the events stream when Kafka's retention deleted messages it had not read;
 * 'data_check' from the transform when an analytics date fails a data check (activities/transform/checks.ts);
 * 'stale' from the freshness check (activities/monitor/freshness.ts), cleared when the data catches up.
 */
export type AlertKind = 'failed' | 'slow' | 'schedule_backlog' | 'schedule_dropped' | 'data_lost' | 'data_check' | 'stale';

/** alertId is `<workflowId>/<runId>/<kind>`: one alert per run and kind. */
export interface RaiseAlertInput {
  alertId: string;
  pipeline: string;
  partitionStart?: string;
  kind: AlertKind;
  message: string;
  workflowId: string;
  runId: string;
}
/** created: the row is this run's (written by this call or an earlier attempt of it). */
export interface RaiseAlertOutput { alertId: string; created: boolean }

/** resolved: send the alert's clearing (a cleared stale alert) instead of the alert itself. */
export interface DeliverAlertInput { alertId: string; resolved?: boolean }
export interface DeliverAlertOutput { alertId: string; delivered: 'sent' | 'already-sent' | 'no-webhook' }

interface AlertRow {
  alert_id: string; raised_at: Date; pipeline: string; partition_start: Date | null; kind: string; message: string; workflow_id: string; run_id: string;
  delivered_at: Date | null; cleared_at: Date | null; clear_delivered_at: Date | null;
}

/** Writes the alert row unless its id exists; true when this call wrote it. Takes a client to write it inside a caller's transaction. */
export async function insertAlert(db: Pool | PoolClient, input: RaiseAlertInput): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into etl.alerts (alert_id, pipeline, partition_start, kind, message, workflow_id, run_id)
     values ($1, $2, $3, $4, $5, $6, $7) on conflict (alert_id) do nothing`,
    [input.alertId, input.pipeline, input.partitionStart ?? null, input.kind, input.message.slice(0, 4000), input.workflowId, input.runId],
  );
  return rowCount === 1;
}

export function createAlertActivities({ staging, alertWebhookUrl }: AlertDeps) {
  return {
    async raiseAlert(input: RaiseAlertInput): Promise<RaiseAlertOutput> {
      try {
        if (await insertAlert(staging, input)) return { alertId: input.alertId, created: true };
        // Written already: by this run (an earlier attempt committed, then timed out) counts as created.
        const { rows } = await staging.query<{ mine: boolean }>('select workflow_id = $2 and run_id = $3 as mine from etl.alerts where alert_id = $1', [input.alertId, input.workflowId, input.runId]);
        return { alertId: input.alertId, created: rows[0]?.mine === true };
      } catch (err) {
        rethrowClassified(err, `raising ${input.kind} alert ${input.alertId}`);
      }
    },

    /**
     * Alerts still unsent to the webhook: raised at least `olderThanSeconds` ago (their raiser's
     * own delivery had its chance) and within `withinHours`, and not cleared since (a stale alert
     * whose table caught up before it could be sent is not sent late). None when no webhook is set. Activities
     * that write an alert in their own transaction (the events stream's data_lost) send it once,
     * best effort; the schedule monitor sends what is left (workflows/monitor.ts).
     */
    async undeliveredAlerts(input: { olderThanSeconds?: number; withinHours?: number; limit?: number } = {}): Promise<string[]> {
      if (!alertWebhookUrl) return [];
      // Least recently tried first (none tried before all tried), not tried in the last 10 minutes,
      // and not given up on: a dead or refusing webhook is tried a bounded number of times.
      const { rows } = await staging.query<{ alert_id: string }>(
        `select alert_id from etl.alerts where delivered_at is null and cleared_at is null
           and raised_at < now() - make_interval(secs => $1::float8) and raised_at > now() - make_interval(hours => $2::int)
           and delivery_attempts < $4::int
           and (last_delivery_attempt is null or last_delivery_attempt < now() - interval '10 minutes')
         order by coalesce(last_delivery_attempt, raised_at) limit $3::int`,
        [input.olderThanSeconds ?? 120, input.withinHours ?? 24, input.limit ?? 50, DELIVERY_ATTEMPTS_MAX]);
      return rows.map((r) => r.alert_id);
    },

    async deliverAlert({ alertId, resolved = false }: DeliverAlertInput): Promise<DeliverAlertOutput> {
      if (!alertWebhookUrl) return { alertId, delivered: 'no-webhook' };
      const { rows } = await staging.query<AlertRow>('select * from etl.alerts where alert_id = $1', [alertId]);
      const row = rows[0];
      if (!row) throw new Error(`alert ${alertId} is not in etl.alerts; raiseAlert must run first`);
      if (resolved) return deliverResolved(alertWebhookUrl, row);
      if (row.delivered_at) return { alertId, delivered: 'already-sent' };
      try {
        await post(alertWebhookUrl, row);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await staging.query(
          'update etl.alerts set delivery_error = $2, delivery_attempts = delivery_attempts + 1, last_delivery_attempt = now() where alert_id = $1', [alertId, message.slice(0, 1000)]);
        rethrowClassified(err, `delivering alert ${alertId} to the webhook (check ALERT_WEBHOOK_URL)`);
      }
      await staging.query('update etl.alerts set delivered_at = now(), delivery_error = null where alert_id = $1', [alertId]);
      return { alertId, delivered: 'sent' };
    },
  };

  /** The clearing of a cleared alert, once accepted (clear_delivered_at); its delivery retries are the workflow's. */
  async function deliverResolved(url: string, row: AlertRow): Promise<DeliverAlertOutput> {
    const alertId = row.alert_id;
    if (!row.cleared_at) throw new Error(`alert ${alertId} is not cleared; only a cleared alert is sent as resolved`);
    if (row.clear_delivered_at) return { alertId, delivered: 'already-sent' };
    // Resolved never goes out before firing: while the alert's own delivery is still being retried,
    // this attempt fails and is retried too (for about the same hour).
    if (!row.delivered_at) throw new Error(`alert ${alertId} has not been sent to the webhook yet; its clearing is sent after it`);
    try {
      await post(url, row, true);
    } catch (err) {
      await staging.query('update etl.alerts set delivery_error = $2 where alert_id = $1', [alertId, `resolved: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000)]);
      rethrowClassified(err, `delivering the clearing of alert ${alertId} to the webhook (check ALERT_WEBHOOK_URL)`);
    }
    await staging.query('update etl.alerts set clear_delivered_at = now() where alert_id = $1', [alertId]);
    return { alertId, delivered: 'sent' };
  }
}

/**
 * status 'firing' for an alert, 'resolved' for its clearing (Alertmanager's words): a receiver
 * that pages on firing closes the page on resolved. The Idempotency-Key is the alert id, plus
 * `/resolved` for the clearing.
 */
async function post(url: string, row: AlertRow, resolved = false): Promise<void> {
  const body = {
    alertId: row.alert_id,
    status: resolved ? 'resolved' : 'firing',
    kind: row.kind,
    pipeline: row.pipeline,
    partitionStart: row.partition_start?.toISOString() ?? null,
    message: row.message,
    workflowId: row.workflow_id,
    runId: row.run_id,
    raisedAt: row.raised_at.toISOString(),
    ...(resolved ? { clearedAt: row.cleared_at?.toISOString() ?? null } : {}),
    // Chat webhooks (Slack, Mattermost) show `text`; other receivers read the fields above.
    text: resolved ? `[etl ${row.kind} resolved] ${row.pipeline}: cleared at ${row.cleared_at?.toISOString() ?? '?'} (was: ${row.message})` : `[etl ${row.kind}] ${row.pipeline}: ${row.message}`,
  };
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': resolved ? `${row.alert_id}/resolved` : row.alert_id },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) {
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new HttpError(`webhook answered ${res.status}`, res.status, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;
