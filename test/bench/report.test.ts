import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { barChart, lineChart, markdownTable, summaryMarkdown, writeResults } from '../../bench/report.ts';
import { formatNumber, niceTicks } from '../../bench/svg-kit.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text' });

/** Well-formed XML or a failure that quotes the parser's complaint. */
function wellFormed(svg: string): void {
  const result = XMLValidator.validate(svg);
  expect(result, JSON.stringify(result)).toBe(true);
}

/** Elements with this class (the charts give every countable part one). */
const count = (svg: string, cls: string) => svg.match(new RegExp(`class="${cls}"`, 'g'))?.length ?? 0;
const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`class="${cls}"[^>]*>([^<]*)<`, 'g'))].map((m) => m[1]);

const ramp = (rate: number, seconds: number): [number, number][] =>
  Array.from({ length: seconds * 4 + 1 }, (_, i) => [i / 4, Math.min(10_000, Math.round((i / 4) * rate))]);

describe('lineChart', () => {
  const svg = lineChart({
    title: '配信済み受信者数 (recipients delivered over time)',
    xLabel: 'seconds since POST',
    yLabel: 'recipients delivered',
    series: [
      { name: 'メール', points: ramp(450, 25) },
      { name: 'LINE', points: ramp(900, 12) },
      { name: 'Web Push', points: ramp(600, 18) },
    ],
    goals: [
      { y: 10_000, label: 'all residents' },
      { x: 30, label: '目標 30 秒' },
    ],
  });

  it('is a well-formed standalone SVG with an accessible name', () => {
    wellFormed(svg);
    const root = parser.parse(svg).svg;
    expect(root['@_xmlns']).toBe('http://www.w3.org/2000/svg');
    expect(root['@_role']).toBe('img');
    expect(Number(root['@_width'])).toBe(720);
    expect(Number(root['@_height'])).toBe(400);
    const [titleId, descId] = String(root['@_aria-labelledby']).split(' ');
    expect(root.title['@_id']).toBe(titleId);
    expect(root.desc['@_id']).toBe(descId);
    expect(root.title['#text']).toBe('配信済み受信者数 (recipients delivered over time)');
    // The description gives a screen reader what the picture shows: every series and where it ends.
    expect(root.desc['#text']).toContain('メール, 101 points');
    expect(root.desc['#text']).toContain('10,000 at 25');
    expect(root['@_font-family']).toContain('Noto Sans CJK JP');
  });

  it('draws one line per series through every point, and one legend entry each', () => {
    expect(count(svg, 'series')).toBe(3);
    expect(count(svg, 'legend-item')).toBe(3);
    const lines = [...svg.matchAll(/class="series" data-series="([^"]*)" d="([^"]*)"/g)];
    expect(lines.map((m) => m[1])).toEqual(['メール', 'LINE', 'Web Push']);
    expect(lines.map((m) => (m[2] ?? '').split(/[ML]/).filter(Boolean).length)).toEqual([101, 49, 73]);
    expect(count(svg, 'point')).toBe(0);
  });

  it('tells series apart by dash pattern as well as colour', () => {
    const styles = [...svg.matchAll(/class="series"[^>]*stroke="([^"]*)"[^>]*?(?:stroke-dasharray="([^"]*)")?\/>/g)];
    expect(new Set(styles.map((m) => m[1])).size).toBe(3);
    expect(new Set(styles.map((m) => m[2] ?? 'solid')).size).toBe(3);
  });

  it('labels the axes on 1-2-5 steps with thousands separators, and draws the goals', () => {
    expect(texts(svg, 'tick-y')).toEqual(['0', '2,000', '4,000', '6,000', '8,000', '10,000', '12,000']);
    expect(texts(svg, 'tick-x')).toEqual(['0', '5', '10', '15', '20', '25', '30']);
    expect(count(svg, 'goal')).toBe(2);
    expect(svg).toContain('>目標 30 秒<');
  });

  it('marks each point when asked, with a tooltip', () => {
    const growth = lineChart({
      title: 'Time to deliver by recipients',
      xLabel: 'recipients',
      yLabel: 'seconds',
      markers: true,
      series: [
        {
          name: 'hibiki',
          points: [
            [10_000, 9],
            [50_000, 44],
            [100_000, 90],
            [200_000, 185],
          ],
        },
        {
          name: 'baseline',
          points: [
            [10_000, 8],
            [50_000, 40],
            [100_000, 81],
            [200_000, 162],
          ],
        },
      ],
    });
    wellFormed(growth);
    expect(count(growth, 'point')).toBe(8);
    expect(growth).toContain('<title>hibiki: recipients 200,000, seconds 185</title>');
    expect(texts(growth, 'tick-x')).toEqual(['0', '50,000', '100,000', '150,000', '200,000']);
  });

  it('escapes hostile text and leaves out points without a value', () => {
    const hostile = lineChart({
      title: 'a </title><script>alert(1)</script> & "b"',
      xLabel: "x's <axis>",
      yLabel: 'y\u0000\u0007 & z',
      series: [
        {
          name: '<e&mail "x">',
          points: [
            [0, 0],
            [1, Number.NaN],
            [2, 5],
          ],
        },
      ],
    });
    wellFormed(hostile);
    expect(hostile).not.toContain('<script>');
    const root = parser.parse(hostile).svg;
    // Read back by an XML parser, the title is the text given, not markup.
    expect(root.title['#text']).toBe('a </title><script>alert(1)</script> & "b"');
    expect(hostile).toContain('data-series="&lt;e&amp;mail &quot;x&quot;&gt;"');
    expect(root.desc['#text']).toContain('1 point without a value left out');
  });

  it('refuses more series than it has distinct styles', () => {
    const series = Array.from({ length: 8 }, (_, i) => ({ name: `s${i}`, points: [[0, i]] as [number, number][] }));
    expect(() => lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series })).toThrow(/8 series.*split the chart/);
  });
});

