import { describe, expect, it } from 'vitest';
import { scheduleFindings } from '../../activities/monitor/schedules';
import { monitorScheduleDefinition } from '../../schedules/specs';

const row = (over: Partial<{ buffered: number; dropped: number; running: string[] }> = {}) => ({ scheduleId: 'etl-orders', buffered: 0, dropped: 0, running: [], ...over });

describe('schedule monitor rules', () => {
  it('says nothing about a schedule that keeps up', () => {
    expect(scheduleFindings([row(), row({ buffered: 2, running: ['scheduled/orders-1'] })], 3)).toEqual([]);
  });

  it('raises one backlog alert per blocking run, at the threshold and past it', () => {
    const at = scheduleFindings([row({ buffered: 3, running: ['scheduled/orders-1'] })], 3);
    const past = scheduleFindings([row({ buffered: 40, running: ['scheduled/orders-1'] })], 3);
    expect(at).toHaveLength(1);
    expect(at[0]).toMatchObject({ kind: 'schedule_backlog', alertId: 'schedule/etl-orders/backlog/scheduled/orders-1' });
    expect(at[0]?.message).toMatch(/3 starts wait behind scheduled\/orders-1/);
    // The same stuck run later: the same alert id, so no second alert.
    expect(past[0]?.alertId).toBe(at[0]?.alertId);
    // A later stuck run is a new condition.
    expect(scheduleFindings([row({ buffered: 3, running: ['scheduled/orders-2'] })], 3)[0]?.alertId).not.toBe(at[0]?.alertId);
  });

  it('a threshold of 0 turns the backlog alert off, never the dropped one', () => {
    expect(scheduleFindings([row({ buffered: 999, running: ['r'], dropped: 5 })], 0).map((f) => f.kind)).toEqual(['schedule_dropped']);
  });

  it('raises one dropped alert per blocking run while drops go on, and one per total after it', () => {
    const during = (dropped: number) => scheduleFindings([row({ buffered: 1000, dropped, running: ['scheduled/orders-1'] })], 0);
    expect(during(5)).toEqual([expect.objectContaining({ kind: 'schedule_dropped', alertId: 'schedule/etl-orders/dropped/scheduled/orders-1' })]);
    expect(during(9)[0]?.alertId).toBe(during(5)[0]?.alertId);
    const after = scheduleFindings([row({ dropped: 9 })], 3);
    expect(after[0]?.alertId).toBe('schedule/etl-orders/dropped/total-9');
    expect(after[0]?.message).toMatch(/dropped 9 starts.*never ran.*etl backfill/);
  });

  it("the monitor's schedule runs every 5 minutes, skips overlaps, and passes the prefix and threshold", () => {
    const def = monitorScheduleDefinition({ taskQueue: 'q', idPrefix: 'x-', backlogThreshold: 7 });
    expect(def.scheduleId).toBe('x-monitor');
    expect(def.options.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: '5 minutes' });
    expect(def.options.action.args).toEqual([{ idPrefix: 'x-', backlogThreshold: 7 }]);
  });
});
