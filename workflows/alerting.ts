/**
 * Alerts raised by workflows: the row in etl.alerts is written by an activity, and the webhook is
 * sent by alertDeliveryWorkflow, a child the raising run abandons, so a dead webhook never holds the
 * run (a schedule's later windows, a supervised loop's restarts) while delivery retries for an hour.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { log, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { AlertActivities, RaiseAlertInput } from '../activities/common/alerts';
import { causeMessage } from './helpers';

const alerts = proxyActivities<AlertActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 10, initialInterval: '2 seconds' } });
// Webhook delivery backs off for up to about an hour; a dead webhook must not fail the run.
const delivery = proxyActivities<AlertActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 12, initialInterval: '5 seconds', maximumInterval: '10 minutes' } });

/**
 * Sends one recorded alert to the webhook, retrying for about an hour; the row keeps its
 * delivery_error meanwhile, and `etl alerts` shows it. Started by the run that raised the alert
 * and abandoned by it, under the id `alert-delivery/<alertId>`, so there is one per alert.
 */
export async function alertDeliveryWorkflow(input: { alertId: string; resolved?: boolean }): Promise<void> {
  try {
    await delivery.deliverAlert({ alertId: input.alertId, ...(input.resolved ? { resolved: true } : {}) });
  } catch (err) {
    // The row stays with delivery_error set and shows in `etl alerts`; nothing more to do here.
    log.warn('alert webhook delivery failed', { alertId: input.alertId, error: causeMessage(err) });
  }
}

/** Records the alert (etl.alerts); one row per alert id, however often it is called. True when this call wrote it. */
export async function recordAlert(input: RaiseAlertInput): Promise<boolean> {
  return (await alerts.raiseAlert(input)).created;
}

/**
 * Leaves the webhook of a recorded alert (or, `resolved`, of its clearing: `alert-delivery/<id>/resolved`)
 * to an abandoned alertDeliveryWorkflow; false when one is already running for it.
 */
export async function deliverLater(alertId: string, resolved = false): Promise<boolean> {
  try {
    await startChild(alertDeliveryWorkflow, {
      workflowId: `alert-delivery/${alertId}${resolved ? '/resolved' : ''}`, args: [resolved ? { alertId, resolved } : { alertId }], parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return true;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return false;
  }
}

/**
 * Leaves every alert still unsent (older than two minutes, within a day) to an alertDeliveryWorkflow;
 * one already running for an alert is left alone. Returns the ids handed over.
 */
export async function redeliverPending(): Promise<string[]> {
  const ids = await alerts.undeliveredAlerts({});
  const started = await Promise.all(ids.map((id) => deliverLater(id)));
  return ids.filter((_, i) => started[i]);
}

/** Records the alert, then leaves its webhook to an abandoned alertDeliveryWorkflow. */
export async function raiseAlert(input: RaiseAlertInput): Promise<void> {
  await recordAlert(input);
  await deliverLater(input.alertId);
}

/** Runs from before the delivery child: the webhook sent in the run itself. */
export async function deliverInRun(alertId: string): Promise<void> {
  try {
    await delivery.deliverAlert({ alertId });
  } catch (err) {
    log.warn('alert webhook delivery failed', { alertId, error: causeMessage(err) });
  }
}
