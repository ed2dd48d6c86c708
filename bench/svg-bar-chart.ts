import {
  chartId,
  escapeXml,
  fitText,
  formatNumber,
  goalLine,
  HEIGHT,
  layoutLegend,
  leftMargin,
  MUTED_COLOUR,
  niceTicks,
  px,
  type SeriesStyle,
  scale,
  styleOf,
  svgDocument,
  TEXT_COLOUR,
  textWidth,
  titleText,
  WIDTH,
  yAxis,
} from './svg-kit.ts';

/** A white outline under the value labels where a goal line or the grid runs through them. */
const HALO = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';

export interface BarSeries {
  name: string;
  /** One value per group, in the order of `groups`; null (or not a finite number) draws no bar. */
  values: (number | null)[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  /** Names the groups along the bottom, e.g. 'channel'. */
  xLabel?: string;
  /** The groups along the x axis, e.g. the channels. */
  groups: string[];
  /** One bar per series in each group, e.g. 'one job per recipient' and 'batched'. */
  series: BarSeries[];
  /** Dashed lines across the plot at a target value, e.g. { y: 0.8, label: 'goal ≥ 0.8 × baseline' }. */
  goals?: { y: number; label: string }[];
  /** Said first to screen readers, before the values the chart lists itself. */
  desc?: string;
}

/**
 * A standalone 720 × 400 SVG of grouped bars: for each group (a channel), one bar per series
 * (a way of sending), with its value written above it where it fits. Bars start at 0.
 */
export function barChart(opts: BarChartOptions): string {
  const style = styleOf('barChart', opts.series.length);
  for (const s of opts.series) {
    if (s.values.length !== opts.groups.length) {
      throw new Error(
        `barChart "${opts.title}": series "${s.name}" has ${s.values.length} values for ${opts.groups.length} groups (${opts.groups.join(', ')})`,
      );
    }
  }
  const value = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);
  const goals = (opts.goals ?? []).filter((g) => Number.isFinite(g.y));
  const all = [0, ...opts.series.flatMap((s) => s.values.flatMap((v) => (value(v) === null ? [] : [v as number])))];
  const ys = [...all, ...goals.map((g) => g.y)];
  // Headroom above the tallest bar for its value label.
  const hi = Math.max(...ys);
  const yTicks = niceTicks(Math.min(...ys), hi > 0 ? hi * 1.08 : hi, 5);

  const id = chartId(`bar:${opts.title}`);
  const left = leftMargin(yTicks);
  const right = WIDTH - 24;
  const legend = layoutLegend(
    opts.series.map((s, i) => ({ name: s.name, swatch: barSwatch(id, i, style(i)) })),
    16,
    WIDTH - 32,
  );
  const top = 50;
  const bottom = HEIGHT - (opts.xLabel ? 52 : 34) - (legend.height ? legend.height + 6 : 0);
  const plot = { left, right, top, bottom };
  const y = scale(yTicks.ticks[0] as number, yTicks.ticks.at(-1) as number, bottom, top);
  const zero = y(0);

  const groupWidth = (right - left) / Math.max(1, opts.groups.length);
  const inner = groupWidth * 0.76;
  const slot = inner / Math.max(1, opts.series.length);
  const barWidth = Math.max(1, slot - 3);
  const labelsFit = opts.series.every((s) =>
    s.values.every((v) => value(v) === null || textWidth(formatNumber(v as number), 11) <= slot + 2),
  );

  const bars: string[] = [];
  const labels: string[] = [];
  opts.groups.forEach((group, g) => {
    const groupLeft = left + g * groupWidth + (groupWidth - inner) / 2;
    opts.series.forEach((s, i) => {
      const v = value(s.values[g] ?? null);
      const bx = groupLeft + i * slot + (slot - barWidth) / 2;
      const centre = bx + barWidth / 2;
      if (v === null) {
        // A missing figure is said as such, not drawn as a zero.
        labels.push(
          `<text class="bar-missing" x="${px(centre)}" y="${px(zero - 5)}" text-anchor="middle" font-size="11" fill="${MUTED_COLOUR}">n/a</text>`,
        );
        return;
      }
      const st = style(i);
      const vy = y(v);
      const fill = st.hatch === 'solid' ? st.colour : `url(#${id}-hatch${i})`;
      bars.push(
        `<rect class="bar" data-series="${escapeXml(s.name)}" data-group="${escapeXml(group)}" x="${px(bx)}" y="${px(Math.min(vy, zero))}" width="${px(barWidth)}" height="${px(Math.abs(zero - vy))}" fill="${fill}" stroke="${st.colour}" stroke-width="1.5">` +
          `<title>${escapeXml(`${group}, ${s.name}: ${formatNumber(v)}`)}</title></rect>`,
      );
      if (labelsFit) {
        const ly = v >= 0 ? vy - 5 : vy + 14;
        labels.push(
          `<text class="bar-value" x="${px(centre)}" y="${px(ly)}" text-anchor="middle" font-size="11" fill="${TEXT_COLOUR}" ${HALO}>${formatNumber(v)}</text>`,
        );
      }
    });
  });

