/**
 * Parameters of GET /orders. Pure, so every 400 the API can answer is unit-tested: each error names
 * the parameter and says what a valid value looks like.
 */
import { parseDate } from '../../contract/rules';
import { decodeCursor, type VersionKey } from './cursor';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

export interface OrdersQuery { since: number; before: number; after: VersionKey | null; limit: number }
export type ParsedQuery = { ok: true; query: OrdersQuery } | { ok: false; parameter: string; message: string };

const KNOWN = new Set(['updated_since', 'updated_before', 'cursor', 'limit']);

function instant(params: URLSearchParams, name: string): number | null | 'bad' {
  const v = params.get(name);
  if (v === null) return null;
  const d = parseDate(v);
  return d ? d.getTime() : 'bad';
}

export function parseOrdersQuery(params: URLSearchParams): ParsedQuery {
  const bad = (parameter: string, message: string): ParsedQuery => ({ ok: false, parameter, message });
  for (const name of params.keys()) {
    if (!KNOWN.has(name)) return bad(name, `unknown parameter ${name}; use updated_since, updated_before, cursor, limit`);
    if (params.getAll(name).length > 1) return bad(name, `${name} given more than once`);
  }
  const since = instant(params, 'updated_since');
  if (since === 'bad') return bad('updated_since', 'updated_since must be an ISO 8601 date-time, e.g. 2024-01-01T00:00:00Z');
  const before = instant(params, 'updated_before');
  if (before === 'bad') return bad('updated_before', 'updated_before must be an ISO 8601 date-time, e.g. 2024-01-02T00:00:00Z');
  if (since !== null && before !== null && since >= before) {
    return bad('updated_since', 'updated_since must be earlier than updated_before (the window is [updated_since, updated_before))');
  }
  let limit = DEFAULT_LIMIT;
  const rawLimit = params.get('limit');
  if (rawLimit !== null) {
    limit = /^\d{1,5}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) return bad('limit', `limit must be an integer in 1..${MAX_LIMIT}`);
  }
  let after: VersionKey | null = null;
  const rawCursor = params.get('cursor');
  if (rawCursor !== null) {
    after = decodeCursor(rawCursor);
    if (!after) return bad('cursor', 'cursor is not one this API issued; pass next_cursor from a previous page unchanged');
  }
  return { ok: true, query: { since: since ?? -8.64e15, before: before ?? 8.64e15, after, limit } };
}
