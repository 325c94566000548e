/**
 * The planted churn signal: who churns is a pure function of seed and index, and a generated dataset
 * shows it where a churn model would look (recency, frequency, returns, abandoned carts) while the
 * streams churn does not concern stay as they were.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHURN_DRIVERS, type Manifest } from '../../contract/manifest';
import { openDataset, readEvents, readManifest, readOrders, readPurchaseFile } from '../../shop/dataset/read-sources';
import { generateDataset, type GenerateOptions } from '../../shop/generator';
import { activity, churnOf, churnSummary, DEFAULT_CHURN_SHARE, pickActiveUser, type ChurnPlan } from '../../shop/generator/churn';
import { Rng } from '../../shop/generator/prng';
import { userCount } from '../../shop/generator/users';

const DAY = 86_400_000;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function generate(options: Partial<GenerateOptions>): Promise<{ dir: string; manifest: Manifest }> {
  const dir = mkdtempSync(join(tmpdir(), 'gen-churn-'));
  dirs.push(dir);
  await generateDataset({ seed: 5, start: '2024-03-01', days: 20, scale: 0.05, dirt: 'none', out: dir, ...options });
  return { dir, manifest: readManifest(dir) ?? expect.fail('no manifest') };
}

/** The plan the generator used, rebuilt from the manifest's range alone. */
const planOf = (m: Manifest, share = DEFAULT_CHURN_SHARE): ChurnPlan => ({ share, from: Date.parse(m.range.purchasesStart), end: Date.parse(m.range.end) });
const indexOf = (userId: unknown) => Number(String(userId).slice(1)) - 100001;
const ratio = (a: number, b: number) => a / Math.max(b, 1);

describe('churnOf and activity', () => {
  const plan: ChurnPlan = { share: 0.3, from: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 41) };
  const span = plan.end - plan.from;

  it('makes about `share` of users churners, each with a moment in the window', () => {
    const all = Array.from({ length: 20_000 }, (_, i) => churnOf(9, i, plan));
    const churners = all.filter((c) => c.churner);
    expect(Math.abs(churners.length / all.length - 0.3)).toBeLessThan(0.02);
    expect(churners.every((c) => c.at >= plan.from + 0.3 * span - 1 && c.at <= plan.end + 0.3 * span)).toBe(true);
    // Some stop inside the data, some are only slowing down when it ends.
    expect(churners.filter((c) => c.at < plan.end).length).toBeGreaterThan(churners.length * 0.6);
    expect(churners.filter((c) => c.at >= plan.end).length).toBeGreaterThan(churners.length * 0.2);
    expect(Array.from({ length: 2_000 }, (_, i) => churnOf(9, i, { ...plan, share: 0 }).churner).some(Boolean)).toBe(false);
  });

  it('is 1 for non-churners; for churners it falls from 1 to 0 over the ramp, reaching 0 at the churn moment', () => {
    const times = Array.from({ length: 41 }, (_, k) => plan.from + (k * (1.5 * span)) / 40);
    for (let i = 0; i < 300; i++) {
      const { churner, at } = churnOf(9, i, plan);
      const a = times.map((t) => activity(9, i, t, plan));
      if (!churner) {
        expect(a.every((x) => x === 1)).toBe(true);
        continue;
      }
      expect(a.every((x, k) => x >= 0 && x <= 1 && (k === 0 || x <= (a[k - 1] ?? 1)))).toBe(true);
      expect([activity(9, i, at - 0.4 * span - 1, plan), activity(9, i, at, plan), activity(9, i, at + DAY, plan)]).toEqual([1, 0, 0]);
      expect(activity(9, i, at - 0.2 * span, plan)).toBeCloseTo(0.5, 6);
    }
  });

  it('never picks a user who has stopped, and picks those slowing down less often', () => {
    const [rng, churnRng] = [new Rng(3, 'a'), new Rng(3, 'b')];
    // Past every churn moment, with nine users in ten churners: most first picks must be re-picked.
    const gone = { ...plan, share: 0.9 };
    const picks = Array.from({ length: 5_000 }, () => pickActiveUser(rng, churnRng, 200, 9, plan.end + span, gone));
    expect(picks.filter((u) => churnOf(9, u, gone).churner)).toEqual([]);
    // Churners part-way down their ramp at `t` (activity 0.25 to 0.75) are picked about half as often as without churn.
    const t = plan.end - 0.2 * span;
    const picked = Array.from({ length: 20_000 }, () => pickActiveUser(rng, churnRng, 2_000, 9, t, plan));
    const plain = Array.from({ length: 20_000 }, () => pickActiveUser(rng, churnRng, 2_000, 9, t, { ...plan, share: 0 }));
    const slowing = (u: number) => { const a = activity(9, u, t, plan); return a > 0.25 && a < 0.75; };
    expect(picked.filter(slowing).length).toBeLessThan(plain.filter(slowing).length * 0.75);
    expect(picked.filter((u) => activity(9, u, t, plan) === 0)).toEqual([]);
  });
});

