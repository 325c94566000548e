import type { ShopEvent } from '../../contract/layout';
import { FILES } from '../../contract/layout';
import type { LineWriter } from './line-writer';
import { TimeHeap } from './line-writer';
import type { Rng } from './prng';
import type { DefectRates, Tally } from './tally';

const MIN = 60_000;
const HOUR = 60 * MIN;
const BAD_TS = [(iso: string) => iso.replace('T', ' ').slice(0, 19), (iso: string) => String(Math.floor(Date.parse(iso) / 1000)), (iso: string) => `${iso.slice(0, 5)}13${iso.slice(7)}`];

interface Held { ts: number; seq: number; line: string; eventTs: number; duplicate: boolean }

/**
 * Writes events in time order and plants the stream defects: resent duplicates, events held back
 * (out of order, or late by hours) and broken events. Lateness is measured, not assumed, exactly
 * as a reader would: against the latest ts of the valid first occurrences written before it.
 */
export class EventSink {
  private readonly held = new TimeHeap<Held>();
  private seq = 0;
  private maxTs = -Infinity;

  constructor(private readonly out: LineWriter, private readonly rng: Rng, private readonly rates: DefectRates, private readonly tally: Tally) {}

  async emit(ev: ShopEvent, ts: number): Promise<void> {
    await this.release(ts);
    const r = this.rates;
    const line = JSON.stringify(ev) + '\n';
    let u = this.rng.next();
    if (ev.event_name === 'view' && (u -= r.eventMissing) < 0) {
      const broken: Record<string, unknown> = { ...ev };
      delete broken[this.rng.pick(['event_name', 'user_id', 'session_id', 'product_id', 'ts'])];
      return this.write(JSON.stringify(broken) + '\n', ts, 'missing_value');
    }
    if (ev.event_name === 'view' && (u -= r.eventBadDate) < 0) {
      return this.write(JSON.stringify({ ...ev, ts: this.rng.pick(BAD_TS)(ev.ts) }) + '\n', ts, 'bad_date');
    }
    if ((u -= r.eventLate) < 0) return this.hold(line, ts, ts + this.rng.int(90 * MIN, 6 * HOUR), false);
    if ((u -= r.eventOutOfOrder) < 0) return this.hold(line, ts, ts + this.rng.int(MIN, 20 * MIN), false);
    if ((u -= r.eventDuplicate) < 0) this.hold(line, ts, ts + this.rng.int(HOUR, 4 * HOUR), true);
    return this.write(line, ts, null);
  }

  private hold(line: string, eventTs: number, releaseAt: number, duplicate: boolean): void {
    this.held.push({ ts: releaseAt, seq: this.seq++, line, eventTs, duplicate });
  }

  /** Lets out held events whose time has come; at the end of the data, everything. */
  async release(now: number): Promise<void> {
    for (let h = this.held.peek(); h && h.ts <= now; h = this.held.peek()) {
      this.held.pop();
      if (h.duplicate) {
        this.tally.row(FILES.events);
        this.tally.defect(FILES.events, 'duplicate');
        const p = this.out.write(h.line);
        if (p) await p;
      } else {
        await this.write(h.line, h.eventTs, null);
      }
    }
  }

  private async write(line: string, ts: number, invalid: 'missing_value' | 'bad_date' | null): Promise<void> {
    this.tally.row(FILES.events);
    if (invalid) this.tally.defect(FILES.events, invalid);
    else {
      const lag = this.maxTs - ts;
      if (lag >= HOUR) this.tally.defect(FILES.events, 'late_event');
      else if (lag > 0) this.tally.defect(FILES.events, 'out_of_order_event');
      this.maxTs = Math.max(this.maxTs, ts);
    }
    const p = this.out.write(line);
    if (p) await p;
  }
}