  const groupLabels = opts.groups.map((group, g) => {
    const size = textWidth(group, 13) <= groupWidth - 6 ? 13 : 11;
    return `<text class="group-label" x="${px(left + (g + 0.5) * groupWidth)}" y="${px(bottom + 19)}" text-anchor="middle" font-size="${size}" fill="${TEXT_COLOUR}">${escapeXml(fitText(group, size, groupWidth - 6))}</text>`;
  });
  const xName = opts.xLabel
    ? `<text class="axis-label" x="${px((left + right) / 2)}" y="${px(bottom + 40)}" text-anchor="middle" font-size="13" fill="${TEXT_COLOUR}">${escapeXml(fitText(opts.xLabel, 13, right - left))}</text>`
    : '';

  const goalParts = goals.map((goal) => goalLine(goal, plot, (v) => v, y));
  const body = [
    `<defs>${opts.series.map((_, i) => hatchPattern(id, i, style(i))).join('')}</defs>`,
    titleText(opts.title),
    yAxis(yTicks, y, left, right, fitText(opts.yLabel, 13, bottom - top)),
    `<g class="x-axis">${groupLabels.join('')}${xName}</g>`,
    `<g class="plot">${bars.join('')}</g>`,
    `<line x1="${px(left)}" x2="${px(right)}" y1="${px(zero)}" y2="${px(zero)}" stroke="${MUTED_COLOUR}" stroke-width="1"/>`,
    // Over the bars: a goal is read against them.
    goalParts.map((g) => g.line).join(''),
    // Over the goal lines, so a value next to a goal stays legible.
    `<g class="values">${labels.join('')}</g>`,
    goalParts.map((g) => g.label).join(''),
    legend.render(HEIGHT - 8 - legend.height + 4),
  ].join('\n');
  return svgDocument(id, opts.title, describe(opts), body);
}

/** White strokes over the series colour: stripes, dots or a grid that survive greyscale. */
function hatchPattern(id: string, i: number, st: SeriesStyle): string {
  const marks: Record<SeriesStyle['hatch'], string> = {
    solid: '',
    diagonal: '<path d="M-2,2L2,-2M0,8L8,0M6,10L10,6" stroke="#fff" stroke-width="1.8"/>',
    'back-diagonal': '<path d="M-2,6L2,10M0,0L8,8M6,-2L10,2" stroke="#fff" stroke-width="1.8"/>',
    dots: '<circle cx="2" cy="2" r="1.4" fill="#fff"/><circle cx="6" cy="6" r="1.4" fill="#fff"/>',
    cross: '<path d="M0,0L8,8M8,0L0,8" stroke="#fff" stroke-width="1.3"/>',
    horizontal: '<path d="M0,2H8M0,6H8" stroke="#fff" stroke-width="1.6"/>',
    vertical: '<path d="M2,0V8M6,0V8" stroke="#fff" stroke-width="1.6"/>',
  };
  if (st.hatch === 'solid') return '';
  return `<pattern id="${id}-hatch${i}" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="${st.colour}"/>${marks[st.hatch]}</pattern>`;
}

function barSwatch(id: string, i: number, st: SeriesStyle): string {
  const fill = st.hatch === 'solid' ? st.colour : `url(#${id}-hatch${i})`;
  return `<rect x="4" y="0" width="22" height="15" fill="${fill}" stroke="${st.colour}" stroke-width="1.5"/>`;
}

/** What a screen reader says: every value, group by group. */
function describe(opts: BarChartOptions): string {
  const parts = [opts.desc ?? '', `Bar chart of ${opts.yLabel}${opts.xLabel ? ` by ${opts.xLabel}` : ''}.`];
  opts.groups.forEach((group, g) => {
    const values = opts.series.map((s) => {
      const v = s.values[g];
      return `${s.name} ${v !== null && v !== undefined && Number.isFinite(v) ? formatNumber(v) : 'n/a'}`;
    });
    parts.push(`${group}: ${values.join(', ')}.`);
  });
  for (const goal of opts.goals ?? []) parts.push(`Goal ${goal.label}: ${formatNumber(goal.y)}.`);
  return parts.filter(Boolean).join(' ');
}
