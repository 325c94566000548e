import { emptyStats, INVALID_KINDS, type DefectKind, type FileStats } from '../../contract/manifest';

export type Dirt = 'none' | 'default' | 'heavy';

/** Per-record probabilities of each planted defect. `heavy` is a stress test, not realism. */
export interface DefectRates {
  eventDuplicate: number; eventLate: number; eventOutOfOrder: number; eventMissing: number; eventBadDate: number;
  orderDuplicate: number;
  purchaseDuplicate: number; purchaseMissing: number; purchaseColumns: number; purchaseQuantity: number;
  purchaseBadDate: number; purchaseAcceptedDate: number; purchaseTotal: number; purchaseText: number;
  catalogText: number;
  schemaChange: boolean;
}

const DEFAULT: DefectRates = {
  eventDuplicate: 0.01, eventLate: 0.002, eventOutOfOrder: 0.005, eventMissing: 0.002, eventBadDate: 0.001,
  orderDuplicate: 0.01,
  purchaseDuplicate: 0.01, purchaseMissing: 0.01, purchaseColumns: 0.005, purchaseQuantity: 0.005,
  purchaseBadDate: 0.005, purchaseAcceptedDate: 0.05, purchaseTotal: 0.01, purchaseText: 0.03,
  catalogText: 0.05,
  schemaChange: true,
};

const scaled = (factor: number): DefectRates => ({
  ...(Object.fromEntries(Object.entries(DEFAULT).map(([k, v]) => [k, typeof v === 'number' ? v * factor : v])) as unknown as DefectRates),
  schemaChange: factor > 0,
});

export const RATES: Record<Dirt, DefectRates> = { none: scaled(0), default: DEFAULT, heavy: scaled(5) };

/** Counts rows and planted defects per file as they are written: the manifest is this tally. */
export class Tally {
  readonly files: Record<string, FileStats> = {};

  private stats(file: string): FileStats {
    return (this.files[file] ??= emptyStats());
  }

  row(file: string, n = 1): void {
    this.stats(file).rows += n;
  }

  defect(file: string, kind: DefectKind, n = 1): void {
    const s = this.stats(file);
    s.defects[kind] += n;
    if (INVALID_KINDS.includes(kind)) s.invalid += n;
    if (kind === 'duplicate') s.duplicates += n;
  }

  totals(): FileStats {
    const t = emptyStats();
    for (const s of Object.values(this.files)) {
      t.rows += s.rows;
      t.invalid += s.invalid;
      t.duplicates += s.duplicates;
      for (const [k, v] of Object.entries(s.defects)) t.defects[k as DefectKind] += v;
    }
    return t;
  }

  /** Files sorted by path, so the manifest's bytes do not depend on write order. */
  sortedFiles(): Record<string, FileStats> {
    return Object.fromEntries(Object.keys(this.files).sort().map((k) => [k, this.files[k] as FileStats]));
  }
}
