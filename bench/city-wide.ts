import { fileURLToPath } from 'node:url';
import { lineUserId } from '../test/channels/harness/line.ts';
import type { PerChannel } from '../test/faults/fan-out-fixture.ts';
import { notice } from '../test/helpers/api.ts';
import type { StoreKind } from '../test/helpers/db.ts';
import { type City, NODE_FLAGS, type NoticeRun, startCity } from './city.ts';
import { run } from './lib.ts';
import { bareLineSeconds, bareWebPushSeconds } from './push-line-throughput.ts';

const BARE_NODEMAILER = fileURLToPath(new URL('./bare-nodemailer.ts', import.meta.url));

/** Pooled SMTP connections: the service's MAIL_CONNECTIONS default, and the baseline's pool. */
export const MAIL_CONNECTIONS = 8;

/** The city-wide mix of scenario 1: 20 % mail, 50 % LINE, 30 % push. */
export function cityMix(recipients: number): PerChannel<number> {
  return {
    mail: Math.round(recipients * 0.2),
    line: Math.round(recipients * 0.5),
    webpush: recipients - Math.round(recipients * 0.2) - Math.round(recipients * 0.5),
  };
}

export const CITY_NOTICE = notice({ channels: ['mail', 'line', 'webpush'] });

export interface ChannelFigures {
  recipients: number;
  /** ms from the POST to the first and last recipient the provider accepted. */
  firstMs: number;
  lastMs: number;
  /** recipients / (last − POST). */
  perSecond: number;
  /** recipients / (last − first): the rate once sending began. */
  sendingPerSecond: number;
}

export interface CityRunFigures {
  store: StoreKind;
  recipients: number;
  channels: Partial<PerChannel<ChannelFigures>>;
  allSeconds: number;
  peakRssMiB: { api: number; worker: number };
  restingRssMiB: { api: number; worker: number };
  cpuSeconds: { api: number; worker: number };
  /** [seconds since the POST, cumulative recipients per channel]. */
  trace: [number, PerChannel<number>][];
}

/** What one notice's run gives, per channel and overall. */
export function figuresOf(store: StoreKind, size: PerChannel<number>, r: NoticeRun): CityRunFigures {
  const channels: Partial<PerChannel<ChannelFigures>> = {};
  for (const c of ['mail', 'line', 'webpush'] as const) {
    const last = r.lastMs[c];
    if (size[c] === 0 || last === undefined) continue;
    channels[c] = {
      recipients: size[c],
      firstMs: Math.round(r.firstMs[c] ?? 0),
      lastMs: Math.round(last),
      perSecond: Math.round(size[c] / (last / 1000)),
      sendingPerSecond: Math.round(size[c] / (Math.max(1, last - (r.firstMs[c] ?? 0)) / 1000)),
    };
  }
  // A trace of every 50 ms is more than a chart needs: keep about 200 points.
  const step = Math.max(1, Math.ceil(r.trace.length / 200));
  const trace = r.trace
    .filter((_, i) => i % step === 0 || i === r.trace.length - 1)
    .map(([ms, counts]) => [Math.round(ms) / 1000, counts] as [number, PerChannel<number>]);
  return {
    store,
    recipients: size.mail + size.line + size.webpush,
    channels,
    allSeconds: Math.round(r.allMs) / 1000,
    peakRssMiB: r.peakRssMiB,
    restingRssMiB: r.restingRssMiB,
    cpuSeconds: r.cpuSeconds,
    trace,
  };
}

/** Sends the city-wide notice to everyone in the city once. */
export async function sendCityWide(city: City, size: PerChannel<number>): Promise<NoticeRun> {
  return city.send(CITY_NOTICE, size);
}

/**
 * The baseline of the mail channel: a bare nodemailer pool (bench/bare-nodemailer.ts) in
 * its own process, sending the mail Hibiki renders into the same SMTP server.
 */
export async function bareNodemailerSeconds(city: City, recipients: number): Promise<number> {
  const sink = city.fanOut.sink;
  const before = sink.count;
  const { stdout } = await run(
    process.execPath,
    [...NODE_FLAGS, '--import', 'tsx', BARE_NODEMAILER, sink.url, String(recipients), String(MAIL_CONNECTIONS)],
    { env: process.env },
  );
  if (sink.count - before !== recipients)
    throw new Error(`bare nodemailer: the SMTP server accepted ${sink.count - before} of ${recipients} mails`);
  return Number(stdout.trim().split('\n').at(-1));
}

export interface Baselines {
  /** Seconds each bare client took for the channel's whole audience, alone on the machine. */
  mail: number;
  line: number;
  webpush: number;
}

/** The three bare clients, one after another, into the city's own fakes. */
export async function measureBaselines(city: City, size: PerChannel<number>): Promise<Baselines> {
  const subscriptions = await city.fanOut.deps.store.db.kysely
    .selectFrom('push_subscriptions as p')
    .innerJoin('contacts as c', 'c.id', 'p.contact_id')
    .select(['c.address', 'p.p256dh', 'p.auth'])
    .execute();
  const env = city.fanOut.deps.env;
  const vapid = { publicKey: env.VAPID_PUBLIC_KEY ?? '', privateKey: env.VAPID_PRIVATE_KEY ?? '' };
  const mail = await bareNodemailerSeconds(city, size.mail);
  const line = await bareLineSeconds(
    city.fanOut.line,
    Array.from({ length: size.line }, (_, i) => lineUserId(i)),
    { notice: CITY_NOTICE as never },
  );
  const webpush = await bareWebPushSeconds(
    city.fanOut.push,
    subscriptions.map((s) => ({ endpoint: s.address, keys: { p256dh: s.p256dh, auth: s.auth } })),
    { vapid, notice: CITY_NOTICE as never },
  );
  return { mail, line, webpush };
}

export interface CityWideOptions {
  store: StoreKind;
  recipients: number;
  /** Settings of the service for this run (e.g. DELIVERY_BATCH_LIMIT=1). */
  env?: Record<string, string>;
  baselines?: boolean;
  profileDir?: string;
}

export interface CityWideResult {
  run: CityRunFigures;
  baselines?: Baselines;
}

/** One city, one city-wide notice (and, if asked, the three bare clients into the same fakes). */
export async function cityWide(options: CityWideOptions): Promise<CityWideResult> {
  const size = cityMix(options.recipients);
  const city = await startCity({
    store: options.store,
    size,
    env: options.env,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
  });
  try {
    const r = await sendCityWide(city, size);
    const result: CityWideResult = { run: figuresOf(options.store, size, r) };
    if (options.baselines) result.baselines = await measureBaselines(city, size);
    return result;
  } finally {
    await city.close();
  }
}
