/**
 * The freshness check (issue 16, docs/operations.md), started every 5 minutes by its own schedule
 * (`etl-freshness`, overlap SKIP): raises a `stale` alert when a table is past its SLA, sends it to
 * the webhook, and clears it when the table catches up, sending the webhook a `resolved` notice
 * (activities/monitor/freshness.ts, activities/common/alerts.ts).
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { MonitorActivities } from '../activities/monitor';
import type { CheckFreshnessOutput } from '../activities/monitor/freshness';
import { deliverLater } from './alerting';
import { CHECK_ACTIVITY_OPTIONS } from './helpers';

export interface FreshnessInput {
  /** SLA per target in minutes (ETL_FRESHNESS_MINUTES); a target not named keeps its default. */
  slaMinutes?: Record<string, number>;
}

const { checkFreshness } = proxyActivities<MonitorActivities>(CHECK_ACTIVITY_OPTIONS);

export const RESOLVED_PATCH = 'freshness-sends-resolved';

export async function freshnessWorkflow(input: FreshnessInput = {}): Promise<CheckFreshnessOutput> {
  const { workflowId, runId } = workflowInfo();
  const out = await checkFreshness({ slaMinutes: input.slaMinutes, workflowId, runId });
  for (const id of out.raised) await deliverLater(id);
  // The clearing goes to the webhook too, as resolved (runs from before this patch did not send it).
  if (patched(RESOLVED_PATCH)) for (const id of out.cleared) await deliverLater(id, true);
  return out;
}
