/**
 * The webhook outbox of spike alerts. Each alert is claimed with FOR UPDATE SKIP LOCKED, POSTed
 * with `Idempotency-Key: <alert_id>`, and sent_at is set in that same transaction once the receiver
 * answered 2xx. The one window left: the POST is accepted and the process dies before the commit;
 * the alert is then sent again with the same key (at least once on the wire, exactly once for a
 * receiver that honours the key). A failed POST is retried by later passes with backoff; a 4xx other
 * than 408/429 gives up and says so in the row.
 */
import type { Pool } from 'pg';
import { classifyError, HttpError } from '../../lib/errors';
import { inTransaction } from '../common/transaction';

export interface DeliveryResult { sent: number; failed: number; pending: number }

interface AlertRow { alert_id: string; event_name: string; minute: Date; last_minute: Date; observed: number; expected: string; score: string; peak: number; raised_at: Date; attempts: number }

const MAX_PER_PASS = 20;
const TIMEOUT_MS = 5_000;

export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 9));
}

export async function deliverAlerts(analytics: Pool, webhookUrl: string | undefined): Promise<DeliveryResult> {
  const out: DeliveryResult = { sent: 0, failed: 0, pending: 0 };
  if (webhookUrl) {
    for (let i = 0; i < MAX_PER_PASS; i++) {
      const r = await deliverOne(analytics, webhookUrl);
      if (r === 'none') break;
      out[r]++;
    }
  }
  const { rows } = await analytics.query<{ n: number }>('select count(*)::int as n from realtime_alerts where sent_at is null and given_up_at is null');
  out.pending = rows[0]?.n ?? 0;
  return out;
}

async function deliverOne(analytics: Pool, url: string): Promise<'sent' | 'failed' | 'none'> {
  return inTransaction(analytics, async (c) => {
    const { rows } = await c.query<AlertRow>(
      `select alert_id, event_name, minute, last_minute, observed, expected::text, score::text, peak, raised_at, attempts from realtime_alerts
       where sent_at is null and given_up_at is null and next_attempt_at <= now() order by raised_at limit 1 for update skip locked`);
    const a = rows[0];
    if (!a) {
      return 'none';
    }
    try {
      await post(url, a);
    } catch (err) {
      const cls = classifyError(err);
      const message = `POST to ALERT_WEBHOOK_URL failed: ${err instanceof Error ? err.message : String(err)}`;
      await c.query(
        `update realtime_alerts set attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3),
           given_up_at = case when $4 then now() end where alert_id = $1`,
        [a.alert_id, message.slice(0, 1000), backoffSeconds(a.attempts), !cls.retryable]);
      return 'failed';
    }
    await c.query('update realtime_alerts set sent_at = now(), attempts = attempts + 1, last_error = null where alert_id = $1', [a.alert_id]);
    return 'sent';
  });
}

async function post(url: string, a: AlertRow): Promise<void> {
  const body = {
    alertId: a.alert_id,
    kind: 'spike',
    eventName: a.event_name,
    minute: a.minute.toISOString(),
    observed: a.observed,
    expected: Number(a.expected),
    score: Number(a.score),
    raisedAt: a.raised_at.toISOString(),
    text: `[etl spike] ${a.event_name}: ${a.observed} events in the minute ${a.minute.toISOString()}, expected about ${a.expected} (score ${a.score})`,
  };
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': a.alert_id },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new HttpError(`webhook answered ${res.status}`, res.status);
}
