import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The reporting half of `npm run bench`: markdown tables for bench/results/summary.md and the
 * README's Performance section, and the files each scenario leaves in bench/results/.
 * The charts themselves are drawn by svg-line-chart.ts and svg-bar-chart.ts.
 */

export { type BarChartOptions, type BarSeries, barChart } from './svg-bar-chart.ts';
export { type ChartGoal, type LineChartOptions, type LineSeries, lineChart } from './svg-line-chart.ts';

/** A cell that reads as a number (1,234 / 0.92 / 85 % / 1.2× / 3.4 s / 120 MiB) is right-aligned. */
const NUMERIC = /^[-+−]?(\d[\d,]*(\.\d+)?|\.\d+)\s?(%|×|x|s|ms|MiB|KiB|GiB|\/s)?$/;

/** Markdown table; the first row is the header. Rows shorter than the header are padded. */
export function markdownTable(rows: string[][]): string {
  if (!rows[0]) return '';
  const columns = Math.max(...rows.map((r) => r.length));
  const cells = rows.map((r) => Array.from({ length: columns }, (_, c) => cell(r[c] ?? '')));
  const right = Array.from({ length: columns }, (_, c) => {
    const values = cells.slice(1).map((r) => r[c] as string);
    return values.some((v) => NUMERIC.test(v)) && values.every((v) => NUMERIC.test(v) || v === '' || v === '—');
  });
  // Padded to the widest cell so the table also reads as plain text in a terminal or a diff.
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(3, ...cells.map((r) => displayWidth(r[c] as string))),
  );
  const line = (r: string[]) =>
    `| ${r.map((v, c) => (right[c] ? padStart(v, widths[c] as number) : padEnd(v, widths[c] as number))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (right[c] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return `${[line(cells[0] as string[]), rule, ...cells.slice(1).map(line)].join('\n')}\n`;
}

export interface SummaryEntry {
  scenario: string;
  figure: string;
  value: string;
  baseline?: string;
  ratio?: string;
  goal?: string;
  /** true: the goal was met; false: missed; null or absent: no goal to meet. */
  met?: boolean | null;
}

/** The one table of every scenario's headline figures against its baseline and goal. */
export function summaryMarkdown(entries: SummaryEntry[]): string {
  const dash = (v: string | undefined) => (v === undefined || v === '' ? '—' : v);
  const mark = (met: boolean | null | undefined) => (met === true ? '✓' : met === false ? '✗' : '—');
  return markdownTable([
    ['Scenario', 'Figure', 'Value', 'Baseline', 'Ratio', 'Goal', 'Met'],
    ...entries.map((e) => [
      e.scenario,
      e.figure,
      dash(e.value),
      dash(e.baseline),
      dash(e.ratio),
      dash(e.goal),
      mark(e.met),
    ]),
  ]);
}

const FILE_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Writes `<dir>/<name>.json` (the figures) and `<dir>/<name>-<chart>.svg` for each chart, and
 * returns the paths written, the JSON first. The directory is made if missing.
 */
export function writeResults(dir: string, name: string, data: unknown, charts: Record<string, string>): string[] {
  for (const part of [name, ...Object.keys(charts)]) {
    if (!FILE_PART.test(part)) {
      throw new Error(`writeResults: "${part}" cannot be part of a file name; use letters, digits, '.', '_' and '-'`);
    }
  }
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  writeFileSync(json, `${JSON.stringify(data, null, 2)}\n`);
  const written = [json];
  for (const [chart, svg] of Object.entries(charts)) {
    const path = join(dir, `${name}-${chart}.svg`);
    writeFileSync(path, svg);
    written.push(path);
  }
  return written;
}

/** Pipes would end the cell and newlines the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>').trim();
}

/** Columns in a monospace font: CJK and full-width characters take two. */
function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    w +=
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6)
        ? 2
        : 1;
  }
  return w;
}

const padEnd = (v: string, w: number) => v + ' '.repeat(Math.max(0, w - displayWidth(v)));
const padStart = (v: string, w: number) => ' '.repeat(Math.max(0, w - displayWidth(v))) + v;
