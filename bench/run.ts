import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { apiLoad } from './api-load.ts';
import { type CityRunFigures, type CityWideResult, cityWide } from './city-wide.ts';
import { emergencyDuringBacklog } from './emergency.ts';
import { feedPolling } from './feed-polling.ts';
import { multiProcess } from './multi-process.ts';
import { barChart, lineChart, type SummaryEntry, summaryMarkdown, writeResults } from './report.ts';

/**
 * `npm run bench`: the quick profile (a few minutes on a laptop); `npm run bench -- --full`
 * the sizes (a 100,000-resident city; about half an hour on 2 cores).
 * `--only=city,per-recipient,growth,emergency,feed,api,multi` runs some scenarios.
 * Each scenario prints its figures beside the baseline measured in the same run and
 * writes bench/results/<scenario>.json with its charts; bench/results/summary.md holds
 * the table the README's Performance section shows.
 */
const full = process.argv.includes('--full');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const wanted = (scenario: string) => !only || only.includes(scenario);
const RESULTS = resolve('bench/results');
// The service's logs go with the results, never into the test suite's log directory.
process.env.HIBIKI_TEST_LOG_DIR ??= resolve(RESULTS, 'logs');

const PROFILE = full
  ? {
      name: 'full' as const,
      city: 100_000,
      perRecipient: 100_000,
      growth: [10_000, 50_000, 100_000, 200_000],
      emergency: {
        backlogMail: 50_000,
        emergencyMail: 1_000,
        line: 50_000,
        webpush: 30_000,
        runs: 20,
        headStart: 2_000,
      },
    }
  : {
      name: 'quick' as const,
      city: 10_000,
      perRecipient: 10_000,
      growth: [5_000, 10_000, 20_000, 40_000],
      emergency: { backlogMail: 10_000, emergencyMail: 1_000, line: 5_000, webpush: 3_000, runs: 5, headStart: 1_000 },
    };

const summary: SummaryEntry[] = [];
const results: Record<string, unknown> = {};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const CHANNEL_NAMES = { mail: 'mail', line: 'LINE', webpush: 'push' } as const;

function deliveredChart(run: CityRunFigures, title: string): string {
  return lineChart({
    title,
    xLabel: 'seconds since the POST',
    yLabel: 'recipients accepted by the provider',
    series: (['mail', 'line', 'webpush'] as const)
      .filter((c) => run.channels[c])
      .map((c) => ({
        name: CHANNEL_NAMES[c],
        points: run.trace.map(([s, counts]) => [s, counts[c]] as [number, number]),
      })),
    goals: [{ x: 30, label: 'goal: all within 30 s' }],
  });
}

