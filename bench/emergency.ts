import { fileURLToPath } from 'node:url';
import type { PerChannel } from '../test/faults/fan-out-fixture.ts';
import { notice } from '../test/helpers/api.ts';
import { seedContacts } from '../test/helpers/bulk-seed.ts';
import type { StoreKind } from '../test/helpers/db.ts';
import { residentEmails } from '../test/helpers/seed.ts';
import { startCity } from './city.ts';
import { until } from './lib.ts';

const CATALOGUE = fileURLToPath(new URL('../templates/catalogue.example.json', import.meta.url));

/** The district the emergency is for; the routine residents live in another one. */
const EMERGENCY_AREA = '432105-01';
const ROUTINE_AREA = '432105-02';

export interface EmergencyOptions {
  store: StoreKind;
  /** Routine mail residents (all get the routine notice; none is in the emergency's district). */
  backlogMail: number;
  /** Mail residents in the emergency's district. */
  emergencyMail: number;
  /** LINE friends and push subscriptions, all over the city: all get the emergency. */
  line: number;
  webpush: number;
  runs: number;
  /** Routine mails the SMTP server must have accepted before the emergency is posted. */
  backlogHeadStart: number;
}

export interface EmergencyRun {
  /** ms from the emergency's POST to its first delivery on each channel (CAP: in the public feed). */
  firstMs: PerChannel<number> & { cap: number };
  /** ms from the POST to its last delivery on each channel. */
  lastMs: PerChannel<number>;
  /** Routine mails still to send when the emergency was posted. */
  backlogLeft: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface EmergencyResult {
  store: StoreKind;
  options: EmergencyOptions;
  runs: EmergencyRun[];
  firstMs: Record<'mail' | 'line' | 'webpush' | 'cap', Percentiles>;
  lastMs: Record<'mail' | 'line' | 'webpush', Percentiles>;
}

/** Nearest-rank percentile: with 20 runs the p99 is the slowest run. */
export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const summary = (xs: number[]): Percentiles => ({
  p50: Math.round(percentile(xs, 50)),
  p99: Math.round(percentile(xs, 99)),
  max: Math.round(Math.max(...xs)),
});

/**
 * Scenario 2: a routine mail notice to the whole city is draining when an evacuation
 * order is posted for one district: its mail residents, every LINE friend and every push
 * subscription, and the CAP feed. A routine notice is posted and, once well under way,
 * the emergency; the next run posts its emergency as soon as this one has reached
 * everyone, while the routine notice still drains (a new one is posted whenever less
 * than a quarter of the last is left).
 */
export async function emergencyDuringBacklog(options: EmergencyOptions): Promise<EmergencyResult> {
  const city = await startCity({
    store: options.store,
    size: { mail: 0, line: options.line, webpush: options.webpush },
    // The example catalogue's districts, and the CAP feed beside the three fakes.
    env: { CHANNELS: 'mail,line,webpush,cap', CATALOGUE_FILE: CATALOGUE },
  });
  const { sink, line, push } = city.fanOut;
  try {
    const deps = city.fanOut.deps;
    const routineEmails = residentEmails(options.backlogMail, 'routine.example.jp');
    const emergencyEmails = residentEmails(options.emergencyMail, 'district.example.jp');
    await seedContacts(
      deps,
      'mail',
      routineEmails.map((address) => ({ address })),
      ['events'],
      [ROUTINE_AREA],
    );
    await seedContacts(
      deps,
      'mail',
      emergencyEmails.map((address) => ({ address })),
      ['disaster'],
      [EMERGENCY_AREA],
    );
    const runs: EmergencyRun[] = [];
    /** The routine notice draining now, and how many of its mails the SMTP server had accepted before it. */
    let routine: { id: string; mailBefore: number } | undefined;
    let routines = 0;
    const backlogLeftNow = () =>
      routine ? options.backlogMail - routineMailsSince(routine.mailBefore) : Number.NEGATIVE_INFINITY;
    // Routine mail goes only to the routine district's residents, so every mail not to the
    // emergency's district since the routine notice was posted is one of its mails.
    const routineMailsSince = (mailBefore: number) => sink.count - mailBefore - emergencyMailsTotal;
    let emergencyMailsTotal = 0;
    for (let i = 0; i < options.runs; i++) {
      // A new routine notice whenever less than a quarter of the last one is left: every
      // emergency is posted while a routine notice of backlogMail residents drains.
      if (backlogLeftNow() < options.backlogMail / 4) {
        routines++;
        const posted = await city.request('/v1/notices', {
          method: 'POST',
          body: JSON.stringify(
            notice({
              title: `市民体育館の利用案内 (${routines})`,
              severity: 'info',
              category: 'お知らせ',
              topics: ['events'],
              channels: ['mail'],
            }),
          ),
        });
        const mailBefore = sink.count;
        routine = { id: ((await posted.json()) as { id: string }).id, mailBefore };
        emergencyMailsTotal = 0;
        await until(
          'the routine notice to be draining',
          () => routineMailsSince(mailBefore) >= options.backlogHeadStart,
          120_000,
          5,
        );
      }

      const envelopesBefore = sink.envelopes.length;
      const lineBefore = line.delivered;
      const pushBefore = push.requests.length;
      const backlogLeft = backlogLeftNow();
      const first: Partial<Record<'mail' | 'line' | 'webpush' | 'cap', number>> = {};
      const last: Partial<Record<'mail' | 'line' | 'webpush', number>> = {};
      let emergencyMails = 0;
      let scanned = envelopesBefore;
      const started = performance.now();
      const posted = await city.request('/v1/notices', {
        method: 'POST',
        body: JSON.stringify(
          notice({
            title: '【避難指示】菊池地区に警戒レベル4 避難指示を発令',
            body: '菊池地区の全域に避難指示を発令しました。直ちに市民体育館などの避難所へ避難してください。',
            severity: 'emergency',
            category: '避難情報',
            topics: ['disaster'],
            areas: [EMERGENCY_AREA],
            channels: ['mail', 'line', 'webpush', 'cap'],
          }),
        ),
      });
      if (posted.status !== 202) throw new Error(`emergency POST answered ${posted.status}: ${await posted.text()}`);
      const emergencyId = ((await posted.json()) as { id: string }).id;
      let feedTag = '';
      const look = async () => {
        const at = performance.now() - started;
        const envelopes = sink.envelopes;
        for (; scanned < envelopes.length; scanned++) {
          if (envelopes[scanned]?.rcptTo.some((r) => r.endsWith('@district.example.jp'))) emergencyMails++;
        }
        const got = {
          mail: emergencyMails,
          line: line.delivered - lineBefore,
          webpush: push.requests.length - pushBefore,
        };
        const want = { mail: options.emergencyMail, line: options.line, webpush: options.webpush };
        for (const c of ['mail', 'line', 'webpush'] as const) {
          if (first[c] === undefined && got[c] > 0) first[c] = at;
          if (last[c] === undefined && got[c] >= want[c]) last[c] = at;
        }
        if (first.cap === undefined) {
          // As an aggregator polls: a conditional GET, the whole feed only when it changed.
          const res = await fetch(`${city.baseUrl}/feeds/cap.atom`, {
            headers: feedTag ? { 'if-none-match': feedTag } : {},
          });
          if (res.status === 200) {
            feedTag = res.headers.get('etag') ?? '';
            if ((await res.text()).includes(emergencyId)) first.cap = performance.now() - started;
          } else await res.arrayBuffer();
        }
        return (
          first.cap !== undefined && last.mail !== undefined && last.line !== undefined && last.webpush !== undefined
        );
      };
      await until(`emergency ${emergencyId} to reach everyone`, look, 300_000, 2);
      runs.push({
        firstMs: {
          mail: Math.round(first.mail ?? 0),
          line: Math.round(first.line ?? 0),
          webpush: Math.round(first.webpush ?? 0),
          cap: Math.round(first.cap ?? 0),
        },
        lastMs: {
          mail: Math.round(last.mail ?? 0),
          line: Math.round(last.line ?? 0),
          webpush: Math.round(last.webpush ?? 0),
        },
        backlogLeft,
      });
      const r = runs.at(-1) as EmergencyRun;
      console.log(
        `  run ${i + 1}: first mail ${r.firstMs.mail} ms, LINE ${r.firstMs.line} ms, push ${r.firstMs.webpush} ms, CAP ${r.firstMs.cap} ms; ` +
          `last mail ${r.lastMs.mail} ms, LINE ${r.lastMs.line} ms, push ${r.lastMs.webpush} ms (${backlogLeft} routine mails still to send)`,
      );
      emergencyMailsTotal += options.emergencyMail;
    }
    return {
      store: options.store,
      options,
      runs,
      firstMs: {
        mail: summary(runs.map((r) => r.firstMs.mail)),
        line: summary(runs.map((r) => r.firstMs.line)),
        webpush: summary(runs.map((r) => r.firstMs.webpush)),
        cap: summary(runs.map((r) => r.firstMs.cap)),
      },
      lastMs: {
        mail: summary(runs.map((r) => r.lastMs.mail)),
        line: summary(runs.map((r) => r.lastMs.line)),
        webpush: summary(runs.map((r) => r.lastMs.webpush)),
      },
    };
  } finally {
    await city.close();
  }
}
