/**
 * The parts the bench's hand-written SVG charts share: escaping, number format, 1-2-5 ticks,
 * text width, the series styles, the legend and the outer <svg> with its accessible name.
 */

export const WIDTH = 720;
export const HEIGHT = 400;
/** Noto Sans CJK JP first: titles and series names may be Japanese, and Debian's fonts-noto-cjk has it. */
export const FONT_FAMILY = "'Noto Sans CJK JP', 'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', Meiryo, sans-serif";
export const TEXT_COLOUR = '#222';
export const MUTED_COLOUR = '#555';
export const GRID_COLOUR = '#e3e3e3';
export const GOAL_COLOUR = '#333';

export interface SeriesStyle {
  colour: string;
  /** stroke-dasharray of a line; '' is solid. */
  dash: string;
  marker: 'circle' | 'square' | 'triangle' | 'diamond' | 'triangle-down' | 'cross' | 'plus';
  /** How a bar is filled over its colour, so that bars differ in greyscale too. */
  hatch: 'solid' | 'diagonal' | 'cross' | 'dots' | 'horizontal' | 'vertical' | 'back-diagonal';
}

/**
 * Okabe–Ito colours stay apart for the common colour-vision deficiencies; the dash, marker and
 * hatch of each series tell them apart again where colour is lost (greyscale print, a projector).
 */
export const STYLES: readonly SeriesStyle[] = [
  { colour: '#0072B2', dash: '', marker: 'circle', hatch: 'solid' },
  { colour: '#D55E00', dash: '9 4', marker: 'square', hatch: 'diagonal' },
  { colour: '#009E73', dash: '2 3', marker: 'triangle', hatch: 'dots' },
  { colour: '#CC79A7', dash: '10 3 2 3', marker: 'diamond', hatch: 'cross' },
  { colour: '#E69F00', dash: '14 3 2 3 2 3', marker: 'triangle-down', hatch: 'horizontal' },
  { colour: '#56B4E9', dash: '4 7', marker: 'cross', hatch: 'vertical' },
  { colour: '#000000', dash: '16 4 4 4', marker: 'plus', hatch: 'back-diagonal' },
];

/** Throws rather than reuse a style: two series that look the same would mislead the reader. */
export function styleOf(chart: string, count: number): (i: number) => SeriesStyle {
  if (count > STYLES.length) {
    throw new Error(`${chart}: ${count} series, but only ${STYLES.length} can be told apart; split the chart`);
  }
  return (i) => STYLES[i] as SeriesStyle;
}

// Characters XML 1.0 forbids even escaped, and halves of surrogate pairs without their other half.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text for an SVG element or a double- or single-quoted attribute. */
export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const formats = new Map<number, Intl.NumberFormat>();

/**
 * 12,345.6 with thousands separators. Without `decimals`, the fewer the digits before the
 * point, the more after it (up to 2), so small ratios keep their meaning and counts stay whole.
 */