describe('barChart', () => {
  const svg = barChart({
    title: 'Recipients per second by channel',
    yLabel: 'recipients / s',
    xLabel: 'channel',
    groups: ['メール', 'LINE', 'webhook'],
    series: [
      { name: 'one job per recipient', values: [310, 820, 1_500] },
      { name: 'batched', values: [1_100, 2_400, null] },
    ],
    goals: [{ y: 2_000, label: 'goal 2,000/s' }],
  });

  it('draws a bar per value, labels the groups and writes the values', () => {
    wellFormed(svg);
    expect(count(svg, 'bar')).toBe(5);
    expect(count(svg, 'bar-missing')).toBe(1);
    expect(count(svg, 'legend-item')).toBe(2);
    expect(texts(svg, 'group-label')).toEqual(['メール', 'LINE', 'webhook']);
    expect(texts(svg, 'bar-value')).toEqual(['310', '1,100', '820', '2,400', '1,500']);
    expect(count(svg, 'goal')).toBe(1);
    expect(texts(svg, 'tick-y')).toContain('2,500');
    expect(parser.parse(svg).svg.desc['#text']).toContain('webhook: one job per recipient 1,500, batched n/a.');
  });

  it('fills the second series with a pattern so it differs in greyscale', () => {
    expect(svg).toMatch(/<pattern id="[^"]+-hatch1"/);
    const fills = [...svg.matchAll(/class="bar" data-series="([^"]*)"[^>]*fill="([^"]*)"/g)];
    expect(fills.filter((m) => m[1] === 'batched').every((m) => m[2]?.startsWith('url(#'))).toBe(true);
    expect(fills.filter((m) => m[1] === 'one job per recipient').every((m) => m[2]?.startsWith('#'))).toBe(true);
  });

  it('says which series has the wrong number of values', () => {
    expect(() =>
      barChart({ title: 't', yLabel: 'y', groups: ['a', 'b'], series: [{ name: 'short', values: [1] }] }),
    ).toThrow('series "short" has 1 values for 2 groups');
  });
});

