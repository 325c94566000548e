/**
 * Record kinds (`<field>=<variant>`) the pipelines mishandle today, found by this suite. The fast
 * fuzz test leaves them out, so it guards everything else; `npx tsx bench/fuzz.ts` sends them all
 * and reports each one (docs/fuzz.md, "Bugs found"). Delete a line when its bug is fixed.
 */
import type { FuzzSource } from './fuzz-suite';

export const KNOWN_GAPS: Partial<Record<FuzzSource, RegExp>> = {
  // Fixed since the suite found them (orders: 10,000-deep values, unstorable ids, quantities and
  // prices, altered ids, years 0-99; files: ids past the btree limit or not strings, prices rounding
  // past numeric(14,2), lone surrogates, years 0-99): lib/storable.ts, contract/rules.ts utc().
  // Still open: the catalog's select formats timestamps with to_char, which drops a BC era.
  catalog: /^reviews\.created_at=(BC|year 24)$|^users\.signup_date=year 24$/,
};
