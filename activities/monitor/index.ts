/**
 * The monitor's activities: they read the Temporal server's view of the project's schedules (the
 * worker's own client, ActivityDeps.temporal) and say what deserves an alert. The monitor workflow
 * (workflows/monitor.ts) records the alerts, so retries and replays raise each one once.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { listSchedules } from '../../schedules/list';
import { rethrowClassified } from '../../lib/errors';
import { scheduleFindings, type ScheduleFinding } from './schedules';
import type { Pool } from 'pg';
import { checkFreshness, type CheckFreshnessInput, type CheckFreshnessOutput } from './freshness';

export interface MonitorDeps { temporal?: Client; staging: Pool; analytics: Pool }

export interface CheckSchedulesInput {
  /** Schedules whose id starts with this (the project's: `etl-`). */
  idPrefix: string;
  /** Alert when this many starts are buffered behind a running one; 0 turns the backlog alert off. */
  backlogThreshold: number;
}
export interface CheckSchedulesOutput {
  checked: Array<{ scheduleId: string; buffered: number; dropped: number }>;
  findings: ScheduleFinding[];
}

export function createMonitorActivities({ temporal, staging, analytics }: MonitorDeps) {
  return {
    /** The freshness check (freshness.ts): raises and clears `stale` alerts. */
    async checkFreshness(input: CheckFreshnessInput): Promise<CheckFreshnessOutput> {
      try {
        return await checkFreshness({ staging, analytics }, input);
      } catch (err) {
        rethrowClassified(err, 'checking freshness');
      }
    },

    async checkSchedules(input: CheckSchedulesInput): Promise<CheckSchedulesOutput> {
      if (!temporal) throw ApplicationFailure.nonRetryable('checkSchedules: this worker was built without a Temporal client (ActivityDeps.temporal)', 'MisconfiguredWorker');
      let rows;
      try {
        rows = await listSchedules(temporal, input.idPrefix);
      } catch (err) {
        rethrowClassified(err, `listing the schedules with prefix ${input.idPrefix}`);
      }
      return {
        checked: rows.map((r) => ({ scheduleId: r.scheduleId, buffered: r.buffered, dropped: r.dropped })),
        findings: scheduleFindings(rows, input.backlogThreshold),
      };
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
