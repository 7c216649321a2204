// CSV as every CSV the tool writes makes it (RFC 4180 quoting, CRLF lines), safe to open in a
// spreadsheet. Cells hold text from the trace (command lines, paths, User-Agents) that any local
// process controls; a cell that begins with = + - @, a tab or a carriage return is read as a
// formula by Excel and LibreOffice (OWASP, CSV Injection). Such text cells get a leading
// apostrophe, which spreadsheets show as text and hide; the rest of the cell is kept as it is.
// Numbers are written as numbers: a negative one is data, not a formula.

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: null/undefined empty, arrays joined with ';', objects as JSON, text neutralised. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  let s = Array.isArray(v) ? v.map((x) => (x === null || x === undefined ? '' : String(x))).join(';') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const formula = FORMULA_START.test(s);
  if (formula) s = `'${s}`;
  return formula || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}
