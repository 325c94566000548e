/**
 * Creates every schedule, or updates it in place when it exists: running it twice leaves one
 * schedule per id. An update keeps the schedule's paused state and note, so applying a new
 * version does not resume a schedule someone paused.
 */
import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';
import { churnScheduleDefinition, freshnessScheduleDefinition, monitorScheduleDefinition, scheduleDefinitions, type ScheduleContext } from './specs';

export interface AppliedSchedule { scheduleId: string; pipeline: string; change: 'created' | 'updated' }

export async function applySchedules(client: Client, ctx: ScheduleContext): Promise<AppliedSchedule[]> {
  const out: AppliedSchedule[] = [];
  const defs: Array<{ scheduleId: string; pipeline: string; options: ScheduleOptions }> = scheduleDefinitions(ctx);
  if (ctx.monitor ?? true) defs.push({ ...monitorScheduleDefinition(ctx), pipeline: 'monitor' });
  if (ctx.churn ?? true) defs.push({ ...churnScheduleDefinition(ctx), pipeline: 'churn' });
  if (ctx.freshness ?? true) defs.push({ ...freshnessScheduleDefinition(ctx), pipeline: 'freshness' });
  for (const def of defs) {
    try {
      await client.schedule.create(def.options);
      out.push({ scheduleId: def.scheduleId, pipeline: def.pipeline, change: 'created' });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(def.scheduleId).update((prev) => ({
        spec: def.options.spec,
        action: def.options.action,
        policies: def.options.policies,
        state: { paused: prev.state.paused, note: prev.state.note },
      }));
      out.push({ scheduleId: def.scheduleId, pipeline: def.pipeline, change: 'updated' });
    }
  }
  return out;
}