async function scenarioCity(): Promise<Record<string, CityWideResult>> {
  const byStore: Record<string, CityWideResult> = {};
  for (const store of ['sqlite', 'postgres'] as const) {
    console.log(`\n[1] city-wide notice: ${fmt(PROFILE.city)} recipients (20 % mail, 50 % LINE, 30 % push), ${store}…`);
    const r = await cityWide({ store, recipients: PROFILE.city, baselines: true });
    byStore[store] = r;
    const b = r.baselines;
    const ch = r.run.channels;
    for (const c of ['mail', 'line', 'webpush'] as const) {
      const f = ch[c];
      if (!f || !b) continue;
      const baselineRate = f.recipients / b[c];
      console.log(
        `  ${CHANNEL_NAMES[c]}: ${fmt(f.recipients)} in ${fmt(f.lastMs / 1000, 2)} s (first after ${f.firstMs} ms), ` +
          `${fmt(f.perSecond)}/s (${fmt(f.sendingPerSecond)}/s from first to last); bare client alone ${fmt(b[c], 2)} s, ${fmt(baselineRate)}/s; ratio ${fmt(f.perSecond / baselineRate, 2)}`,
      );
    }
    console.log(
      `  all ${fmt(r.run.recipients)} in ${r.run.allSeconds} s; peak RSS api ${r.run.peakRssMiB.api} MiB, worker ${r.run.peakRssMiB.worker} MiB ` +
        `(at rest before the POST: ${r.run.restingRssMiB.api} / ${r.run.restingRssMiB.worker} MiB); ` +
        `CPU api ${r.run.cpuSeconds.api} s, worker ${r.run.cpuSeconds.worker} s`,
    );
    if (b && ch.mail && ch.webpush && ch.line) {
      const mailRatio = ch.mail.perSecond / (ch.mail.recipients / b.mail);
      const pushRatio = ch.webpush.perSecond / (ch.webpush.recipients / b.webpush);
      const s = `city-wide ${fmt(PROFILE.city)} (${store})`;
      summary.push(
        {
          scenario: s,
          figure: 'mail recipients/s',
          value: fmt(ch.mail.perSecond),
          baseline: `${fmt(ch.mail.recipients / b.mail)} (bare nodemailer pool)`,
          ratio: fmt(mailRatio, 2),
          goal: '≥ 0.8',
          met: mailRatio >= 0.8,
        },
        {
          scenario: s,
          figure: 'push recipients/s',
          value: fmt(ch.webpush.perSecond),
          baseline: `${fmt(ch.webpush.recipients / b.webpush)} (bare web-push loop)`,
          ratio: fmt(pushRatio, 2),
          goal: '≥ 0.7',
          met: pushRatio >= 0.7,
        },
        {
          scenario: s,
          figure: 'LINE recipients/s',
          value: fmt(ch.line.perSecond),
          baseline: `${fmt(ch.line.recipients / b.line)} (bare HTTP client)`,
          ratio: fmt(ch.line.perSecond / (ch.line.recipients / b.line), 2),
          goal: '≥ 50,000/s',
          met: ch.line.perSecond >= 50_000,
        },
        {
          scenario: s,
          figure: 'POST → last delivery, all channels',
          value: `${r.run.allSeconds} s`,
          goal: '≤ 30 s',
          met: r.run.allSeconds <= 30,
        },
        {
          scenario: s,
          figure: 'peak RSS worker / API (worker at rest)',
          value: `${r.run.peakRssMiB.worker} / ${r.run.peakRssMiB.api} MiB (${r.run.restingRssMiB.worker})`,
          goal: 'worker ≤ 200 MiB',
          met: r.run.peakRssMiB.worker <= 200,
        },
      );
    }
    writeResults(RESULTS, `city-wide-${store}`, r, {
      delivered: deliveredChart(r.run, `City-wide notice, ${fmt(PROFILE.city)} recipients (${store})`),
      ...(b && ch.mail && ch.line && ch.webpush
        ? {
            rates: barChart({
              title: `Recipients per second: Hibiki in the city-wide run vs a bare client alone (${store})`,
              yLabel: 'recipients per second',
              groups: ['mail', 'LINE', 'push'],
              series: [
                {
                  name: 'Hibiki (all channels at once)',
                  values: [ch.mail.perSecond, ch.line.perSecond, ch.webpush.perSecond],
                },
                {
                  name: 'bare client alone',
                  values: [
                    ch.mail.recipients / b.mail,
                    ch.line.recipients / b.line,
                    ch.webpush.recipients / b.webpush,
                  ].map(Math.round),
                },
              ],
            }),
          }
        : {}),
    });
  }
  return byStore;
}

