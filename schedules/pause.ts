/** Pauses schedules: no new runs start until unpaused; a running one finishes. Pausing twice is a no-op. */
import type { Client } from '@temporalio/client';

export async function pauseSchedules(client: Client, ids: string[], note = 'paused with etl schedules pause'): Promise<Array<{ scheduleId: string; paused: true }>> {
  for (const id of ids) await client.schedule.getHandle(id).pause(note);
  return ids.map((scheduleId) => ({ scheduleId, paused: true as const }));
}
