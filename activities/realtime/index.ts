/**
 * The realtime metrics activity: one pass of apply committed loads -> judge closed minutes for
 * spikes -> deliver pending alerts. Each step is idempotent on its own, so a retried or repeated
 * pass leaves the same rows (docs/realtime.md).
 */
import { Context } from '@temporalio/activity';
import { handOver, heartbeat } from '../common/heartbeat';
import type { Pool } from 'pg';
import { rethrowClassified } from '../../lib/errors';
import { DEFAULT_SPIKE_SETTINGS } from '../../lib/spike-detect';
import { deliverAlerts } from './outbox';
import { refreshDirtyMinutes } from './refresh';
import { evaluateSpikes, type RealtimeSettings } from './spikes';
import { DirtyWake } from './wake';

export type { RealtimeSettings } from './spikes';
export { markRealtimeMinutes } from './hook';
export { REALTIME_MINUTE_TABLES } from './refresh';

export const DEFAULT_REALTIME_SETTINGS: RealtimeSettings = { ...DEFAULT_SPIKE_SETTINGS, latenessMinutes: 1 };

export interface RealtimeDeps { staging: Pool; analytics: Pool; pseudonymKey: string; alertWebhookUrl?: string; realtime?: RealtimeSettings }

/** Nothing to choose: a pass always works on whatever is dirty, closed or unsent. */
export type RefreshRealtimeInput = Record<string, never>;

export interface RefreshRealtimeOutput {
  /** Minutes the applied loads touched, and loads made visible. */
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


/** A session of the realtime loop: passes one after another in one activity (see EventsSessionInput). */
export interface RealtimeSessionInput {
  /** Pause after a pass that found nothing to do (default 500 ms), cut short when an events load with marks commits (wake.ts). */
  pollMs?: number;
  /** End after this many passes (the workflow passes what is left of its maxPasses). */
  maxPasses?: number;
  /** End after this long (default one hour). */
  sessionMs?: number;
}

/** endedBy 'handover': a retried attempt handing back what the failed one did (handOver in common/heartbeat.ts). */
export interface RealtimeSessionOutput { passes: number; minutes: number; loads: number; evaluated: number; raised: number; sent: number; endedBy: 'maxPasses' | 'time' | 'handover' }

export function createRealtimeActivities(deps: RealtimeDeps) {
  const settings = deps.realtime ?? DEFAULT_REALTIME_SETTINGS;
  const pass = async (beat: () => void = heartbeat): Promise<RefreshRealtimeOutput> => {
    let step = 'applying committed events loads to the per-minute metrics';
    try {
      const r = await refreshDirtyMinutes(deps.staging, deps.analytics, deps.pseudonymKey, beat);
      step = 'judging closed minutes for spikes';
      const s = await evaluateSpikes(deps.analytics, settings);
      beat();
      step = 'delivering spike alerts to ALERT_WEBHOOK_URL';
      const d = await deliverAlerts(deps.analytics, deps.alertWebhookUrl);
      return { minutes: r.minutes, loads: r.loads, dirtyLeft: r.dirtyLeft, evaluated: s.evaluated, raised: s.raised, sent: d.sent, failed: d.failed, pendingAlerts: d.pending };
    } catch (err) {
      rethrowClassified(err, `realtime: ${step}`);
    }
  };
  return {
    async refreshRealtime(_input: RefreshRealtimeInput = {}): Promise<RefreshRealtimeOutput> {
      return pass();
    },

    async runRealtimeSession(input: RealtimeSessionInput): Promise<RealtimeSessionOutput> {
      const ctx = Context.current();
      // Progress is minutes updated, not passes: an idle session makes one every 500 ms.
      const prior = handOver<RealtimeSessionOutput>((p) => p.minutes > 0);
      if (prior) return prior;
      const until = Date.now() + (input.sessionMs ?? 3_600_000);
      const t: RealtimeSessionOutput = { passes: 0, minutes: 0, loads: 0, evaluated: 0, raised: 0, sent: 0, endedBy: 'time' };
      const wake = new DirtyWake(deps.staging);
      try {
        while (Date.now() < until) {
          if (input.maxPasses !== undefined && t.passes >= input.maxPasses) return { ...t, endedBy: 'maxPasses' };
          wake.arm();
          const r = await pass(() => heartbeat(t));
          t.passes++;
          t.minutes += r.minutes;
          t.loads += r.loads;
          t.evaluated += r.evaluated;
          t.raised += r.raised;
          t.sent += r.sent;
          heartbeat(t);
          // Work found: look again at once, since loads kept committing during the pass. Otherwise
          // wait for the poll, or for a load committed since this pass began, whichever is first.
          if (r.minutes === 0 && !r.dirtyLeft) await Promise.race([ctx.sleep(input.pollMs ?? 500), wake.next()]);
        }
        return t;
      } finally {
        await wake.close();
      }
    },
  };
}

export type RealtimeActivities = ReturnType<typeof createRealtimeActivities>;