async function scenarioPerRecipient(batched: CityWideResult | undefined) {
  console.log(
    `\n[3] one BullMQ job per recipient (DELIVERY_BATCH_LIMIT=1): ${fmt(PROFILE.perRecipient)} recipients, sqlite…`,
  );
  const base =
    batched && batched.run.recipients === PROFILE.perRecipient
      ? batched
      : await cityWide({ store: 'sqlite', recipients: PROFILE.perRecipient });
  const single = await cityWide({
    store: 'sqlite',
    recipients: PROFILE.perRecipient,
    env: { DELIVERY_BATCH_LIMIT: '1' },
  });
  const ratio = single.run.allSeconds / base.run.allSeconds;
  console.log(
    `  batched: ${base.run.allSeconds} s, CPU ${base.run.cpuSeconds.worker} s; one job per recipient: ${single.run.allSeconds} s, ` +
      `CPU ${single.run.cpuSeconds.worker} s; batching is ${fmt(ratio, 1)}× faster`,
  );
  summary.push({
    scenario: `per-recipient jobs ${fmt(PROFILE.perRecipient)} (sqlite)`,
    figure: 'POST → last delivery',
    value: `${single.run.allSeconds} s`,
    baseline: `${base.run.allSeconds} s (batched)`,
    ratio: `batched ${fmt(ratio, 1)}× faster`,
  });
  const rate = (r: CityWideResult, c: 'mail' | 'line' | 'webpush') => r.run.channels[c]?.perSecond ?? null;
  writeResults(
    RESULTS,
    'per-recipient',
    { batched: base.run, perRecipient: single.run, ratio },
    {
      rates: barChart({
        title: `Batched jobs vs one job per recipient, ${fmt(PROFILE.perRecipient)} recipients (sqlite)`,
        yLabel: 'recipients per second',
        groups: ['mail', 'LINE', 'push'],
        series: [
          {
            name: 'Hibiki: batches (LINE 500, mail/push 100)',
            values: [rate(base, 'mail'), rate(base, 'line'), rate(base, 'webpush')],
          },
          {
            name: 'one job per recipient',
            values: [rate(single, 'mail'), rate(single, 'line'), rate(single, 'webpush')],
          },
        ],
      }),
      delivered: deliveredChart(single.run, `One job per recipient, ${fmt(PROFILE.perRecipient)} recipients (sqlite)`),
    },
  );
  return { batched: base.run, perRecipient: single.run, ratio };
}

async function scenarioGrowth(known: CityWideResult | undefined) {
  const points: {
    recipients: number;
    seconds: number;
    workerMiB: number;
    workerRestingMiB: number;
    apiMiB: number;
    cpu: number;
  }[] = [];
  for (const n of PROFILE.growth) {
    console.log(`\n[6] growth: ${fmt(n)} recipients, sqlite…`);
    const r = known && known.run.recipients === n ? known : await cityWide({ store: 'sqlite', recipients: n });
    points.push({
      recipients: n,
      seconds: r.run.allSeconds,
      workerMiB: r.run.peakRssMiB.worker,
      workerRestingMiB: r.run.restingRssMiB.worker,
      apiMiB: r.run.peakRssMiB.api,
      cpu: r.run.cpuSeconds.worker,
    });
    console.log(
      `  ${r.run.allSeconds} s (${fmt(n / r.run.allSeconds)}/s), worker CPU ${r.run.cpuSeconds.worker} s, peak RSS worker ${r.run.peakRssMiB.worker} MiB, api ${r.run.peakRssMiB.api} MiB`,
    );
  }
  const first = points[0];
  const last = points.at(-1);
  if (first && last) {
    const timeGrowth = last.seconds / first.seconds;
    const sizeGrowth = last.recipients / first.recipients;
    summary.push(
      {
        scenario: 'growth (sqlite)',
        figure: `time ${fmt(first.recipients)} → ${fmt(last.recipients)}`,
        value: `${first.seconds} → ${last.seconds} s (× ${fmt(timeGrowth, 1)})`,
        goal: `linear: × ${fmt(sizeGrowth)}`,
        met: timeGrowth <= sizeGrowth * 1.25,
      },
      {
        scenario: 'growth (sqlite)',
        figure: 'peak RSS worker',
        value: `${first.workerMiB} → ${last.workerMiB} MiB`,
        goal: 'flat (≤ 200 MiB)',
        met: last.workerMiB <= 200,
      },
    );
  }
  writeResults(RESULTS, 'growth', points, {
    time: lineChart({
      title: 'City-wide notice: time against recipients (sqlite)',
      xLabel: 'recipients',
      yLabel: 'seconds, POST → last delivery',
      markers: true,
      series: [
        { name: 'wall time', points: points.map((p) => [p.recipients, p.seconds]) },
        { name: 'worker CPU', points: points.map((p) => [p.recipients, p.cpu]) },
      ],
    }),
    memory: lineChart({
      title: 'City-wide notice: peak memory against recipients (sqlite)',
      xLabel: 'recipients',
      yLabel: 'peak RSS (MiB)',
      markers: true,
      series: [
        { name: 'worker, peak', points: points.map((p) => [p.recipients, p.workerMiB]) },
        { name: 'worker at rest (before the POST)', points: points.map((p) => [p.recipients, p.workerRestingMiB]) },
        { name: 'API', points: points.map((p) => [p.recipients, p.apiMiB]) },
      ],
      goals: [{ y: 200, label: 'worker goal 200 MiB' }],
    }),
  });
  return points;
}

