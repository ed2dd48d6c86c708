import {
  chartId,
  escapeXml,
  fitText,
  formatNumber,
  GRID_COLOUR,
  goalLine,
  HEIGHT,
  layoutLegend,
  leftMargin,
  MUTED_COLOUR,
  marker,
  niceTicks,
  px,
  type SeriesStyle,
  SWATCH_WIDTH,
  scale,
  styleOf,
  svgDocument,
  TEXT_COLOUR,
  textWidth,
  titleText,
  WIDTH,
  yAxis,
} from './svg-kit.ts';

export interface LineSeries {
  name: string;
  /** [x, y] pairs; points whose x or y is not a finite number are left out (and said so in the description). */
  points: [number, number][];
}

/** A dashed line across the plot: at height `y` (a target), at `x` (a deadline), or both. */
export interface ChartGoal {
  y?: number;
  x?: number;
  label: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  goals?: ChartGoal[];
  /**
   * Marks every point with a shape per series (circle, square, triangle…): for a few measured
   * points, such as a growth curve over 10k…200k recipients, rather than a dense time series.
   */
  markers?: boolean;
  /** Said first to screen readers, before the summary of each series the chart writes itself. */
  desc?: string;
}

/**
 * A standalone 720 × 400 SVG of one line per series over a shared x axis, e.g. recipients
 * delivered over seconds since the POST, one line per channel. Both axes start at 0 when the
 * data are positive, so the slopes compare honestly.
 */
export function lineChart(opts: LineChartOptions): string {
  const style = styleOf('lineChart', opts.series.length);
  const series = opts.series.map((s) => {
    const points = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    return { name: s.name, points, dropped: s.points.length - points.length };
  });
  const goals = opts.goals ?? [];
  const xs = [0, ...series.flatMap((s) => s.points.map((p) => p[0])), ...goals.flatMap((g) => finite(g.x))];
  const ys = [0, ...series.flatMap((s) => s.points.map((p) => p[1])), ...goals.flatMap((g) => finite(g.y))];
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), 6);
  // A little room above the highest line, so lines that level off at the top stay clear of the frame and labels.
  const yHi = Math.max(...ys);
  const yTicks = niceTicks(Math.min(...ys), yHi > 0 ? yHi * 1.04 : yHi, 5);

  const left = leftMargin(yTicks);
  const lastXLabel = formatNumber(xTicks.ticks.at(-1) as number, xTicks.decimals);
  const right = WIDTH - Math.max(24, Math.ceil(textWidth(lastXLabel, 12) / 2) + 8);
  const legend = layoutLegend(
    series.map((s, i) => ({ name: s.name, swatch: lineSwatch(style(i), opts.markers || s.points.length < 2) })),
    16,
    WIDTH - 32,
  );
  const top = 50;
  // Under the plot: tick labels, the axis name, then the legend.
  const bottom = HEIGHT - 52 - (legend.height ? legend.height + 6 : 0);
  const plot = { left, right, top, bottom };
  const x = scale(xTicks.ticks[0] as number, xTicks.ticks.at(-1) as number, left, right);
  const y = scale(yTicks.ticks[0] as number, yTicks.ticks.at(-1) as number, bottom, top);

  const xGrid = xTicks.ticks.map(
    (t) =>
      `<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${px(top)}" y2="${px(bottom)}" stroke="${t === 0 ? MUTED_COLOUR : GRID_COLOUR}" stroke-width="1"/>` +
      `<text class="tick-x" x="${px(x(t))}" y="${px(bottom + 18)}" text-anchor="middle" font-size="12" fill="${MUTED_COLOUR}">${formatNumber(t, xTicks.decimals)}</text>`,
  );
  const xName = fitText(opts.xLabel, 13, right - left);
  const xAxis =
    `<g class="x-axis">${xGrid.join('')}` +
    `<text class="axis-label" x="${px((left + right) / 2)}" y="${px(bottom + 38)}" text-anchor="middle" font-size="13" fill="${TEXT_COLOUR}">${escapeXml(xName)}</text></g>`;

  const lines = series.map((s, i) => {
    const st = style(i);
    const d = s.points.map(([vx, vy], j) => `${j ? 'L' : 'M'}${px(x(vx))},${px(y(vy))}`).join('');
    const dash = st.dash ? ` stroke-dasharray="${st.dash}"` : '';
    const path = d
      ? `<path class="series" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${st.colour}" stroke-width="2.5" stroke-linejoin="round"${dash}/>`
      : '';
    // A lone point draws no line, so it gets its marker even without `markers`.
    const marks =
      opts.markers || s.points.length === 1
        ? `<g class="markers" data-series="${escapeXml(s.name)}">${s.points
            .map(([vx, vy]) =>
              marker(
                st.marker,
                x(vx),
                y(vy),
                st.colour,
                ' class="point"',
                `${s.name}: ${opts.xLabel} ${formatNumber(vx)}, ${opts.yLabel} ${formatNumber(vy)}`,
              ),
            )
            .join('')}</g>`
        : '';
    return path + marks;
  });

  const goalParts = goals.map((g) => goalLine(g, plot, x, y));
  const body = [
    titleText(opts.title),
    yAxis(yTicks, y, left, right, fitText(opts.yLabel, 13, bottom - top)),
    xAxis,
    goalParts.map((g) => g.line).join(''),
    `<g class="plot">${lines.join('')}</g>`,
    goalParts.map((g) => g.label).join(''),
    series.some((s) => s.points.length) ? '' : noData(plot),
    legend.render(HEIGHT - 8 - legend.height + 4),
  ].join('\n');
  return svgDocument(chartId(`line:${opts.title}`), opts.title, describe(opts, series), body);
}

