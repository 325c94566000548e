import { describe, expect, it } from 'vitest';
import { FRESHNESS_TARGETS, judge, parseFreshnessMinutes, staleAlertId } from '../../activities/monitor/freshness';

describe('freshness SLAs (pure)', () => {
  const now = new Date('2026-12-05T10:00:00Z');
  it('judges fresh, stale, no data and off', () => {
    expect(judge(new Date('2026-12-05T09:45:00Z'), now, 20)).toEqual({ ageSeconds: 900, state: 'fresh' });
    expect(judge(new Date('2026-12-05T09:39:59Z'), now, 20)).toEqual({ ageSeconds: 1201, state: 'stale' });
    expect(judge(new Date('2026-12-05T09:40:00Z'), now, 20).state).toBe('fresh'); // exactly at the SLA: not yet late
    expect(judge(null, now, 20)).toEqual({ ageSeconds: null, state: 'no_data' });
    expect(judge(new Date('2026-12-01T00:00:00Z'), now, 0).state).toBe('off');
  });

  it('defaults follow the cadence, and ETL_FRESHNESS_MINUTES overrides by name with clear errors', () => {
    expect(Object.fromEntries(FRESHNESS_TARGETS.map((t) => [t.target, t.defaultMinutes]))).toEqual({ orders: 20, catalog: 60, files: 10, events: 5, transform: 75, realtime: 5, churn: 11520 });
    expect(parseFreshnessMinutes(' orders = 30 ,events=2.5,churn=0')).toEqual({ orders: 30, events: 2.5, churn: 0 });
    expect(parseFreshnessMinutes('')).toEqual({});
    expect(() => parseFreshnessMinutes('order=3')).toThrow(/unknown target in "order=3"; use orders, catalog/);
    expect(() => parseFreshnessMinutes('orders=')).toThrow(/"orders=" needs a number of minutes >= 0/);
  });

  it('names one alert per staleness episode: the same newest moment, the same id', () => {
    const f = { target: 'orders', tables: [], lastAt: '2026-12-05T09:00:00.000Z', ageSeconds: 3600, slaMinutes: 20, state: 'stale' as const };
    expect(staleAlertId(f)).toBe('freshness/orders/2026-12-05T09:00:00.000Z');
    expect(staleAlertId({ ...f, ageSeconds: 7200 })).toBe(staleAlertId(f));
    expect(staleAlertId({ ...f, lastAt: '2026-12-05T09:10:00.000Z' })).not.toBe(staleAlertId(f));
  });
});
