import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import webpush from 'web-push';
import type { ChannelId } from '../../src/domain/notice.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { type PushService, startPushService } from '../fakes/push-service.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { seedContacts } from '../helpers/bulk-seed.ts';
import type { StoreKind } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { type HibikiProcess, startHibiki } from '../helpers/process.ts';
import { residentEmails, tally } from '../helpers/seed.ts';

/** The three per-recipient channels a fan-out fault test sends on. */
export const FAN_OUT_CHANNELS = ['mail', 'line', 'webpush'] as const;
export type FanOutChannel = (typeof FAN_OUT_CHANNELS)[number];
export type PerChannel<T> = Record<FanOutChannel, T>;

const PUSH_CERT_FILE = fileURLToPath(new URL('../fixtures/push/cert.pem', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/faults/', import.meta.url));

export interface FanOutOptions {
  store: StoreKind;
  /** Residents per channel, each with one contact on that channel only. */
  size: PerChannel<number>;
  /** Extra settings for the service (WORKER_CONCURRENCY, MAIL_CONNECTIONS…). */
  env?: Record<string, string>;
}

export interface FanOut {
  deps: TestDeps;
  sink: SmtpSink;
  line: LineFake;
  push: PushService;
  size: PerChannel<number>;
  /** `hibiki <command>` as its own process, configured for the three fakes. */
  start(command: 'worker' | 'all', env?: Record<string, string>): HibikiProcess;
  /** Every process started, so afterAll can make sure none is left running. */
  readonly processes: HibikiProcess[];
  /** Writes what every process said to test-artifacts/faults/<scenario>-<n>.log (for a failing run). */
  saveOutputs(scenario: string): void;
  /** What each provider has accepted: recipient (address, LINE user id, push subscription id) → times. */
  received(): PerChannel<Map<string, number>>;
  /** The recipients whose delivery row of the notice is sent, keyed as received() keys them. */
  recordedSent(noticeId: string): Promise<PerChannel<Set<string>>>;
  /** The recipients of some batches of the notice on a channel, keyed as received() keys them. */
  recipientsOfBatches(noticeId: string, channel: FanOutChannel, batches: number[]): Promise<Set<string>>;
  /** Sent delivery rows of the notice, all channels together. */
  sentRows(noticeId: string): Promise<number>;
  /** The final figures: per channel expected, sent rows, lost and duplicated recipients. */
  figures(noticeId: string): Promise<PerChannel<ChannelFigures>>;
  close(): Promise<void>;
}

export interface ChannelFigures {
  expected: number;
  /** Delivery rows in status sent. */
  sent: number;
  /** Expected recipients the provider never received, or whose row is not sent. */
  lost: number;
  /** Extra copies the provider accepted: Σ (times received − 1). */
  duplicated: number;
  /** Recipients who got it more than once. */
  duplicatedRecipients: string[];
}

/** A notice's reach on one channel, as a fault test reports and checks it. */
export interface MailFigures {
  expected: number;
  sent: number;
  lost: number;
  duplicated: number;
}

/** Per recipient: how many times the SMTP server accepted a mail for them. */
export function mailReceivedBy(sink: SmtpSink): Map<string, number> {
  const times = new Map<string, number>();
  for (const e of sink.envelopes) for (const r of e.rcptTo) times.set(r, (times.get(r) ?? 0) + 1);
  return times;
}

/**
 * A notice's mail to `emails`, as the residents and the store saw it: how many of them
 * have a sent row, how many were lost (never received it, or have no sent row), and how
 * many extra copies the SMTP server accepted (Σ times received − 1).
 */
export async function countMailRecipients(
  deps: TestDeps,
  sink: SmtpSink,
  noticeId: string,
  emails: string[],
): Promise<{ addressesSent: number; lost: number; duplicated: number }> {
  const times = mailReceivedBy(sink);
  const sentRows = await deps.store.db.kysely
    .selectFrom('deliveries as d')
    .innerJoin('contacts as c', 'c.id', 'd.contact_id')
    .select('c.address')
    .where('d.notice_id', '=', noticeId)
    .where('d.status', '=', 'sent')
    .execute();
  const sent = new Set(sentRows.map((r) => r.address));
  return {
    addressesSent: sent.size,
    lost: emails.filter((e) => !times.has(e) || !sent.has(e)).length,
    duplicated: emails.reduce((sum, e) => sum + Math.max(0, (times.get(e) ?? 0) - 1), 0),
  };
}

/** The push subscription id in an endpoint (the fake names subscriptions by their last path segment). */
const subscriptionOf = (endpoint: string) => endpoint.slice(endpoint.lastIndexOf('/') + 1);

/**
 * The three fakes (SMTP sink, LINE API, Web Push service), a store seeded with a fan-out's
 * residents, and the environment a `hibiki` process needs to send to them: what a fault
 * test needs to tell what every resident received.
 */
export async function startFanOut(options: FanOutOptions): Promise<FanOut> {
  const [sink, line, push] = await Promise.all([
    startSmtpSink({ record: 'count' }),
    startLineFake(),
    // Decrypting is the phone's work: counting what arrived is enough here.
    startPushService({ decrypt: 'on-read' }),
  ]);
  const vapid = webpush.generateVAPIDKeys();
  const deps = await createTestDeps({
    store: options.store,
    env: {
      CHANNELS: 'mail,line,webpush',
      SMTP_URL: sink.url,
      LINE_CHANNEL_ACCESS_TOKEN: line.token,
      LINE_CHANNEL_SECRET: 'fault-line-secret',
      LINE_API_BASE_URL: line.baseUrl,
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:bousai@city.example.jp',
      WEBPUSH_EXTRA_HOSTS: '127.0.0.1',
      // The push fake listens on loopback, which the outbound layer refuses unless named.
      OUTBOUND_ALLOW: '127.0.0.1/32',
      // The push fake's self-signed certificate, trusted as an operator trusts a private CA.
      NODE_EXTRA_CA_CERTS: PUSH_CERT_FILE,
      ...options.env,
    },
  });

  const emails = residentEmails(options.size.mail, 'example.jp');
  const userIds = Array.from({ length: options.size.line }, (_, i) => lineUserId(i));
  const browsers = Array.from({ length: options.size.webpush }, () =>
    push.subscribe({ applicationServerKey: vapid.publicKey }),
  );
  await seedContacts(
    deps,
    'mail',
    emails.map((address) => ({ address })),
  );
  await seedContacts(
    deps,
    'line',
    userIds.map((address) => ({ address })),
  );
  await seedContacts(
    deps,
    'webpush',
    browsers.map((b) => ({ address: b.endpoint, keys: b.keys })),
  );
  const expectedKeys: PerChannel<string[]> = { mail: emails, line: userIds, webpush: browsers.map((b) => b.id) };

  const processes: HibikiProcess[] = [];
  const keyOf = (channel: FanOutChannel, address: string) =>
    channel === 'webpush' ? subscriptionOf(address) : address;

  const received = (): PerChannel<Map<string, number>> => {
    return { mail: mailReceivedBy(sink), line: line.receivedCounts(), webpush: push.receivedCounts() };
  };

  /** Recipients of the notice on a channel: those whose row is sent, or all those in some batches. */
  const addressesOf = async (noticeId: string, channel: FanOutChannel, batches?: number[]) => {
    let q = deps.store.db.kysely
      .selectFrom('deliveries as d')
      .innerJoin('contacts as c', 'c.id', 'd.contact_id')
      .select('c.address')
      .where('d.notice_id', '=', noticeId)
      .where('d.channel', '=', channel as ChannelId);
    q = batches ? q.where('d.batch', 'in', batches) : q.where('d.status', '=', 'sent');
    const rows = await q.execute();
    return new Set(rows.map((r) => keyOf(channel, r.address)));
  };

  const recordedSent = async (noticeId: string): Promise<PerChannel<Set<string>>> => {
    const [mail, lineSent, webpushSent] = await Promise.all(FAN_OUT_CHANNELS.map((c) => addressesOf(noticeId, c)));
    return { mail: mail as Set<string>, line: lineSent as Set<string>, webpush: webpushSent as Set<string> };
  };

  return {
    deps,
    sink,
    line,
    push,
    size: options.size,
    processes,
    start(command, env = {}) {
      const p = startHibiki(command, { ...deps.env, ...env });
      processes.push(p);
      return p;
    },
    saveOutputs(scenario) {
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const [i, p] of processes.entries()) writeFileSync(`${ARTIFACTS}${scenario}-${i + 1}.log`, p.output());
    },
    received,
    recordedSent,
    async recipientsOfBatches(noticeId, channel, batches) {
      return batches.length === 0 ? new Set() : addressesOf(noticeId, channel, batches);
    },
    async sentRows(noticeId) {
      return tally(await deps.store.deliveries.counts(noticeId)).sent;
    },
    async figures(noticeId) {
      const counts = await deps.store.deliveries.counts(noticeId);
      const got = received();
      const sent = await recordedSent(noticeId);
      const out = {} as PerChannel<ChannelFigures>;
      for (const channel of FAN_OUT_CHANNELS) {
        const times = got[channel];
        const keys = expectedKeys[channel];
        const duplicatedRecipients = [...times].filter(([, n]) => n > 1).map(([k]) => k);
        out[channel] = {
          expected: keys.length,
          sent: tally(counts, channel).sent,
          lost: keys.filter((k) => !times.has(k) || !sent[channel].has(k)).length,
          duplicated: [...times.values()].reduce((sum, n) => sum + n - 1, 0),
          duplicatedRecipients,
        };
      }
      return out;
    },
    async close() {
      for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      await deps.dispose();
      await Promise.all([sink.close(), line.close(), push.close()]);
    },
  };
}

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same kill moments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Prints a scenario's figures (lines made with formatTable and notes) and writes them to test-artifacts/faults/<scenario>.json. */
export function reportFaultFigures(scenario: string, figures: Record<string, unknown>, lines: string[]): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(`${ARTIFACTS}${scenario}.json`, `${JSON.stringify({ scenario, ...figures }, null, 2)}\n`);
  console.log(`[fault] ${scenario}\n${lines.join('\n')}`);
}

/** Rows as aligned columns, the first row being the header. */
export function formatTable(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
