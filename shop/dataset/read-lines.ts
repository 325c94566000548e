import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A dataset that breaks the layout. The message names the file, line and field to fix. */
export class DatasetError extends Error {
  constructor(readonly file: string, readonly line: number | null, readonly field: string | null, reason: string) {
    super(`${file}${line !== null ? `:${line}` : ''}${field ? ` field ${field}` : ''}: ${reason}`);
    this.name = 'DatasetError';
  }
}

/** Streams non-empty lines with 1-based numbers; a missing file becomes a DatasetError naming it. */
export async function* readLines(path: string, file: string): AsyncGenerator<{ text: string; line: number }> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(file, null, null, code === 'ENOENT' ? 'file is missing' : `cannot be read (${String(code)})`);
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw; // spreadsheet exports start with a BOM
    if (text.trim() !== '') yield { text, line };
  }
}

/** Parses a JSON-lines line into an object, or says why it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object';
}
