/** Deletes schedules; runs already started go on. Deleting a missing schedule is not an error. */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';

export async function deleteSchedules(client: Client, ids: string[]): Promise<Array<{ scheduleId: string; deleted: boolean }>> {
  const out: Array<{ scheduleId: string; deleted: boolean }> = [];
  for (const id of ids) {
    try {
      await client.schedule.getHandle(id).delete();
      out.push({ scheduleId: id, deleted: true });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      out.push({ scheduleId: id, deleted: false });
    }
  }
  return out;
}
