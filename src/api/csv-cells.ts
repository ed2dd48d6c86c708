/**
 * CSV cells that a spreadsheet opens as text, never as a formula (CSV injection, OWASP):
 * a cell that starts with = + - @, a tab or a carriage return gets a leading single quote,
 * and every cell is quoted, its quotes doubled, so a comma or line break stays inside it.
 */

/** What a spreadsheet takes as the start of a formula (or hides before one). */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${text.replaceAll('"', '""')}"`;
}

/** One line of quoted cells, ended with CRLF as RFC 4180 has it. */
export function csvLine(values: string[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/**
 * A cell read back from a file csvCell wrote: the quote it added is dropped again, so an
 * exported list imports as it was. A quote before anything else is the resident's own.
 */
export function csvCellValue(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}
