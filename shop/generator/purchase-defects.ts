import type { DefectKind } from '../../contract/manifest';
import type { Rng } from './prng';
import type { DefectRates } from './tally';
import { dirtyText } from './text-defects';

/** A purchase line as text cells keyed by canonical column name. */
export type PurchaseCells = Record<'CustomerID' | 'OrderID' | 'OrderDate' | 'ProductID' | 'ProductName' | 'Quantity' | 'Price' | 'Total', string>;

/** Formats the rules reject: US and European orders, a space instead of T, words, impossible dates. */
const BAD_DATES: Array<(d: string) => string> = [
  (d) => `${d.slice(5, 7)}/${d.slice(8, 10)}/${d.slice(0, 4)}`,
  (d) => `${d.slice(8, 10)}.${d.slice(5, 7)}.${d.slice(0, 4)}`,
  (d) => `${d} 10:15`,
  (d) => `${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(d.slice(5, 7)) - 1]} ${Number(d.slice(8, 10))} ${d.slice(0, 4)}`,
  (d) => `${d.slice(0, 4)}-13-${d.slice(8, 10)}`,
  (d) => `${d.slice(0, 8)}32`,
];

/** Formats the rules accept; offsets are chosen so the UTC date stays the order's date. */
const ACCEPTED_DATES: Array<(d: string) => string> = [
  (d) => d.replace(/-/g, '/'),
  (d) => `${d}T10:15:00Z`,
  (d) => `${d}T12:15:00+02:00`,
  (d) => `${d}T09:30:00`,
  (d) => `${d}T08:00:00.250-03:00`,
];

const BAD_QUANTITIES = ['two', '1.5', '-1', '0', '3x', 'N/A'];

/**
 * Plants at most one defect in a clean line, so every line has one known kind and the manifest's
 * counts are exact. `wrong_column_count` is returned as a kind; the writer changes the cell count.
 */
export function plantPurchaseDefect(rng: Rng, r: DefectRates, cells: PurchaseCells): DefectKind | null {
  const steps: Array<[number, DefectKind]> = [
    [r.purchaseMissing, 'missing_value'], [r.purchaseColumns, 'wrong_column_count'], [r.purchaseQuantity, 'bad_quantity'],
    [r.purchaseBadDate, 'bad_date'], [r.purchaseAcceptedDate, 'accepted_date_format'], [r.purchaseTotal, 'total_mismatch'],
    [r.purchaseText, 'text_case'],
  ];
  let u = rng.next();
  for (const [p, kind] of steps) {
    if (u >= p) {
      u -= p;
      continue;
    }
    switch (kind) {
      case 'missing_value':
        cells[rng.pick(['CustomerID', 'Quantity', 'Price', 'OrderDate'] as const)] = '';
        return kind;
      case 'bad_quantity':
        cells.Quantity = rng.pick(BAD_QUANTITIES);
        return kind;
      case 'bad_date':
        cells.OrderDate = rng.pick(BAD_DATES)(cells.OrderDate);
        return kind;
      case 'accepted_date_format':
        cells.OrderDate = rng.pick(ACCEPTED_DATES)(cells.OrderDate);
        return kind;
      case 'total_mismatch': {
        const cents = Math.round(Number(cells.Total) * 100);
        const wrong = rng.chance(0.5) ? cents + rng.int(1, 500) : Math.round(cents * 1.1) + 1;
        cells.Total = `${Math.floor(wrong / 100)}.${String(wrong % 100).padStart(2, '0')}`;
        return kind;
      }
      case 'text_case': {
        const d = dirtyText(rng, cells.ProductName);
        cells.ProductName = d.text;
        return d.kind;
      }
      default:
        return kind;
    }
  }
  return null;
}
