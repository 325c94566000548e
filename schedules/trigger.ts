/**
 * Runs a schedule's action now. The run's scheduled time is now, so it covers the window ending
 * now (the partition in progress); ALLOW_ALL so a trigger is never buffered behind a slow run.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export async function triggerSchedule(client: Client, id: string): Promise<{ scheduleId: string; triggeredAt: string }> {
  const triggeredAt = new Date().toISOString();
  await client.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  return { scheduleId: id, triggeredAt };
}