export function formatNumber(value: number, decimals?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  // With `decimals` given every number shows that many (0.5, 1.0, 1.5 on one axis); without, trailing zeros go.
  const digits = decimals ?? (abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
  const key = decimals === undefined ? -1 - digits : digits;
  let format = formats.get(key);
  if (!format) {
    // en-US fixes the separator to ',' whatever the machine's locale, so committed results do not churn.
    format = new Intl.NumberFormat('en-US', {
      maximumFractionDigits: digits,
      minimumFractionDigits: decimals === undefined ? 0 : digits,
    });
    formats.set(key, format);
  }
  const text = format.format(value);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

export interface Ticks {
  ticks: number[];
  step: number;
  /** Digits after the point that the tick labels need. */
  decimals: number;
}

/** Ticks on 1, 2 or 5 × 10ⁿ steps that cover [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`niceTicks: range ${lo}..${hi} is not finite`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) hi = lo === 0 ? 1 : lo + Math.abs(lo);
  const magnitude = 10 ** Math.floor(Math.log10((hi - lo) / Math.max(1, target)));
  // The 1, 2, 5 or 10 × 10ⁿ step whose count is nearest `target`; on a tie the fewer ticks.
  const intervals = (step: number) => Math.ceil(hi / step - 1e-9) - Math.floor(lo / step + 1e-9);
  let step = magnitude;
  for (const m of [2, 5, 10]) {
    const candidate = m * magnitude;
    if (Math.abs(intervals(candidate) - target) <= Math.abs(intervals(step) - target)) step = candidate;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  // A small tolerance keeps 0.30000000000000004 from adding a whole step.
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const count = Math.round((end - start) / step);
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((start + i * step).toFixed(decimals)));
  return { ticks, step, decimals };
}

/** Linear map from a data range to pixels. */
export function scale(domainLo: number, domainHi: number, pxLo: number, pxHi: number): (v: number) => number {
  const span = domainHi - domainLo || 1;
  return (v) => pxLo + ((v - domainLo) / span) * (pxHi - pxLo);
}

/** Pixels with one decimal: enough for a 720 px chart and keeps the files small. */
export const px = (n: number): string => String(Math.round(n * 10) / 10);

/**
 * Width of a text in pixels, estimated: the SVG is written without a browser to measure it.
 * CJK and full-width characters are one em, Latin about 0.6 em in the sans fonts of FONT_FAMILY.
 */
export function textWidth(text: string, fontSize: number): number {
  let ems = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x2e80 || (code >= 0x1100 && code <= 0x115f)) ems += 1;
    else if (/[MW@%mw]/.test(ch)) ems += 0.85;
    else if (/[A-Z0-9#&]/.test(ch)) ems += 0.64;
    else if (/[il.,:;'|!\s]/.test(ch)) ems += 0.3;
    else ems += 0.55;
  }
  return ems * fontSize;
}

/** The text, cut with '…' where it would be wider than `width`. */
export function fitText(text: string, fontSize: number, width: number): string {
  if (textWidth(text, fontSize) <= width) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(`${chars.join('')}…`, fontSize) > width) chars.pop();
  return `${chars.join('')}…`;
}

/** A short stable id, so that two charts inlined in one HTML page do not share ids. */
export function chartId(seed: string): string {
  let h = 5381;
  for (const ch of seed) h = ((h * 33) ^ (ch.codePointAt(0) ?? 0)) >>> 0;
  return `hb${h.toString(36)}`;
}

export interface LegendItem {
  name: string;
  /** SVG of the sample drawn in a SWATCH_WIDTH × 14 box whose top-left is (0, 0). */
  swatch: string;
}

export const SWATCH_WIDTH = 30;
const LEGEND_FONT = 13;
const LEGEND_ROW = 20;
const LEGEND_GAP = 22;

export interface LegendLayout {
  height: number;
  render(top: number): string;
}

/**
 * The legend goes in rows under the plot, never over it, so it cannot hide a line; a row
 * wraps when the next entry would not fit.
 */
export function layoutLegend(items: LegendItem[], left: number, width: number): LegendLayout {
  const placed: { item: LegendItem; x: number; row: number; label: string }[] = [];
  let x = 0;
  let row = 0;
  for (const item of items) {
    const label = fitText(item.name, LEGEND_FONT, width - SWATCH_WIDTH - 6);
    const w = SWATCH_WIDTH + 6 + textWidth(label, LEGEND_FONT);
    if (x > 0 && x + w > width) {
      row += 1;
      x = 0;
    }
    placed.push({ item, x, row, label });
    x += w + LEGEND_GAP;
  }
  const rows = items.length ? row + 1 : 0;
  return {
    height: rows * LEGEND_ROW,
    render(top) {
      const entries = placed.map(({ item, x: ix, row: r, label }) => {
        const y = top + r * LEGEND_ROW;
        return (
          `<g class="legend-item" transform="translate(${px(left + ix)},${px(y)})">${item.swatch}` +
          `<text x="${SWATCH_WIDTH + 6}" y="12" font-size="${LEGEND_FONT}" fill="${TEXT_COLOUR}">${escapeXml(label)}</text></g>`
        );
      });
      return `<g class="legend">${entries.join('')}</g>`;
    },
  };
}

/**
 * A marker of the given shape centred on (x, y), about 9 px across. `attrs` go on the element
 * as they are; `tooltip` becomes its <title>, which browsers show on hover.
 */
export function marker(
  shape: SeriesStyle['marker'],
  x: number,
  y: number,
  colour: string,
  attrs = '',
  tooltip?: string,
): string {
  const filled = `fill="${colour}" stroke="#fff" stroke-width="1"${attrs}`;
  const stroked = `fill="none" stroke="${colour}" stroke-width="2.4"${attrs}`;
  const X = (d: number) => px(x + d);
  const Y = (d: number) => px(y + d);
  const close = (tag: string) => (tooltip === undefined ? '/>' : `><title>${escapeXml(tooltip)}</title></${tag}>`);
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="4.2" ${filled}${close('circle')}`;
    case 'square':
      return `<rect x="${X(-3.8)}" y="${Y(-3.8)}" width="7.6" height="7.6" ${filled}${close('rect')}`;
    case 'triangle':
      return `<path d="M${X(0)},${Y(-5)}L${X(4.6)},${Y(3.5)}L${X(-4.6)},${Y(3.5)}Z" ${filled}${close('path')}`;
    case 'triangle-down':
      return `<path d="M${X(0)},${Y(5)}L${X(4.6)},${Y(-3.5)}L${X(-4.6)},${Y(-3.5)}Z" ${filled}${close('path')}`;
    case 'diamond':
      return `<path d="M${X(0)},${Y(-5)}L${X(5)},${Y(0)}L${X(0)},${Y(5)}L${X(-5)},${Y(0)}Z" ${filled}${close('path')}`;
    case 'cross':
      return `<path d="M${X(-4)},${Y(-4)}L${X(4)},${Y(4)}M${X(4)},${Y(-4)}L${X(-4)},${Y(4)}" ${stroked}${close('path')}`;
    case 'plus':
      return `<path d="M${X(-5)},${Y(0)}H${X(5)}M${X(0)},${Y(-5)}V${Y(5)}" ${stroked}${close('path')}`;
  }
}

/** The outer <svg>: a white ground (readable on a dark page too) and the name screen readers announce. */
export function svgDocument(id: string, title: string, desc: string, body: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${id}-title ${id}-desc" font-family="${escapeXml(FONT_FAMILY)}">`,
    `<title id="${id}-title">${escapeXml(title)}</title>`,
    `<desc id="${id}-desc">${escapeXml(desc)}</desc>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

/** The visible title at the top left, smaller if it is long, cut with '…' if still too long. */
export function titleText(title: string): string {
  const room = WIDTH - 32;
  let size = 17;
  while (size > 12 && textWidth(title, size) > room) size -= 1;
  return `<text class="chart-title" x="16" y="28" font-size="${size}" font-weight="bold" fill="${TEXT_COLOUR}">${escapeXml(fitText(title, size, room))}</text>`;
}

/** Horizontal grid lines with their labels on the left, and the y axis name turned upright. */
export function yAxis(ticks: Ticks, y: (v: number) => number, left: number, right: number, label: string): string {
  const lines = ticks.ticks.map(
    (t) =>
      `<line x1="${px(left)}" x2="${px(right)}" y1="${px(y(t))}" y2="${px(y(t))}" stroke="${t === 0 ? MUTED_COLOUR : GRID_COLOUR}" stroke-width="1"/>` +
      `<text class="tick-y" x="${px(left - 8)}" y="${px(y(t) + 4)}" text-anchor="end" font-size="12" fill="${MUTED_COLOUR}">${formatNumber(t, ticks.decimals)}</text>`,
  );
  const mid = (y(ticks.ticks[0] as number) + y(ticks.ticks.at(-1) as number)) / 2;
  const axisLabel = `<text class="axis-label" transform="translate(20,${px(mid)}) rotate(-90)" text-anchor="middle" font-size="13" fill="${TEXT_COLOUR}">${escapeXml(label)}</text>`;
  return `<g class="y-axis">${lines.join('')}${axisLabel}</g>`;
}

/** Left margin that fits the widest y tick label and the upright axis name. */
export function leftMargin(ticks: Ticks): number {
  const widest = Math.max(...ticks.ticks.map((t) => textWidth(formatNumber(t, ticks.decimals), 12)));
  return Math.ceil(30 + widest + 10);
}

/** Text on a white box, so that it reads where it crosses lines, bars or grid. */
export function boxedLabel(text: string, x: number, baseline: number, anchor: 'start' | 'end', colour: string): string {
  const w = textWidth(text, 12) + 6;
  const bx = anchor === 'end' ? x - w + 3 : x - 3;
  return (
    `<rect x="${px(bx)}" y="${px(baseline - 12)}" width="${px(w)}" height="16" rx="2" fill="#fff" fill-opacity="0.9"/>` +
    `<text x="${px(x)}" y="${px(baseline)}" text-anchor="${anchor}" font-size="12" fill="${colour}">${escapeXml(text)}</text>`
  );
}

/**
 * A goal line across the plot and its label on a white box, apart: the chart puts the line
 * under its data and the label over it, so neither hides what matters.
 */
export function goalLine(
  goal: { x?: number; y?: number; label: string },
  plot: { left: number; right: number; top: number; bottom: number },
  x: (v: number) => number,
  y: (v: number) => number,
): { line: string; label: string } {
  const line = `stroke="${GOAL_COLOUR}" stroke-width="1.5" stroke-dasharray="6 3"`;
  const lines: string[] = [];
  const labels: string[] = [];
  if (goal.y !== undefined && Number.isFinite(goal.y)) {
    const gy = y(goal.y);
    lines.push(`<line x1="${px(plot.left)}" x2="${px(plot.right)}" y1="${px(gy)}" y2="${px(gy)}" ${line}/>`);
    const label = fitText(goal.label, 12, plot.right - plot.left - 12);
    labels.push(boxedLabel(label, plot.right - 4, gy - 5, 'end', GOAL_COLOUR));
  }
  if (goal.x !== undefined && Number.isFinite(goal.x)) {
    const gx = x(goal.x);
    lines.push(`<line x1="${px(gx)}" x2="${px(gx)}" y1="${px(plot.top)}" y2="${px(plot.bottom)}" ${line}/>`);
    // Right of the line where the label fits there, else on the side with more room.
    const rightRoom = plot.right - gx - 10;
    const leftRoom = gx - plot.left - 10;
    const toLeft = textWidth(goal.label, 12) > rightRoom && leftRoom > rightRoom;
    const label = fitText(goal.label, 12, Math.max(toLeft ? leftRoom : rightRoom, 40));
    labels.push(boxedLabel(label, toLeft ? gx - 6 : gx + 6, plot.top + 16, toLeft ? 'end' : 'start', GOAL_COLOUR));
  }
  return {
    line: lines.length ? `<g class="goal">${lines.join('')}</g>` : '',
    label: labels.length ? `<g class="goal-label">${labels.join('')}</g>` : '',
  };
}
