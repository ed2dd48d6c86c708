import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

/**
 * Issue 13: `promtool check metrics` on what /metrics serves. promtool comes with Debian's
 * prometheus package (.ci/run installs it); where it is not on PATH, the same rules are checked
 * by the small exposition-format checker below, and the test's name says which one ran.
 */

const PROMTOOL = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const CHECKER = PROMTOOL ? 'promtool check metrics' : 'the exposition-format checker (no promtool on PATH)';

/** promtool's verdict: one line per problem (it exits 3 when there are some). */
function promtool(exposition: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      const lines = `${stdout}\n${stderr}`
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      if (err && (err as { code?: unknown }).code !== 3) reject(new Error(`promtool failed: ${stderr}`));
      else resolve(lines);
    });
    child.stdin?.end(exposition);
  });
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)(?: -?\d+)?$/;
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * The text format's rules that promtool checks: a HELP and a TYPE for each family, samples
 * that parse and belong to a declared family, counters named *_total and no other type so.
 */
function checkExposition(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (!NAME.test(name)) problems.push(`${name}: not a valid metric name`);
      if (kind === 'HELP') helps.add(name);
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          problems.push(`${name}: unknown type ${rest}`);
        if (types.has(name)) problems.push(`${name}: TYPE given twice`);
        types.set(name, rest);
        if (rest === 'counter' && !name.endsWith('_total'))
          problems.push(`${name}: counter metrics should have "_total" suffix`);
        if (rest !== 'counter' && name.endsWith('_total'))
          problems.push(`${name} non-counter metrics should not have "_total" suffix`);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = SAMPLE.exec(line);
    if (!sample) {
      problems.push(`unparsable line: ${line}`);
      continue;
    }
    const [, name = '', , value = ''] = sample;
    if (!/^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|[-+]?inf|nan)$/i.test(value))
      problems.push(`${name}: value ${value} is not a number`);
    const family = [...types.keys()].find((f) =>
      (SUFFIXES[types.get(f) ?? ''] ?? ['']).some((s) => f + s === name || (s === '' && f === name)),
    );
    if (!family) problems.push(`${name}: sample of no declared family`);
  }
  for (const name of types.keys()) if (!helps.has(name)) problems.push(`${name}: no HELP`);
  return [...new Set(problems)];
}

describe('/metrics exposition', () => {
  let deps: TestDeps;
  let text: string;
  beforeAll(async () => {
    deps = await createTestDeps();
    // One of each of our own series, so every family has samples.
    deps.metrics.deliveries.inc({ channel: 'mail', status: 'sent' }, 3);
    deps.metrics.sendSeconds.observe({ channel: 'mail' }, 0.12);
    const res = await createApp(deps).request('/metrics');
    expect(res.status).toBe(200);
    text = await res.text();
  });
  afterAll(async () => {
    await deps?.dispose();
  });

  it(`passes ${CHECKER}`, async () => {
    const problems = PROMTOOL ? await promtool(text) : checkExposition(text);
    expect(problems, `${CHECKER} found ${problems.length} problem(s):\n${problems.join('\n')}`).toEqual([]);
  });

  it('serves the default metrics under their standard names, and only our own ones prefixed', () => {
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    for (const standard of [
      'process_cpu_seconds_total counter',
      'process_resident_memory_bytes gauge',
      'process_start_time_seconds gauge',
      'nodejs_eventloop_lag_seconds gauge',
      'nodejs_heap_size_used_bytes gauge',
      'nodejs_active_handles gauge',
      'nodejs_gc_duration_seconds histogram',
      'nodejs_version_info gauge',
      'hibiki_deliveries_total counter',
      'hibiki_send_duration_seconds histogram',
      'hibiki_queue_jobs gauge',
    ])
      expect(families).toContain(standard);
    expect(families.filter((f) => /^hibiki_(?:process|nodejs)_/.test(f))).toEqual([]);
  });

  it('fails on what promtool found before the fix (both checkers)', async () => {
    const before =
      '# HELP nodejs_active_handles_total Total number of active handles.\n' +
      '# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n' +
      '# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n' +
      '# TYPE no_help gauge\nno_help 1\nstray_sample 2\n';
    expect(checkExposition(before)).toEqual([
      'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
      'requests: counter metrics should have "_total" suffix',
      'stray_sample: sample of no declared family',
      'no_help: no HELP',
    ]);
    expect(checkExposition(text)).toEqual([]);
    if (PROMTOOL) expect((await promtool(before)).join('\n')).toContain('nodejs_active_handles_total non-counter');
  });
});
