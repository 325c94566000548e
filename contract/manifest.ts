import { z } from 'zod';

/**
 * manifest.json: what the generator was asked for and exactly what it planted, so tests and the
 * pipeline's reconciliation can check "received = loaded + quarantined + duplicates" per file.
 */
export const DEFECT_KINDS = [
  'duplicate', // same key sent again: event_id; order_id+updated_at; OrderID+ProductID
  'missing_value', // invalid: a required field absent, null or blank
  'wrong_column_count', // invalid: CSV row with more or fewer cells than its header
  'malformed_json', // invalid: JSON line that does not parse
  'bad_quantity', // invalid: quantity not a positive integer
  'bad_date', // invalid: date in a format the rules reject
  'accepted_date_format', // valid: date in an accepted but non-canonical format
  'text_case', // valid: text in the wrong case
  'text_whitespace', // valid: leading, trailing or repeated inner whitespace
  'text_unicode', // valid: text not in Unicode NFC
  'total_mismatch', // valid: Total disagrees with Quantity x Price
  'late_event', // valid: ts an hour or more before the latest ts seen earlier in the file
  'out_of_order_event', // valid: ts before the latest ts seen earlier, by less than an hour
] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

/** Kinds that make a record invalid (quarantined). The others are kept. */
export const INVALID_KINDS: readonly DefectKind[] = ['missing_value', 'wrong_column_count', 'malformed_json', 'bad_quantity', 'bad_date'];

/** What a churn model trained on the dataset should find: the behaviours that differ for churners. */
export const CHURN_DRIVERS = ['recency', 'frequency', 'return_rate', 'cart_to_order'] as const;

/** The planted churn signal: `churners` of the users churn at a moment in `window` (ISO), slowing down over `rampDays` first. */
export interface ChurnSummary { share: number; churners: number; rampDays: number; window: { from: string; to: string }; drivers: string[] }

export type DefectCounts = Record<DefectKind, number>;

export interface FileStats {
  /** Data lines, header excluded; duplicates and invalid lines included. */
  rows: number;
  /** Records that ingestion quarantines: sum of the invalid kinds. */
  invalid: number;
  /** Extra copies beyond the first; rows - invalid - duplicates records are loaded. */
  duplicates: number;
  defects: DefectCounts;
}

export interface Manifest {
  format: 'shop-dataset/v1';
  params: { seed: number; start: string; days: number; scale: number; dirt: 'none' | 'default' | 'heavy' };
  /** API orders and events cover [start, end); purchase files cover [start - days, start). */
  range: { start: string; end: string; purchasesStart: string };
  /** Keyed by path relative to the dataset folder, e.g. `purchases/purchases_2024-01-01.csv`. */
  files: Record<string, FileStats>;
  totals: FileStats;
  /** From `from` on, purchase files use `renamed` headers and carry the `added` columns. */
  schemaChange: { from: string; renamed: Record<string, string>; added: string[]; files: string[] } | null;
  /** Absent when no churn was planted (and in manifests written before churn was). */
  churn?: ChurnSummary;
}

const count = z.number().int().nonnegative();
const statsSchema = z.object({
  rows: count,
  invalid: count,
  duplicates: count,
  defects: z.record(z.enum(DEFECT_KINDS), count),
});

export const manifestSchema = z.object({
  format: z.literal('shop-dataset/v1'),
  params: z.object({ seed: z.number(), start: z.string(), days: z.number(), scale: z.number(), dirt: z.enum(['none', 'default', 'heavy']) }),
  range: z.object({ start: z.string(), end: z.string(), purchasesStart: z.string() }),
  files: z.record(z.string(), statsSchema),
  totals: statsSchema,
  schemaChange: z.object({ from: z.string(), renamed: z.record(z.string(), z.string()), added: z.array(z.string()), files: z.array(z.string()) }).nullable(),
  churn: z.object({
    share: z.number().min(0).max(1),
    churners: count,
    rampDays: z.number().positive(),
    window: z.object({ from: z.string(), to: z.string() }),
    drivers: z.array(z.string()),
  }).optional(),
});

export function emptyDefects(): DefectCounts {
  return Object.fromEntries(DEFECT_KINDS.map((k) => [k, 0])) as DefectCounts;
}

export function emptyStats(): FileStats {
  return { rows: 0, invalid: 0, duplicates: 0, defects: emptyDefects() };
}
