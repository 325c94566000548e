/**
 * The CSV reader with and without its plain-line path (activities/files/csv.ts), on three local
 * inputs read in 64 KiB chunks (16 KiB for the runaway quote, as gunzip hands them on):
 * - plain: --rows generator purchase lines (dirt none), no quote anywhere;
 * - quoted: the same lines with their last field quoted ("187.27"), so every line has a quote;
 * - runaway: a header, one quote never closed, 600,000 short lines after it and 1,000 data lines
 *   (the 1 MiB size cap cuts the open record; csv-parse reads on after it).
 * No services. Rounds alternate the two ways; prints the medians and their ratio per input, and
 * checks that both ways give the same number of records.
 *   npx tsx bench/csv-reader.ts --rows 200000 --rounds 3
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { readCsvBatches } from '../activities/files/csv';
import { writePurchaseFile } from './purchase-file';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } });
  const dir = mkdtempSync(join(tmpdir(), 'bench-csv-'));
  try {
    const plain = join(dir, 'plain.csv');
    await writePurchaseFile(plain, { rows: Number(values.rows) }, 'csv');
    const quoted = join(dir, 'quoted.csv');
    writeFileSync(quoted, readFileSync(plain, 'utf8').replace(/,([^,\n]*)\n/g, ',"$1"\n'));
    const runaway = join(dir, 'runaway.csv');
    writeFileSync(runaway, `CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total\nC1,"O1,2024-01-01\n${'x\n'.repeat(600_000)}${'C2,O2,2024-01-01,P1,N,1,1.00,1.00\n'.repeat(1000)}`);
    const inputs: Array<[string, string, number]> = [['plain', plain, 1 << 16], ['quoted', quoted, 1 << 16], ['runaway', runaway, 1 << 14]];
    for (const [name, path, chunk] of inputs) {
      const times: Record<'plainLines' | 'csvParse', number[]> = { plainLines: [], csvParse: [] };
      const counts = new Set<number>();
      for (let round = 0; round < Number(values.rounds); round++) {
        const ways = round % 2 === 0 ? (['plainLines', 'csvParse'] as const) : (['csvParse', 'plainLines'] as const);
        for (const way of ways) {
          const t = performance.now();
          let n = 0;
          const body: Readable = createReadStream(path, { highWaterMark: chunk });
          for await (const batch of readCsvBatches(body, undefined, undefined, way === 'plainLines')) n += batch.length;
          times[way].push((performance.now() - t) / 1000);
          counts.add(n);
        }
      }
      if (counts.size !== 1) throw new Error(`${name}: the two ways gave different record counts: ${[...counts].join(', ')}`);
      const p = median(times.plainLines);
      const c = median(times.csvParse);
      console.log(JSON.stringify({ input: name, records: [...counts][0], plainLinesSeconds: +p.toFixed(3), csvParseSeconds: +c.toFixed(3), speedUp: +(c / p).toFixed(1) }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
