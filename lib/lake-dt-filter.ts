/**
 * Partition pruning for `etl lake query`: which dt partitions can a query possibly need? Decided on
 * DuckDB's own parse tree (json_serialize_sql), never on the SQL text, where `dt` may sit in a
 * comment, a string, a FILTER clause or a subquery. Pruning must never change an answer, so it is
 * done only where rows the pruned partitions hold could reach no part of the result: one SELECT over
 * one base table read once (no join, CTE, set operation, sample or second reference), pruned by the
 * top-level AND-ed WHERE conjuncts that compare that table's dt with a date literal. Anything else
 * reads every partition.
 */
import { DuckDBInstance } from '@duckdb/node-api';

type Json = Record<string, unknown>;
export type DtPredicate = (dt: string) => boolean;

const obj = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const lower = (v: unknown) => String(v).toLowerCase();

/** DuckDB's parse tree of `sql`, or null when it has none (a syntax error, or not one or more SELECTs). */
export async function parseSql(sql: string): Promise<Json | null> {
  // Only parses (the SQL is a bound parameter), but the instance needs no file access either way.
  const db = await DuckDBInstance.create(':memory:', { enable_external_access: 'false' });
  const con = await db.connect();
  try {
    const r = await con.runAndReadAll('select json_serialize_sql($1::varchar)', [sql]);
    const tree = obj(JSON.parse(String(r.getRows()[0]?.[0])));
    return tree?.error === false ? tree : null;
  } catch {
    return null;
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

/** Every object of the tree, depth first. */
function* nodes(v: unknown): Generator<Json> {
  if (Array.isArray(v)) for (const x of v) yield* nodes(x);
  const o = obj(v);
  if (!o) return;
  yield o;
  for (const x of Object.values(o)) yield* nodes(x);
}

/** Curated tables a query names, from the tables the lake has: the parse tree's table references,
 * or (when DuckDB cannot serialise the statement) the names that appear outside string literals. */
export function referencedTables(sql: string, tables: string[], tree: Json | null): string[] {
  if (!tree) {
    const noStrings = sql.replace(/'[^']*'/g, "''").toLowerCase();
    return tables.filter((t) => new RegExp(`\\b${t}\\b`).test(noStrings));
  }
  const named = new Set([...nodes(tree)].filter((n) => n.type === 'BASE_TABLE').map((n) => lower(n.table_name)));
  return tables.filter((t) => named.has(t));
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The date of a literal DuckDB reads exactly as that date: 'YYYY-MM-DD', optionally CAST to DATE. */
function dateLiteral(e: Json | null): string | null {
  const c = e?.class === 'CAST' && e.try_cast === false && obj(e.cast_type)?.id === 'DATE' ? obj(e.child) : e;
  const v = c?.class === 'CONSTANT' ? obj(c.value) : null;
  if (!v || obj(v.type)?.id !== 'VARCHAR' || v.is_null !== false || typeof v.value !== 'string') return null;
  // '2024-1-2' and '2024-01-02 00:00' are that date to DuckDB too, but not to a string comparison.
  if (!ISO_DATE.test(v.value) || new Date(`${v.value}T00:00:00Z`).toISOString().slice(0, 10) !== v.value) return null;
  return v.value;
}

type Cmp = (d: string, v: string) => boolean;
const CMP: Record<string, Cmp> = {
  COMPARE_EQUAL: (d, v) => d === v,
  COMPARE_LESSTHAN: (d, v) => d < v,
  COMPARE_LESSTHANOREQUALTO: (d, v) => d <= v,
  COMPARE_GREATERTHAN: (d, v) => d > v,
  COMPARE_GREATERTHANOREQUALTO: (d, v) => d >= v,
};
// `'x' < dt` is `dt > 'x'`.
const FLIP: Record<string, string> = {
  COMPARE_EQUAL: 'COMPARE_EQUAL',
  COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
  COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
};

/** The test one WHERE conjunct puts on dt, or null when it is not a plain dt-versus-date comparison. */
function conjunctTest(e: Json, isDt: (e: Json | null) => boolean): DtPredicate | null {
  const left = obj(e.left);
  const right = obj(e.right);
  if (e.class === 'COMPARISON') {
    const op = String(e.type);
    const lit = isDt(left) ? dateLiteral(right) : null;
    const flipped = isDt(right) ? dateLiteral(left) : null;
    const cmp = lit !== null ? CMP[op] : flipped !== null ? CMP[FLIP[op] ?? ''] : undefined;
    const v = lit ?? flipped;
    return cmp && v !== null ? (d) => cmp(d, v) : null;
  }
  if (e.class === 'BETWEEN' && e.type === 'COMPARE_BETWEEN' && isDt(obj(e.input))) {
    const lo = dateLiteral(obj(e.lower));
    const hi = dateLiteral(obj(e.upper));
    return lo !== null && hi !== null ? (d) => d >= lo && d <= hi : null;
  }
  if (e.class === 'OPERATOR' && e.type === 'COMPARE_IN') {
    const [col, ...items] = arr(e.children).map(obj);
    const values = items.map(dateLiteral);
    if (!isDt(col ?? null) || values.length === 0 || values.some((v) => v === null)) return null;
    const set = new Set(values);
    return (d) => set.has(d);
  }
  return null;
}

const conjuncts = (e: Json): Json[] =>
  e.class === 'CONJUNCTION' && e.type === 'CONJUNCTION_AND' ? arr(e.children).map(obj).flatMap((c) => (c ? conjuncts(c) : [])) : [e];

/** The partitions a parsed query can need, or null when it must read every partition. Pure. */
export function dtFilterFromTree(tree: Json | null): DtPredicate | null {
  const statements = arr(tree?.statements);
  const node = statements.length === 1 ? obj(obj(statements[0])?.node) : null;
  if (node?.type !== 'SELECT_NODE' || arr(obj(node.cte_map)?.map).length > 0 || node.sample !== null) return null;
  const from = obj(node.from_table);
  if (from?.type !== 'BASE_TABLE' || from.schema_name !== '' || from.catalog_name !== '') return null;
  // A sample is drawn before WHERE; `t x(a, dt)` renames columns; time travel reads other data.
  if (from.sample !== null || from.at_clause !== null || arr(from.column_name_alias).length > 0) return null;
  // The table read once, and by nothing else: query_table('t') names it in a string.
  const all = [...nodes(tree)];
  if (all.filter((n) => n.type === 'BASE_TABLE').length !== 1 || all.some((n) => n.type === 'TABLE_FUNCTION')) return null;
  const where = obj(node.where_clause);
  if (!where) return null;
  const qualifier = lower(from.alias || from.table_name);
  const isDt = (e: Json | null) => {
    const parts = e?.class === 'COLUMN_REF' ? arr(e.column_names).map(lower) : [];
    return (parts.length === 1 && parts[0] === 'dt') || (parts.length === 2 && parts[0] === qualifier && parts[1] === 'dt');
  };
  const tests = conjuncts(where).flatMap((c) => conjunctTest(c, isDt) ?? []);
  return tests.length === 0 ? null : (dt) => tests.every((t) => t(dt));
}

/** dtFilterFromTree over the SQL text, parsed by DuckDB. */
export async function dtFilter(sql: string): Promise<DtPredicate | null> {
  return dtFilterFromTree(await parseSql(sql));
}
