import { describe, expect, it } from 'vitest';
import { parseSlaMinutes, scheduleDefinitions, SCHEDULE_TIMING } from '../../schedules/specs';
import { runsQuery } from '../../cli/commands/runs';
import { partitionEndingAt, PIPELINES, partitionsBetween } from '../../workflows/partitions';

describe('schedule definitions', () => {
  const defs = scheduleDefinitions({ taskQueue: 'q' });

  it('has stable ids, one per pipeline, every cadence, explicit policies', () => {
    expect(defs.map((d) => d.scheduleId)).toEqual(['etl-orders', 'etl-catalog', 'etl-files', 'etl-transform']);
    for (const d of defs) {
      expect(d.options.spec.intervals).toEqual([{ every: `${PIPELINES[d.pipeline].cadenceMinutes} minutes`, offset: `${SCHEDULE_TIMING[d.pipeline].lagMinutes} minutes` }]);
      expect(d.options.policies).toEqual({ overlap: 'BUFFER_ALL', catchupWindow: '1 day', pauseOnFailure: false });
      expect(d.options.action).toMatchObject({ workflowType: 'scheduledPipelineWorkflow', workflowId: `scheduled/${d.pipeline}`, taskQueue: 'q' });
    }
    expect(defs.find((d) => d.pipeline === 'transform')?.options.action.args).toEqual([{ pipeline: 'transform', lagMinutes: 5, slaMinutes: 60 }]);
  });

  it('every tick of a day maps to a distinct window, and together they are the day partitions (the backfill plan)', () => {
    const day = Date.parse('2026-03-01T00:00:00Z');
    for (const d of defs) {
      const every = PIPELINES[d.pipeline].cadenceMinutes * 60_000;
      const lag = SCHEDULE_TIMING[d.pipeline].lagMinutes * 60_000;
      const ticks = Array.from({ length: 86_400_000 / every }, (_, k) => day + (k + 1) * every + lag);
      const windows = ticks.map((t) => partitionEndingAt(d.pipeline, new Date(t - lag)).partitionStart);
      expect(windows).toEqual(partitionsBetween(d.pipeline, new Date(day), new Date(day + 86_400_000)).map((p) => p.partitionStart));
    }
  });

  it('reads per-pipeline SLAs from ETL_SLA_MINUTES', () => {
    expect(parseSlaMinutes('orders=8, transform=45')).toEqual({ orders: 8, transform: 45 });
    expect(parseSlaMinutes('')).toEqual({});
    expect(() => parseSlaMinutes('shipping=3')).toThrow(/ETL_SLA_MINUTES: unknown pipeline in "shipping=3"/);
    expect(scheduleDefinitions({ taskQueue: 'q', slaMinutes: { orders: 8 } })[0]?.options.action.args?.[0]).toMatchObject({ slaMinutes: 8 });
  });
});

describe('etl runs visibility query', () => {
  it('filters by pipeline, type and status', () => {
    expect(runsQuery({ pipeline: 'orders', status: 'failed' })).toBe('EtlPipeline = "orders" AND WorkflowType IN ("ordersPipelineWorkflow", "catalogPipelineWorkflow", "filesPipelineWorkflow", "transformWorkflow") AND ExecutionStatus = "Failed"');
    expect(runsQuery({ all: true })).toBe('EtlPipeline IN ("orders", "catalog", "files", "transform", "backfill")');
    expect(() => runsQuery({ status: 'exploded' })).toThrow(/unknown status "exploded"/);
  });
});
