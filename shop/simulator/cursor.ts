/**
 * The orders API's opaque cursor: the sort key of the last version a page returned. Paging resumes
 * strictly after that key, so pages never overlap or skip, whatever `limit` each request uses.
 */

/** Total order of versions: updated_at instant, then order_id, then position in the source. */
export interface VersionKey { ms: number; orderId: string; seq: number }

export function compareKeys(a: VersionKey, b: VersionKey): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  if (a.orderId !== b.orderId) return a.orderId < b.orderId ? -1 : 1;
  return a.seq - b.seq;
}

export function encodeCursor(k: VersionKey): string {
  return Buffer.from(JSON.stringify([k.ms, k.orderId, k.seq]), 'utf8').toString('base64url');
}

/** Null when the text is not a cursor this API issued. */
export function decodeCursor(text: string): VersionKey | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 3) return null;
  const [ms, orderId, seq] = v as unknown[];
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) return null;
  if (typeof orderId !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return null;
  return { ms, orderId, seq };
}