async function scenarioEmergency() {
  const e = PROFILE.emergency;
  console.log(
    `\n[2] emergency during a backlog: routine mail to ${fmt(e.backlogMail)} draining; emergency to ${fmt(e.emergencyMail)} mail + ${fmt(e.line)} LINE + ${fmt(e.webpush)} push + CAP, ${e.runs} runs, sqlite…`,
  );
  const r = await emergencyDuringBacklog({
    store: 'sqlite',
    backlogMail: e.backlogMail,
    emergencyMail: e.emergencyMail,
    line: e.line,
    webpush: e.webpush,
    runs: e.runs,
    backlogHeadStart: e.headStart,
  });
  const worstFirst = Math.max(r.firstMs.mail.p99, r.firstMs.line.p99, r.firstMs.webpush.p99, r.firstMs.cap.p99);
  console.log(
    `  first delivery p50/p99 (ms): mail ${r.firstMs.mail.p50}/${r.firstMs.mail.p99}, LINE ${r.firstMs.line.p50}/${r.firstMs.line.p99}, ` +
      `push ${r.firstMs.webpush.p50}/${r.firstMs.webpush.p99}, CAP feed ${r.firstMs.cap.p50}/${r.firstMs.cap.p99}; ` +
      `last p50/p99: mail ${r.lastMs.mail.p50}/${r.lastMs.mail.p99}, LINE ${r.lastMs.line.p50}/${r.lastMs.line.p99}, push ${r.lastMs.webpush.p50}/${r.lastMs.webpush.p99}`,
  );
  summary.push(
    {
      scenario: `emergency during backlog (${e.runs} runs)`,
      figure: 'POST → first delivery, slowest channel p99',
      value: `${worstFirst} ms`,
      goal: '< 250 ms',
      met: worstFirst < 250,
    },
    {
      scenario: `emergency during backlog (${e.runs} runs)`,
      figure: `POST → last of ${fmt(e.emergencyMail)} mails, p99`,
      value: `${fmt(r.lastMs.mail.p99 / 1000, 2)} s`,
      goal: '< 2 s',
      met: r.lastMs.mail.p99 < 2_000,
    },
  );
  const groups = ['mail', 'LINE', 'push', 'CAP feed'];
  const ff = r.firstMs;
  writeResults(RESULTS, 'emergency', r, {
    first: barChart({
      title: `Emergency behind a routine backlog: POST → first delivery (${e.runs} runs)`,
      yLabel: 'milliseconds',
      groups,
      series: [
        { name: 'p50', values: [ff.mail.p50, ff.line.p50, ff.webpush.p50, ff.cap.p50] },
        { name: 'p99', values: [ff.mail.p99, ff.line.p99, ff.webpush.p99, ff.cap.p99] },
      ],
      goals: [{ y: 250, label: 'goal p99 < 250 ms' }],
    }),
  });
  return r;
}

async function scenarioFeed() {
  console.log('\n[4] CAP feed under polling…');
  const r = await feedPolling({ profile: PROFILE.name, stores: ['sqlite', 'postgres'] });
  for (const row of r.rows) {
    summary.push({
      scenario: `feed polling (${row.store})`,
      figure: `${row.case}, ${row.connections} clients`,
      value: `${fmt(row.requestsPerSecond)} req/s, p99 ${row.p99Ms} ms`,
      baseline: `${fmt(row.baselineRequestsPerSecond)} req/s (bare node:http)`,
      ratio: fmt(row.ratio, 2),
      ...(row.goal ? { goal: row.goal, met: row.met ?? null } : {}),
    });
  }
  writeResults(RESULTS, 'feed-polling', r, {
    rates: barChart({
      title: 'CAP feed under 200 polling clients: requests per second',
      yLabel: 'requests per second',
      groups: r.rows.map((row) => `${row.case} (${row.store})`),
      series: [
        { name: 'Hibiki', values: r.rows.map((row) => row.requestsPerSecond) },
        { name: 'bare node:http, same bytes', values: r.rows.map((row) => row.baselineRequestsPerSecond) },
      ],
    }),
  });
  return r;
}

