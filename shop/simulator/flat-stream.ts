/**
 * A synthetic behaviour stream for spike tests: steady per-minute rates per event type with a
 * little deterministic jitter, and optionally one event type multiplied by `factor` for a few
 * minutes (what `etl shop spike` does live, compressed in event time so a test need not wait for
 * the wall clock).
 */
export interface SpikeSpec { event: string; factor: number; fromMinute: number; minutes: number }

export const FLAT_RATES: Record<string, number> = { view: 120, add_to_cart: 40, wishlist: 10, order: 8, return: 3 };

export function flatStream(tag: string, era: Date, minutes: number, spike?: SpikeSpec): string[] {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines: string[] = [];
  let n = 0;
  for (let m = 0; m < minutes; m++) {
    for (const [event, rate] of Object.entries(FLAT_RATES)) {
      const boosted = spike && spike.event === event && m >= spike.fromMinute && m < spike.fromMinute + spike.minutes ? rate * spike.factor : rate;
      const count = Math.round(boosted * (0.9 + 0.2 * rnd()));
      for (let k = 0; k < count; k++) {
        const user = `U${1 + Math.floor(rnd() * 500)}`;
        const ts = new Date(era.getTime() + m * 60_000 + Math.floor(rnd() * 60_000)).toISOString();
        const needsOrder = event === 'order' || event === 'return';
        lines.push(JSON.stringify({
          event_id: `${tag}-F${++n}`, event_name: event, user_id: user, session_id: `S${user}-${Math.floor(m / 30)}`, product_id: `P${1000 + Math.floor(rnd() * 50)}`,
          order_id: needsOrder ? `${tag}-O${n}` : null, price: '10.00', ts,
        }));
      }
    }
  }
  return lines;
}
