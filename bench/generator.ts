/**
 * Generator throughput and memory. Run under /usr/bin/time -v for an outside view of max RSS:
 *   /usr/bin/time -v npx tsx bench/generator.ts --scale 1 --days 1
 * Prints rows, seconds, rows/s and the process's own peak RSS (process.resourceUsage().maxRSS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from '../shop/generator';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, days: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
  const out = mkdtempSync(join(tmpdir(), 'gen-bench-'));
  try {
    const { manifest, seconds } = await generateDataset({ seed: 1, start: '2024-01-01', days: Number(values.days), scale: Number(values.scale), dirt: 'default', out });
    const rows = manifest.totals.rows;
    const events = manifest.files['events.jsonl']?.rows ?? 0;
    const orders = manifest.files['orders.jsonl']?.rows ?? 0;
    console.log(JSON.stringify({ scale: Number(values.scale), days: Number(values.days), rows, events, orderVersions: orders, seconds: Number(seconds.toFixed(2)), rowsPerSecond: Math.round(rows / seconds), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  } finally {
    if (values.keep) console.log(`kept ${out}`);
    else rmSync(out, { recursive: true, force: true });
  }
}

void main();