async function scenarioApi() {
  console.log('\n[5] staff API under load…');
  const r = await apiLoad({ profile: PROFILE.name, stores: ['sqlite', 'postgres'] });
  for (const row of r.rows) {
    summary.push({
      scenario: `API (${row.store})`,
      figure: `${row.case}, ${row.connections} clients`,
      value: `${fmt(row.requestsPerSecond)} req/s, p99 ${row.p99Ms} ms`,
      baseline: `${fmt(row.baselineRequestsPerSecond)} req/s`,
      ratio: fmt(row.ratio, 2),
    });
  }
  writeResults(RESULTS, 'api-load', r, {
    rates: barChart({
      title: 'Staff API under 100 clients: requests per second',
      yLabel: 'requests per second',
      groups: r.rows.map((row) => `${row.case} (${row.store})`),
      series: [
        { name: 'Hibiki', values: r.rows.map((row) => row.requestsPerSecond) },
        { name: 'bare node:http baseline', values: r.rows.map((row) => row.baselineRequestsPerSecond) },
      ],
    }),
  });
  return r;
}

async function scenarioMulti() {
  console.log('\n[7] 2 API + 3 worker processes against one Redis and PostgreSQL…');
  const r = await multiProcess({ profile: PROFILE.name });
  for (const [layout, s] of Object.entries(r.summary)) {
    summary.push({
      scenario: 'many processes (postgres)',
      figure: `${layout}: ${s.description}`,
      value: s.lastDeliveryMs === undefined ? '—' : `${fmt(s.lastDeliveryMs / 1000, 2)} s`,
      ratio: s.ratioToReference === undefined ? undefined : `× ${fmt(s.ratioToReference, 2)} of one process`,
      goal: 'same deliveries, no duplicates',
      met: r.sameAsReference && r.duplicated === 0 && r.lost === 0,
    });
  }
  writeResults(RESULTS, 'multi-process', r, {});
  return r;
}

const ORDER = ['city', 'per-recipient', 'growth', 'emergency', 'feed', 'api', 'multi'];

/**
 * Runs one scenario and keeps its summary rows in <scenario>.summary.json, so a run of
 * some scenarios (--only) updates their rows of summary.md and keeps the others'.
 */
async function scenario<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) return undefined;
  const from = summary.length;
  const result = await run();
  results[name] = result;
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    resolve(RESULTS, `${name}.summary.json`),
    `${JSON.stringify({ profile: PROFILE.name, at: new Date().toISOString(), rows: summary.slice(from) }, null, 2)}\n`,
  );
  return result;
}

const started = Date.now();
console.log(`Hibiki benchmarks, ${PROFILE.name} profile (node ${process.version}); results in ${RESULTS}`);
const city = await scenario('city', scenarioCity);
await scenario('per-recipient', () => scenarioPerRecipient(city?.sqlite));
await scenario('growth', () => scenarioGrowth(city?.sqlite));
await scenario('emergency', scenarioEmergency);
await scenario('feed', scenarioFeed);
await scenario('api', scenarioApi);
await scenario('multi', scenarioMulti);

const kept = ORDER.flatMap((name) => {
  try {
    const saved = JSON.parse(readFileSync(resolve(RESULTS, `${name}.summary.json`), 'utf8')) as {
      profile: string;
      rows: SummaryEntry[];
    };
    return saved.rows.map((row) =>
      saved.profile === PROFILE.name ? row : { ...row, scenario: `${row.scenario} [${saved.profile}]` },
    );
  } catch {
    return [];
  }
});
const table = summaryMarkdown(kept);
writeFileSync(
  resolve(RESULTS, 'summary.md'),
  `# Hibiki benchmarks (${PROFILE.name} profile)\n\n${new Date().toISOString()}, node ${process.version}, 2 cores\n\n${table}\n`,
);
writeFileSync(
  resolve(RESULTS, 'latest.json'),
  `${JSON.stringify({ at: new Date().toISOString(), profile: PROFILE.name, node: process.version, summary: kept, results }, null, 2)}\n`,
);
console.log(
  `\n${table}\nthis run took ${Math.round((Date.now() - started) / 60_000)} min; written to ${RESULTS}/summary.md`,
);
