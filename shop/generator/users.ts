import { join } from 'node:path';
import { csvRow } from '../dataset/csv';
import { FILES, USERS_COLUMNS } from '../../contract/layout';
import { LineWriter } from './line-writer';
import { COUNTRIES, COUNTRY_WEIGHTS, FIRST_NAMES, LAST_NAMES } from './names';
import { mixSeed, Rng, Weighted } from './prng';
import type { DefectRates, Tally } from './tally';
import { asciiSlug, dirtyText } from './text-defects';

const DAY = 86_400_000;

export function userCount(scale: number): number {
  return Math.max(50, Math.round(20_000 * scale));
}

export const userId = (index: number): string => `U${100001 + index}`;

const countries = new Weighted(COUNTRY_WEIGHTS);

/**
 * A user's country is a pure function of seed and index, so sessions and warehouses can use it
 * without keeping millions of users in memory at large scales.
 */
export function countryOf(seed: number, index: number): string {
  return COUNTRIES[countries.at(mixSeed(seed, `country/${index}`) / 4294967296)] ?? 'US';
}

/** Heavy users come back often: a skewed pick over user indexes. */
export function pickUser(rng: Rng, count: number): number {
  return Math.min(count - 1, Math.floor(count * Math.pow(rng.next(), 1.6)));
}

/** Streams users.csv: everyone signs up before the data starts; some change e-mail during the range. */
export async function writeUsers(dir: string, seed: number, scale: number, since: number, start: number, end: number, rates: DefectRates, tally: Tally): Promise<number> {
  const rng = new Rng(seed, 'users');
  const dirt = new Rng(seed, 'users-dirt');
  const n = userCount(scale);
  const out = new LineWriter(join(dir, FILES.users));
  await out.write(csvRow(USERS_COLUMNS), false);
  const row = async (cells: Array<string>) => {
    let name = cells[1] as string;
    if (dirt.chance(rates.catalogText)) {
      const d = dirtyText(dirt, name);
      name = d.text;
      tally.defect(FILES.users, d.kind);
    }
    tally.row(FILES.users);
    await out.write(csvRow([cells[0], name, ...cells.slice(2)]));
  };
  for (let i = 0; i < n; i++) {
    const name = `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
    const signup = since - rng.int(1, 730) * DAY;
    const signedUpAt = signup + rng.int(0, DAY - 1);
    const email = `${asciiSlug(name)}.${i + 1}@example.com`;
    const country = countryOf(seed, i);
    await row([userId(i), name, email, country, new Date(signup).toISOString().slice(0, 10), new Date(signedUpAt).toISOString()]);
    if (rng.chance(0.05)) {
      const changedAt = start + Math.floor(rng.next() * (end - start));
      await row([userId(i), name, `${asciiSlug(name)}.${i + 1}@mail.example.org`, country, new Date(signup).toISOString().slice(0, 10), new Date(changedAt).toISOString()]);
    }
  }
  await out.close();
  return n;
}
