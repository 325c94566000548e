/**
 * The transform extract's per-row work in Node (activities/transform/extract.ts): every COPY line
 * an event window moves from staging to analytics has its user id replaced by the pseudonym.
 * Two ways over the same generated COPY text, in 64 KiB chunks through `mapCopyLines`:
 * - now: `rewriteCell` (the one cell rewritten in place) with `pseudonymizer` (answers remembered);
 * - before (stop 33's code, written out here): each line split into its cells and joined again, an
 *   HMAC per row (`pseudonym`).
 * No services. Rounds alternate the two ways; prints the medians and their ratio, and checks that
 * both ways give the same bytes.
 *   npx tsx bench/copy-rewrite.ts --lines 931000 --users 100000 --rounds 3
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { decodeCopyCell, mapCopyLines, rewriteCell } from '../lib/copy-transfer';
import { pseudonym, pseudonymizer } from '../lib/pseudonym';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const KEY = 'bench-pseudonym-key';
const USER = 2; // the events select's user column (activities/transform/sources.ts)

/** Stop 33's line map: split, rewrite the cell, join. */
const before = (line: string) => {
  const cells = line.split('\t');
  const v = decodeCopyCell(cells[USER] ?? '\\N');
  cells[USER] = v === null || v.trim() === '' ? '\\N' : pseudonym(v, KEY);
  return cells.join('\t');
};

async function run(chunks: Buffer[], map: (line: string) => string): Promise<{ ms: number; digest: string }> {
  const hash = createHash('sha256');
  const t = performance.now();
  await pipeline(Readable.from(chunks), mapCopyLines(map), new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done();
    },
  }));
  return { ms: performance.now() - t, digest: hash.digest('hex') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    lines: { type: 'string', default: '931000' }, users: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' },
  } });
  const lines = Number(values.lines);
  const users = Number(values.users);
  // An event window's COPY text: event_id, event_name, user_id, session_id, product_id, order_id, price, ts.
  const rows: string[] = [];
  for (let i = 0; i < lines; i++) {
    rows.push(`ev-${i.toString(16).padStart(12, '0')}\tview\tuser-${i % users}\tsess-${i % (users * 3)}\tprod-${i % 5000}\t\\N\t\\N\t2107-09-03 12:00:00+00`);
  }
  const text = Buffer.from(rows.join('\n') + '\n');
  const chunks: Buffer[] = [];
  for (let o = 0; o < text.length; o += 1 << 16) chunks.push(text.subarray(o, o + (1 << 16)));
  const times: Record<'now' | 'before', number[]> = { now: [], before: [] };
  const digests = new Set<string>();
  for (let round = 0; round < Number(values.rounds); round++) {
    const ways = round % 2 === 0 ? (['now', 'before'] as const) : (['before', 'now'] as const);
    for (const way of ways) {
      // A fresh pseudonymizer per pass, as each extract makes its own.
      const r = await run(chunks, way === 'now' ? rewriteCell(USER, pseudonymizer(KEY)) : before);
      times[way].push(r.ms);
      digests.add(r.digest);
    }
  }
  if (digests.size !== 1) throw new Error(`the two ways wrote different bytes (${digests.size} digests)`);
  const now = median(times.now);
  const old = median(times.before);
  console.log(`${lines} COPY lines of ${users} users (${(text.length / 2 ** 20).toFixed(1)} MiB), medians of ${values.rounds}:`);
  console.log(`  now    (rewriteCell + pseudonymizer): ${(now / 1000).toFixed(3)} s  (${times.now.map((t) => (t / 1000).toFixed(3)).join(', ')})`);
  console.log(`  before (split/join + HMAC per row):   ${(old / 1000).toFixed(3)} s  (${times.before.map((t) => (t / 1000).toFixed(3)).join(', ')})`);
  console.log(`  now / before: ${(now / old).toFixed(2)}; both wrote the same bytes`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
