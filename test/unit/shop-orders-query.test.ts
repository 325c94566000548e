import { describe, expect, it } from 'vitest';
import { parseOrdersQuery } from '../../shop/simulator/orders-query';
import { encodeCursor } from '../../shop/simulator/cursor';
import { FaultInjector } from '../../shop/simulator/faults';

const q = (s: string) => parseOrdersQuery(new URLSearchParams(s));

describe('orders query parameters', () => {
  it('accepts a full query', () => {
    const cursor = encodeCursor({ ms: 1, orderId: 'O1', seq: 3 });
    const r = q(`updated_since=2024-01-01T00:00:00Z&updated_before=2024-01-02T00:00:00%2B01:00&limit=1000&cursor=${cursor}`);
    expect(r).toEqual({ ok: true, query: { since: Date.parse('2024-01-01T00:00:00Z'), before: Date.parse('2024-01-01T23:00:00Z'), limit: 1000, after: { ms: 1, orderId: 'O1', seq: 3 } } });
  });

  it.each([
    ['updated_since=yesterday', 'updated_since'],
    ['updated_before=2024-13-01T00:00:00Z', 'updated_before'],
    ['updated_since=2024-01-02T00:00:00Z&updated_before=2024-01-02T00:00:00Z', 'updated_since'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=1.5', 'limit'],
    ['cursor=garbage!', 'cursor'],
    ['cursor=abc', 'cursor'],
    ['since=2024-01-01', 'since'],
    ['limit=1&limit=2', 'limit'],
  ])('%s is a 400 naming %s', (query, parameter) => {
    const r = q(query);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.parameter).toBe(parameter);
  });
});

describe('fault injection', () => {
  it('injects each fault at its rate, the same way for the same seed', () => {
    const draw = () => {
      const f = new FaultInjector({ seed: 42, rateLimitRate: 0.2, serverErrorRate: 0.1, slowRate: 0.05, timeoutRate: 0.05 });
      const kinds = Array.from({ length: 2000 }, () => f.next().kind);
      return { kinds, counts: f.counts };
    };
    const a = draw();
    expect(draw().kinds).toEqual(a.kinds);
    // Binomial tolerance: 4 standard deviations around n*p.
    const within = (k: number, p: number) => Math.abs(k - 2000 * p) <= 4 * Math.sqrt(2000 * p * (1 - p));
    expect(within(a.counts.rate_limited, 0.2)).toBe(true);
    expect(within(a.counts.server_error, 0.1)).toBe(true);
    expect(within(a.counts.slow, 0.05)).toBe(true);
    expect(within(a.counts.timeout, 0.05)).toBe(true);
    expect(a.counts.total).toBe(a.counts.rate_limited + a.counts.server_error + a.counts.slow + a.counts.timeout);
  });

  it('refuses rates that cannot be probabilities', () => {
    expect(() => new FaultInjector({ rateLimitRate: 0.7, serverErrorRate: 0.5 })).toThrow(/sum to at most 1/);
    expect(() => new FaultInjector({ slowRate: -0.1 })).toThrow(/\[0, 1\]/);
  });
});
