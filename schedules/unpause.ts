/** Unpauses schedules; windows missed while paused are not run (use `etl backfill` for those). */
import type { Client } from '@temporalio/client';

export async function unpauseSchedules(client: Client, ids: string[], note = 'unpaused with etl schedules unpause'): Promise<Array<{ scheduleId: string; paused: false }>> {
  for (const id of ids) await client.schedule.getHandle(id).unpause(note);
  return ids.map((scheduleId) => ({ scheduleId, paused: false as const }));
}
