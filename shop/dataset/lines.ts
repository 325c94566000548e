/** Streams the lines of a text file with their 1-based numbers, without holding the file in memory. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** The file's bytes, gunzipped when `gzip` (a `.csv.gz` / `.jsonl.gz` export). */
export function openText(path: string, gzip = false): Readable {
  const file = createReadStream(path);
  if (!gzip) return file;
  const gunzip = createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}

export async function* readLines(path: string, gzip = false): AsyncGenerator<{ line: string; n: number }> {
  const input = openText(path, gzip).setEncoding('utf8');
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    yield { line, n };
  }
}
