import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FILES } from '../../contract/layout';
import type { Manifest } from '../../contract/manifest';
import { parseDate } from '../../contract/rules';
import { writeCatalog } from './catalog';
import { churnSummary, DEFAULT_CHURN_SHARE, type ChurnPlan } from './churn';
import { writePurchases } from './purchases';
import { RATES, Tally } from './tally';
import { writeActivity } from './timeline';
import { writeUsers } from './users';

const DAY = 86_400_000;

/** Generator parameters. `start` is a UTC date; the API range is [start, start + days). */
export const generateOptionsSchema = z.object({
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'start must be a date YYYY-MM-DD').refine((s) => parseDate(s) !== null, 'start is not a real calendar date'),
  days: z.coerce.number().int().min(1).max(3660),
  scale: z.coerce.number().positive().max(1000),
  dirt: z.enum(['none', 'default', 'heavy']),
  out: z.string().min(1),
  /** Share of users who churn (churn.ts), DEFAULT_CHURN_SHARE when absent; 0 plants no churn at all. */
  churnShare: z.coerce.number().min(0).max(0.9).optional(),
});
export type GenerateOptions = z.infer<typeof generateOptionsSchema>;

export interface GenerateResult { manifest: Manifest; seconds: number }

/**
 * Writes a complete dataset folder (MISSION.md "Dataset layout") and its manifest. Same options give
 * byte-identical files: all randomness comes from `seed`, never from the clock.
 */
export async function generateDataset(options: GenerateOptions, clock: () => number = () => performance.now()): Promise<GenerateResult> {
  const o = generateOptionsSchema.parse(options);
  const began = clock();
  const start = (parseDate(o.start) as Date).getTime();
  const end = start + o.days * DAY;
  const purchasesStart = start - o.days * DAY;
  const rates = RATES[o.dirt];
  const churn: ChurnPlan = { share: o.churnShare ?? DEFAULT_CHURN_SHARE, from: purchasesStart, end };
  const tally = new Tally();
  mkdirSync(o.out, { recursive: true });
  for (const f of [FILES.products, FILES.users, FILES.inventory, FILES.reviews, FILES.orders, FILES.events]) tally.row(f, 0);

  const catalog = await writeCatalog(o.out, o.seed, o.scale, purchasesStart, start, end, rates, tally);
  const users = await writeUsers(o.out, o.seed, o.scale, purchasesStart, start, end, rates, tally);
  const schemaChange = await writePurchases({ dir: o.out, seed: o.seed, scale: o.scale, from: purchasesStart, days: o.days, users, catalog, rates, tally, churn });
  await writeActivity({ dir: o.out, seed: o.seed, scale: o.scale, start, days: o.days, users, catalog, rates, tally, churn });

  const iso = (ms: number) => new Date(ms).toISOString();
  const churned = churnSummary(o.seed, users, churn);
  const manifest: Manifest = {
    format: 'shop-dataset/v1',
    params: { seed: o.seed, start: o.start, days: o.days, scale: o.scale, dirt: o.dirt },
    range: { start: iso(start), end: iso(end), purchasesStart: iso(purchasesStart) },
    files: tally.sortedFiles(),
    totals: tally.totals(),
    schemaChange,
    ...(churned ? { churn: churned } : {}),
  };
  writeFileSync(join(o.out, FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, seconds: (clock() - began) / 1000 };
}
