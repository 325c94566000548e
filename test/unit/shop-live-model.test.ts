import { describe, expect, it } from 'vitest';
import { Rng } from '../../shop/generator/prng';
import { LiveModel, poisson } from '../../shop/simulator/live/live-model';
import type { OrderVersion } from '../../contract/layout';

const catalogue = () => ({ products: [{ id: 'P1', price: '10.00' }, { id: 'P2', price: '2.50' }], users: ['U1', 'U2', 'U3'] });
const rates = { ordersPerMinute: 30, eventsPerMinute: 120, catalogueChangesPerMinute: 6, compress: 48 };
const T0 = Date.parse('2024-05-01T12:00:00Z');

function run(seed: number, minutes: number) {
  const model = new LiveModel(new Rng(seed, 'live'), catalogue(), rates, 'x');
  const versions: OrderVersion[] = [];
  let events = 0;
  let changes = 0;
  for (let m = 0; m < minutes * 6; m++) {
    const s = model.step(T0 + m * 10_000, T0 + (m + 1) * 10_000);
    versions.push(...s.versions);
    events += s.events.length;
    changes += s.changes.length;
  }
  return { versions, events, changes };
}

describe('live model', () => {
  it('is deterministic for a seed', () => {
    expect(run(4, 10)).toEqual(run(4, 10));
  });

  it('produces orders, events and changes near the configured rates', () => {
    const r = run(4, 60);
    const placed = r.versions.filter((v) => v.status === 'placed').length;
    expect(placed).toBeGreaterThan(30 * 60 * 0.85);
    expect(placed).toBeLessThan(30 * 60 * 1.15);
    expect(r.changes).toBeGreaterThan(6 * 60 * 0.7);
    expect(r.events).toBeGreaterThan(120 * 60);
  });

  it('moves each order through its statuses in time order, with updated_at increasing', () => {
    const r = run(8, 120);
    const byOrder = new Map<string, OrderVersion[]>();
    for (const v of r.versions) byOrder.set(v.order_id, [...(byOrder.get(v.order_id) ?? []), v]);
    const flows = new Set<string>();
    for (const vs of byOrder.values()) {
      expect(vs[0]?.status).toBe('placed');
      for (let i = 1; i < vs.length; i++) expect((vs[i]?.updated_at ?? '') > (vs[i - 1]?.updated_at ?? '')).toBe(true);
      flows.add(vs.map((v) => v.status).join('>'));
    }
    expect(flows.has('placed>paid>shipped>delivered')).toBe(true);
    expect([...flows].some((f) => f.includes('cancelled'))).toBe(true);
  });

  it('samples Poisson counts with the right mean', () => {
    const rng = new Rng(1, 'p');
    const n = 5000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += poisson(rng, 3);
    expect(Math.abs(sum / n - 3)).toBeLessThan(0.1);
  });
});
