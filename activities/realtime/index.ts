/**
 * The realtime metrics activity: one pass of recompute dirty minutes -> judge closed minutes for
 * spikes -> deliver pending alerts. Each step is idempotent on its own, so a retried or repeated
 * pass leaves the same rows (docs/realtime.md).
 */
import { heartbeat } from '../common/heartbeat';
import type { Pool } from 'pg';
import { rethrowClassified } from '../../lib/errors';
import { DEFAULT_SPIKE_SETTINGS } from '../../lib/spike-detect';
import { deliverAlerts } from './outbox';
import { refreshDirtyMinutes } from './refresh';
import { evaluateSpikes, type RealtimeSettings } from './spikes';

export type { RealtimeSettings } from './spikes';
export { markRealtimeMinutes } from './hook';

export const DEFAULT_REALTIME_SETTINGS: RealtimeSettings = { ...DEFAULT_SPIKE_SETTINGS, latenessMinutes: 1 };

export interface RealtimeDeps { staging: Pool; analytics: Pool; pseudonymKey: string; alertWebhookUrl?: string; realtime?: RealtimeSettings }

/** Nothing to choose: a pass always works on whatever is dirty, closed or unsent. */
export type RefreshRealtimeInput = Record<string, never>;

export interface RefreshRealtimeOutput {
  /** Minutes recomputed and loads made visible. */
  minutes: number;
  loads: number;
  /** More dirty minutes than one pass takes: call again without waiting. */
  dirtyLeft: boolean;
  evaluated: number;
  raised: number;
  sent: number;
  failed: number;
  pendingAlerts: number;
}


export function createRealtimeActivities(deps: RealtimeDeps) {
  const settings = deps.realtime ?? DEFAULT_REALTIME_SETTINGS;
  return {
    async refreshRealtime(_input: RefreshRealtimeInput = {}): Promise<RefreshRealtimeOutput> {
      let step = 'recomputing dirty minutes from staging.events';
      try {
        const r = await refreshDirtyMinutes(deps.staging, deps.analytics, deps.pseudonymKey, heartbeat);
        step = 'judging closed minutes for spikes';
        const s = await evaluateSpikes(deps.analytics, settings);
        heartbeat();
        step = 'delivering spike alerts to ALERT_WEBHOOK_URL';
        const d = await deliverAlerts(deps.analytics, deps.alertWebhookUrl);
        return { minutes: r.minutes, loads: r.loads, dirtyLeft: r.dirtyLeft, evaluated: s.evaluated, raised: s.raised, sent: d.sent, failed: d.failed, pendingAlerts: d.pending };
      } catch (err) {
        rethrowClassified(err, `realtime: ${step}`);
      }
    },
  };
}

export type RealtimeActivities = ReturnType<typeof createRealtimeActivities>;