describe('niceTicks and formatNumber', () => {
  it('steps by 1, 2 or 5 × 10ⁿ and covers the range', () => {
    expect(niceTicks(0, 9_730).ticks).toEqual([0, 2_000, 4_000, 6_000, 8_000, 10_000]);
    expect(niceTicks(0, 1.62).ticks).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(niceTicks(0, 0.3).ticks).toEqual([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    expect(niceTicks(0, 0).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('writes thousands separators and no negative zero', () => {
    expect(formatNumber(1_234_567.891)).toBe('1,234,568');
    expect(formatNumber(0.915)).toBe('0.92');
    expect(formatNumber(1, 1)).toBe('1.0');
    expect(formatNumber(-0.0001)).toBe('0');
  });
});

describe('markdownTable', () => {
  it('writes a header, a rule and the rows, numbers right-aligned', () => {
    expect(
      markdownTable([
        ['channel', 'recipients/s'],
        ['メール', '1,234'],
        ['LINE', '980.5'],
      ]),
    ).toBe(
      [
        '| channel | recipients/s |',
        '| ------- | -----------: |',
        '| メール  |        1,234 |',
        '| LINE    |        980.5 |',
        '',
      ].join('\n'),
    );
  });

  it('keeps a pipe or newline inside its cell', () => {
    const table = markdownTable([['a', 'b'], ['x | y', 'two\nlines'], ['short']]);
    const rows = table.trimEnd().split('\n');
    expect(rows[2]).toBe('| x \\| y | two<br>lines |');
    expect(rows[3]).toBe('| short  |              |');
  });
});

describe('summaryMarkdown', () => {
  it('marks each goal met, missed or absent', () => {
    const rows = summaryMarkdown([
      {
        scenario: 'mail',
        figure: 'recipients/s',
        value: '1,023',
        baseline: '1,190',
        ratio: '0.86',
        goal: '≥ 0.8',
        met: true,
      },
      { scenario: 'growth', figure: 'peak RSS', value: '310 MiB', goal: '≤ 256 MiB', met: false },
      { scenario: 'city', figure: 'first mail', value: '120 ms', met: null },
    ])
      .trimEnd()
      .split('\n')
      .map((r) =>
        r
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    expect(rows[0]).toEqual(['Scenario', 'Figure', 'Value', 'Baseline', 'Ratio', 'Goal', 'Met']);
    expect(rows[2]).toEqual(['mail', 'recipients/s', '1,023', '1,190', '0.86', '≥ 0.8', '✓']);
    expect(rows[3]).toEqual(['growth', 'peak RSS', '310 MiB', '—', '—', '≤ 256 MiB', '✗']);
    expect(rows[4]).toEqual(['city', 'first mail', '120 ms', '—', '—', '—', '—']);
  });
});

describe('writeResults', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the figures as JSON and each chart as an SVG beside it', () => {
    dir = mkdtempSync(join(tmpdir(), 'hibiki-report-'));
    const out = join(dir, 'results');
    const paths = writeResults(out, 'mail', { ratio: 0.86 }, { throughput: '<svg/>', growth: '<svg></svg>' });
    expect(paths).toEqual([join(out, 'mail.json'), join(out, 'mail-throughput.svg'), join(out, 'mail-growth.svg')]);
    expect(JSON.parse(readFileSync(join(out, 'mail.json'), 'utf8'))).toEqual({ ratio: 0.86 });
    expect(readFileSync(join(out, 'mail-growth.svg'), 'utf8')).toBe('<svg></svg>');
  });

  it('refuses a chart name that would leave the directory', () => {
    dir = mkdtempSync(join(tmpdir(), 'hibiki-report-'));
    expect(() => writeResults(dir, 'mail', {}, { '../escape': '<svg/>' })).toThrow('"../escape" cannot be part');
  });
});
