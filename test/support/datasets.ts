/**
 * Generated datasets for ingestion tests. Staging is shared by everyone's concurrent runs and the
 * generator's ids are the same for every seed (orders H500001…, events by sequence), so each test
 * namespaces the ids of its copy with a tag: its rows then collide with no other run's, while every
 * planted defect (and so the manifest's counts) stays as generated.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, type GenerateOptions } from '../../shop/generator';
import type { Manifest } from '../../contract/manifest';

export interface TestDataset { dir: string; manifest: Manifest; tag: string; remove(): void }

/** Generates a dataset and prefixes purchase OrderIDs and event_ids with `tag`. */
export async function taggedDataset(tag: string, options: Partial<Omit<GenerateOptions, 'out'>> = {}): Promise<TestDataset> {
  const dir = mkdtempSync(join(tmpdir(), `etl-${tag}-`));
  const { manifest } = await generateDataset({ seed: 7, start: '2024-03-01', days: 2, scale: 0.1, dirt: 'default', ...options, out: dir });
  const purchases = join(dir, 'purchases');
  for (const name of readdirSync(purchases)) {
    const path = join(purchases, name);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\bH(\d{6})\b/g, `${tag}-H$1`));
  }
  const events = join(dir, 'events.jsonl');
  writeFileSync(events, readFileSync(events, 'utf8').replace(/"event_id":"/g, `"event_id":"${tag}-`));
  return { dir, manifest, tag, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