function finite(v: number | undefined): number[] {
  return v !== undefined && Number.isFinite(v) ? [v] : [];
}

function lineSwatch(st: SeriesStyle, withMarker: boolean): string {
  const dash = st.dash ? ` stroke-dasharray="${st.dash}"` : '';
  const line = `<line x1="0" x2="${SWATCH_WIDTH}" y1="8" y2="8" stroke="${st.colour}" stroke-width="2.5"${dash}/>`;
  return withMarker ? line + marker(st.marker, SWATCH_WIDTH / 2, 8, st.colour) : line;
}

function noData(plot: { left: number; right: number; top: number; bottom: number }): string {
  return `<text x="${px((plot.left + plot.right) / 2)}" y="${px((plot.top + plot.bottom) / 2)}" text-anchor="middle" font-size="14" fill="${MUTED_COLOUR}">no data</text>`;
}

/** What a screen reader says: the axes, then where each line starts, ends and peaks. */
function describe(opts: LineChartOptions, series: { name: string; points: [number, number][]; dropped: number }[]) {
  const parts = [opts.desc ?? '', `Line chart of ${opts.yLabel} against ${opts.xLabel}.`];
  for (const s of series) {
    const first = s.points[0];
    const last = s.points.at(-1);
    if (!first || !last) {
      parts.push(`${s.name}: no data.`);
      continue;
    }
    const peak = s.points.reduce((a, b) => (b[1] > a[1] ? b : a));
    parts.push(
      `${s.name}, ${plural(s.points.length, 'point')}: ${opts.yLabel} ${formatNumber(first[1])} at ${formatNumber(first[0])}, ` +
        `${formatNumber(last[1])} at ${formatNumber(last[0])}, highest ${formatNumber(peak[1])} at ${formatNumber(peak[0])}.` +
        (s.dropped ? ` ${plural(s.dropped, 'point')} without a value left out.` : ''),
    );
  }
  for (const g of opts.goals ?? []) {
    const at = [
      g.y !== undefined ? `${opts.yLabel} ${formatNumber(g.y)}` : '',
      g.x !== undefined ? `${opts.xLabel} ${formatNumber(g.x)}` : '',
    ];
    parts.push(`Goal ${g.label}: ${at.filter(Boolean).join(', ')}.`);
  }
  return parts.filter(Boolean).join(' ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
