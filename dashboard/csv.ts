/**
 * CSV export, RFC 4180, guarded against spreadsheet formula injection (OWASP's "CSV injection"):
 * a text cell that starts with =, +, -, @, a tab or a carriage return is read as a formula by Excel,
 * LibreOffice and Google Sheets, so such a cell gets a leading apostrophe. Numbers are written as
 * numbers (a negative amount stays -12.50), because they come from numeric columns, not from text.
 */
export type Cell = string | number | bigint | boolean | Date | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: Cell, numeric = false): string {
  if (v === null || v === undefined) return '';
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (!numeric && typeof v === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows to CSV text with a header line; `numeric` names the columns whose values are numbers. */
export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, Cell>>, numeric: ReadonlySet<string> = new Set()): string {
  const lines = [columns.map((c) => csvCell(c)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c], numeric.has(c))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
