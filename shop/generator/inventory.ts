import { csvRow } from '../dataset/csv';
import { FILES, INVENTORY_COLUMNS } from '../../contract/layout';
import type { LineWriter } from './line-writer';
import { WAREHOUSES } from './names';
import type { Rng } from './prng';
import type { Tally } from './tally';

const REORDER_POINT = 25;

/**
 * Stock per product and warehouse. Sales draw it down; snapshots write the levels that changed, and
 * anything under the reorder point is restocked by the next snapshot, as a weekly supplier would.
 */
export class Inventory {
  private readonly levels: Int32Array;
  private readonly changed: Uint8Array;
  private readonly reorder: Uint8Array;

  constructor(private readonly productIds: readonly string[], private readonly out: LineWriter, private readonly rng: Rng, private readonly tally: Tally) {
    this.levels = new Int32Array(productIds.length * WAREHOUSES.length);
    this.changed = new Uint8Array(this.levels.length);
    this.reorder = new Uint8Array(this.levels.length);
    for (let i = 0; i < this.levels.length; i++) {
      this.levels[i] = rng.int(40, 400);
      this.changed[i] = 1;
    }
  }

  sell(product: number, warehouse: number, quantity: number): void {
    const i = product * WAREHOUSES.length + warehouse;
    this.levels[i] = Math.max(0, (this.levels[i] ?? 0) - quantity);
    this.changed[i] = 1;
  }

  async snapshot(ts: number): Promise<void> {
    const at = new Date(ts).toISOString();
    for (let i = 0; i < this.levels.length; i++) {
      if (this.reorder[i]) {
        this.levels[i] = (this.levels[i] ?? 0) + this.rng.int(100, 400);
        this.reorder[i] = 0;
        this.changed[i] = 1;
      }
      if (!this.changed[i]) continue;
      this.changed[i] = 0;
      const level = this.levels[i] ?? 0;
      if (level < REORDER_POINT) this.reorder[i] = 1;
      const product = this.productIds[Math.floor(i / WAREHOUSES.length)];
      this.tally.row(FILES.inventory);
      const p = this.out.write(csvRow([product, WAREHOUSES[i % WAREHOUSES.length], level, at]));
      if (p) await p;
    }
  }

  close(): Promise<void> {
    return this.out.close();
  }

  async header(): Promise<void> {
    await this.out.write(csvRow(INVENTORY_COLUMNS), false);
  }
}