describe('a generated dataset carries the signal', () => {
  let dir: string;
  let manifest: Manifest;
  let plan: ChurnPlan;
  beforeAll(async () => {
    ({ dir, manifest } = await generate({}));
    plan = planOf(manifest);
  });

  it('the manifest states the churn a recount finds', () => {
    const users = userCount(0.05);
    const churners = Array.from({ length: users }, (_, i) => churnOf(5, i, plan).churner).filter(Boolean).length;
    expect(manifest.churn).toEqual({
      share: 0.3, churners, rampDays: 16, drivers: [...CHURN_DRIVERS],
      window: { from: new Date(plan.from + 12 * DAY).toISOString(), to: new Date(plan.end + 12 * DAY).toISOString() },
    });
    expect(churners).toBeGreaterThan(users * 0.25);
    expect(churnSummary(5, users, { ...plan, share: 0 })).toBeNull();
  });

  it('churners visit less and less, never after their churn moment, and abandon more carts', async () => {
    const start = Date.parse(manifest.range.start);
    const quarter = (Date.parse(manifest.range.end) - start) / 4;
    // Per group (churner or not): sessions in the first and last quarter, sessions with a cart and with an order.
    const sessions = new Map<string, { churner: boolean; q: number; cart: boolean; order: boolean }>();
    const late: string[] = [];
    for await (const { event } of readEvents(dir)) {
      if (event.event_name === 'return') continue; // returns come after delivery, not in a visit
      const ts = Date.parse(String(event.ts));
      const c = churnOf(5, indexOf(event.user_id), plan);
      if (ts > c.at) late.push(`${String(event.user_id)} ${String(event.ts)}`);
      const id = String(event.session_id);
      const s = sessions.get(id) ?? { churner: c.churner, q: Math.floor((ts - start) / quarter), cart: false, order: false };
      s.cart ||= event.event_name === 'add_to_cart';
      s.order ||= event.event_name === 'order';
      sessions.set(id, s);
    }
    expect(late).toEqual([]);
    const count = (f: (s: { churner: boolean; q: number; cart: boolean; order: boolean }) => boolean) => [...sessions.values()].filter(f).length;
    const churnShareIn = (q: number) => ratio(count((s) => s.churner && s.q === q), count((s) => s.q === q));
    expect(churnShareIn(0)).toBeGreaterThan(0.05);
    expect(churnShareIn(3)).toBeLessThan(churnShareIn(0) * 0.5);
    const checkout = (churner: boolean) => ratio(count((s) => s.churner === churner && s.order), count((s) => s.churner === churner && s.cart));
    expect(checkout(false)).toBeGreaterThan(0.65);
    expect(checkout(true)).toBeLessThan(checkout(false) - 0.15);
  });

  it('churners return a clearly larger share of their orders', async () => {
    const orders = new Map<string, { churner: boolean; returned: boolean }>();
    for await (const { order } of readOrders(dir)) {
      const o = orders.get(String(order.order_id)) ?? { churner: churnOf(5, indexOf(order.user_id), plan).churner, returned: false };
      o.returned ||= order.status === 'returned';
      orders.set(String(order.order_id), o);
    }
    const rate = (churner: boolean) => {
      const mine = [...orders.values()].filter((o) => o.churner === churner);
      return ratio(mine.filter((o) => o.returned).length, mine.length);
    };
    expect(rate(true)).toBeGreaterThan(rate(false) * 2.5);
  });

  it('no churner buys in the purchase files on or after the day of its churn moment', async () => {
    const after: string[] = [];
    for (const file of openDataset(dir).purchases) {
      for await (const { check } of readPurchaseFile(dir, file)) {
        if (!check.ok) throw new Error(`${file.path}: ${check.reason}`);
        const at = churnOf(5, indexOf(check.value.customerId), plan).at;
        if (check.value.orderDate.getTime() >= Math.floor(at / DAY) * DAY) after.push(`${check.value.customerId} ${file.path}`);
      }
    }
    expect(after).toEqual([]);
  });
});

describe('churn leaves the other streams alone', () => {
  it('with churn off, purchase files differ from churn on only in their customers', async () => {
    const [on, off] = [await generate({ days: 4 }), await generate({ days: 4, churnShare: 0 })];
    expect(off.manifest.churn).toBeUndefined();
    let customers = 0;
    for (const file of openDataset(on.dir).purchases) {
      const rows = (d: string) => readFileSync(join(d, file.path), 'utf8').split('\n').map((l) => l.replace(/^(\{"CustomerID":"|)U\d+/, '$1U'));
      expect(rows(on.dir)).toEqual(rows(off.dir));
      customers += Number(readFileSync(join(on.dir, file.path), 'utf8') !== readFileSync(join(off.dir, file.path), 'utf8'));
    }
    expect(customers).toBeGreaterThan(0);
    const events = (m: Manifest) => m.files['events.jsonl']?.rows ?? 0;
    expect(Math.abs(events(on.manifest) / events(off.manifest) - 1)).toBeLessThan(0.05);
  });
});
