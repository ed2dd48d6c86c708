import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Locale } from '../src/domain/notice.ts';
import { lineUserId } from '../test/channels/harness/line.ts';
import type { LineFake } from '../test/fakes/line-api.ts';
import type { PushService } from '../test/fakes/push-service.ts';
import { type FanOut, startFanOut } from '../test/faults/fan-out-fixture.ts';
import { acceptedId } from '../test/faults/service-process.ts';
import { notice as apiNotice } from '../test/helpers/api.ts';
import { type HibikiProcess, startHibiki } from '../test/helpers/process.ts';
import { freePort } from '../test/helpers/redis-server.ts';
import { cpuSeconds, median, run, until } from './lib.ts';

const BARE_WEBPUSH = fileURLToPath(new URL('./bare-webpush.ts', import.meta.url));
const BARE_LINE = fileURLToPath(new URL('./bare-line.ts', import.meta.url));

/** Node flags of the service and of the bare clients alike: those of `npm start` (package.json). */
const NODE_FLAGS = ['--max-semi-space-size=32'];

/** What the notice says: by default what test/helpers/api.ts notice() posts, so both sides send the same payload. */
export interface BareNotice {
  title?: string;
  body?: string;
  severity?: 'emergency' | 'warning' | 'advisory' | 'info';
  category?: string;
}

export interface BarePushOptions {
  /** The VAPID keys the subscriptions were made with (a fan-out's deps.env VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY). */
  vapid: { publicKey: string; privateKey: string };
  /** VAPID `sub`; default the fan-out's mailto:bousai@city.example.jp. */
  subject?: string;
  notice?: BareNotice;
  locale?: Locale;
  /** Default 86,400, WEBPUSH_TTL_SECONDS's default. */
  ttlSeconds?: number;
  /** Sends in flight; default 64. */
  concurrency?: number;
  /**
   * true (default): web-push signs a VAPID JWT for every push, as its README's loop does.
   * false: the loop signs one per push service before it starts, as Hibiki's channel does.
   */
  signEachPush?: boolean;
}

export interface BareLineOptions {
  notice?: BareNotice;
  locale?: Locale;
  /** Multicast requests in flight; default 8. */
  concurrency?: number;
}

/** What makeNoticeView needs from a notice posted through the API (its page is on the same PUBLIC_BASE_URL). */
function noticeFields(overrides: BareNotice = {}) {
  const n = apiNotice(overrides as Record<string, unknown>);
  return { title: n.title, body: n.body, severity: n.severity, category: n.category };
}

/** What a bare client took: wall seconds, and the CPU its process used (the steadier figure on a shared machine). */
export interface BareRun {
  seconds: number;
  cpuSeconds: number;
}

/**
 * Runs a bare script in a process of its own with a job file; returns the seconds it
 * printed on its last line and the CPU it said it used (stderr). caCert: a certificate
 * the script trusts (NODE_EXTRA_CA_CERTS).
 */
async function runBare(script: string, job: unknown, caCert?: string): Promise<BareRun> {
  const dir = mkdtempSync(join(tmpdir(), 'hibiki-bare-'));
  try {
    const jobFile = join(dir, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job));
    const env: Record<string, string | undefined> = { ...process.env };
    if (caCert) {
      env.NODE_EXTRA_CA_CERTS = join(dir, 'ca.pem');
      writeFileSync(env.NODE_EXTRA_CA_CERTS, caCert);
    }
    const { stdout, stderr } = await run(process.execPath, [...NODE_FLAGS, '--import', 'tsx', script, jobFile], {
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const seconds = Number(stdout.trim().split('\n').at(-1));
    if (!Number.isFinite(seconds)) throw new Error(`${script} printed no seconds: ${stdout.slice(-500)}`);
    return { seconds, cpuSeconds: Number(/used ([\d.]+) s of CPU/.exec(stderr)?.[1] ?? Number.NaN) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const acceptedPushes = (push: PushService) => push.requests.filter((r) => r.status === 201).length;

type PushSubscriptionJson = { endpoint: string; keys: { p256dh: string; auth: string } };

/**
 * The push baseline: a bare web-push loop (bench/bare-webpush.ts) as its own process,
 * sending the notice's payload to every subscription on `push`; the seconds it took.
 * The subscriptions must be on `push` and made with payloadOptions.vapid's public key.
 */
export async function bareWebPushSeconds(
  push: PushService,
  subscriptions: readonly PushSubscriptionJson[],
  payloadOptions: BarePushOptions,
): Promise<number> {
  return (await bareWebPush(push, subscriptions, payloadOptions)).seconds;
}

/** bareWebPushSeconds with the CPU the bare process used. */
export async function bareWebPush(
  push: PushService,
  subscriptions: readonly PushSubscriptionJson[],
  payloadOptions: BarePushOptions,
): Promise<BareRun> {
  const before = acceptedPushes(push);
  const done = await runBare(
    BARE_WEBPUSH,
    {
      subscriptions: subscriptions.map((s) => ({ endpoint: s.endpoint, keys: s.keys })),
      vapid: payloadOptions.vapid,
      subject: payloadOptions.subject ?? 'mailto:bousai@city.example.jp',
      notice: noticeFields(payloadOptions.notice),
      locale: payloadOptions.locale ?? 'ja',
      ttlSeconds: payloadOptions.ttlSeconds ?? 86_400,
      concurrency: payloadOptions.concurrency ?? 64,
      signEachPush: payloadOptions.signEachPush ?? true,
    },
    // The push service's self-signed certificate, trusted as Hibiki trusts it (fan-out-fixture.ts).
    push.cert,
  );
  const accepted = acceptedPushes(push) - before;
  if (accepted !== subscriptions.length) {
    throw new Error(`bare web-push: the push service accepted ${accepted} of ${subscriptions.length} messages`);
  }
  return done;
}

/**
 * The LINE baseline: a bare keep-alive HTTP client (bench/bare-line.ts) as its own
 * process, multicasting the notice's messages to `userIds` 500 at a time; the seconds it took.
 */
export async function bareLineSeconds(
  line: LineFake,
  userIds: string[],
  options: BareLineOptions = {},
): Promise<number> {
  return (await bareLine(line, userIds, options)).seconds;
}

/** bareLineSeconds with the CPU the bare process used. */
export async function bareLine(line: LineFake, userIds: string[], options: BareLineOptions = {}): Promise<BareRun> {
  const before = line.delivered;
  const done = await runBare(BARE_LINE, {
    baseUrl: line.baseUrl,
    token: line.token,
    userIds,
    notice: noticeFields(options.notice),
    locale: options.locale ?? 'ja',
    concurrency: options.concurrency ?? 8,
  });
  const delivered = line.delivered - before;
  if (delivered !== userIds.length) {
    throw new Error(`bare LINE client: the LINE fake delivered to ${delivered} of ${userIds.length} user ids`);
  }
  return done;
}

export interface HibikiRound {
  /** POST /v1/notices to the last recipient's answer, seconds. */
  seconds: number;
  recipientsPerSecond: number;
  /** POST to the provider's first answer to a recipient, ms (the fan-out before any send). */
  firstMs: number;
  /** CPU the `hibiki all` process used from the POST to the last answer. */
  cpuSeconds: number;
}

/**
 * `hibiki all` as test/faults/service-process.ts starts it, with npm start's node flags
 * and a deployment's log level (BENCH_PROFILE=<dir> adds a CPU profile of it).
 */
async function startBenchService(
  fanOut: FanOut,
): Promise<{ proc: HibikiProcess; post(channel: string): Promise<Response> }> {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const proc = startHibiki(
    'all',
    { ...fanOut.deps.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    { nodeArgs: [...NODE_FLAGS, ...profile], logLevel: 'info' },
  );
  const base = `http://127.0.0.1:${port}`;
  const { token } = await fanOut.deps.store.tokens.create('bench', 'approver');
  await until(
    'hibiki all to answer /readyz',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`hibiki exited:\n${proc.output()}`);
      return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
    },
    30_000,
    100,
  );
  return {
    proc,
    post: (channel) =>
      fetch(`${base}/v1/notices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(apiNotice({ channels: [channel] })),
      }),
  };
}

/**
 * One notice on one channel through a fresh `hibiki all`: seconds from
 * the POST to the provider's answer to the last recipient, read from the fake's own
 * request log (answeredAt), so polling does not blur the figure.
 */
async function hibikiRound(fanOut: FanOut, channel: 'webpush' | 'line', recipients: number): Promise<HibikiRound> {
  const service = await startBenchService(fanOut);
  const pid = service.proc.child.pid as number;
  try {
    const log = channel === 'webpush' ? fanOut.push.requests : fanOut.line.requests;
    let seen = log.length;
    let reached = 0;
    let first = 0;
    let last = 0;
    const tally = () => {
      // Only answered requests are counted: the log grows as requests arrive, status is set on answering.
      while (seen < log.length) {
        const r = log[seen] as { status: number; answeredAt?: number; recipients?: number; endpoint?: string };
        if (r.status === 0 || r.answeredAt === undefined) break;
        const ok = channel === 'webpush' ? r.status === 201 : r.endpoint !== 'multicast' || r.status === 200;
        if (!ok) throw new Error(`${channel}: the fake answered ${r.status} during the benchmark`);
        if (channel === 'webpush') reached++;
        else if (r.endpoint === 'multicast') reached += r.recipients ?? 0;
        first = first === 0 ? r.answeredAt : Math.min(first, r.answeredAt);
        last = Math.max(last, r.answeredAt);
        seen++;
      }
      return reached >= recipients;
    };
    const cpuBefore = cpuSeconds(pid);
    const posted = Date.now();
    await acceptedId(await service.post(channel));
    await until(`${recipients} ${channel} recipients`, tally, 600_000, 20);
    const seconds = (last - posted) / 1000;
    if (process.env.BENCH_TRACE)
      console.log(`  ${channel} recipients answered every 250 ms after the POST: ${trace(log, posted, last)}`);
    return {
      seconds,
      recipientsPerSecond: Math.round(recipients / seconds),
      firstMs: first - posted,
      cpuSeconds: cpuSeconds(pid) - cpuBefore,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${service.proc.output().slice(-3000)}`);
  } finally {
    service.proc.child.kill('SIGTERM');
    await service.proc.exited;
  }
}

/** Recipients answered in each 250 ms after the POST, to see where a round spends its time (BENCH_TRACE=1). */
function trace(log: { answeredAt?: number; recipients?: number; status: number }[], posted: number, last: number) {
  const slots = new Array<number>(Math.ceil((last - posted + 1) / 250)).fill(0);
  for (const r of log) {
    if (r.answeredAt === undefined || r.answeredAt < posted || r.answeredAt > last) continue;
    const i = Math.floor((r.answeredAt - posted) / 250);
    slots[i] = (slots[i] ?? 0) + (r.recipients ?? 1);
  }
  return slots.join(' ');
}

export interface ChannelThroughput {
  channel: 'webpush' | 'line';
  recipients: number;
  rounds: {
    baseline: BareRun;
    /** webpush: the bare loop that signs one VAPID JWT per push service instead of one per push. */
    signedOnce?: BareRun;
    hibiki: HibikiRound;
  }[];
  /** Medians over the rounds; cpuSeconds is what the process used (the bare client's, or `hibiki all`'s). */
  baseline: { seconds: number; perSecond: number; cpuSeconds: number };
  hibiki: { seconds: number; perSecond: number; cpuSeconds: number };
  /** Hibiki's throughput / the baseline's. */
  ratio: number;
  /** The baseline's CPU / Hibiki's: the same comparison, less blurred by other work on the machine. */
  cpuRatio: number;
  /** webpush: the same against the bare loop that signs once (a stronger baseline than web-push's README loop). */
  signedOnce?: { seconds: number; perSecond: number; cpuSeconds: number; ratio: number; cpuRatio: number };
}

function summarise(
  channel: 'webpush' | 'line',
  recipients: number,
  rounds: ChannelThroughput['rounds'],
): ChannelThroughput {
  const med = (xs: number[]) => round2(median(xs));
  const h = { seconds: med(rounds.map((r) => r.hibiki.seconds)), cpu: med(rounds.map((r) => r.hibiki.cpuSeconds)) };
  const of = (runs: BareRun[]) => {
    const seconds = med(runs.map((r) => r.seconds));
    const cpuSeconds = med(runs.map((r) => r.cpuSeconds));
    return {
      seconds,
      perSecond: Math.round(recipients / seconds),
      cpuSeconds,
      ratio: round2(seconds / h.seconds),
      cpuRatio: round2(cpuSeconds / h.cpu),
    };
  };
  const { ratio, cpuRatio, ...baseline } = of(rounds.map((r) => r.baseline));
  const once = rounds.flatMap((r) => (r.signedOnce ? [r.signedOnce] : []));
  return {
    channel,
    recipients,
    rounds,
    baseline,
    hibiki: { seconds: h.seconds, perSecond: Math.round(recipients / h.seconds), cpuSeconds: h.cpu },
    ratio,
    cpuRatio,
    ...(once.length > 0 ? { signedOnce: of(once) } : {}),
  };
}

const describeRun = (r: BareRun) => `${round2(r.seconds)} s (CPU ${round2(r.cpuSeconds)} s)`;

/**
 * Issue 7, scenario 1's push and LINE parts, each channel alone: a notice to `push`
 * subscriptions (or `line` LINE users) through `hibiki all`, against the bare client into
 * the same fake, alternating baseline and Hibiki in each round.
 */
export async function pushLineThroughput(options: { push?: number; line?: number; rounds?: number } = {}) {
  const push = options.push ?? 10_000;
  const line = options.line ?? 50_000;
  const rounds = options.rounds ?? 3;
  const fanOut = await startFanOut({ store: 'sqlite', size: { mail: 0, line, webpush: push } });
  const results: ChannelThroughput[] = [];
  try {
    const env = fanOut.deps.env;
    const vapid = { publicKey: env.VAPID_PUBLIC_KEY as string, privateKey: env.VAPID_PRIVATE_KEY as string };
    if (push > 0) {
      // Subscriptions of the baseline's own, on the same service with the same VAPID key.
      const subscriptions = Array.from({ length: push }, () =>
        fanOut.push.subscribe({ applicationServerKey: vapid.publicKey }),
      );
      const done: ChannelThroughput['rounds'] = [];
      for (let i = 0; i < rounds; i++) {
        const baseline = await bareWebPush(fanOut.push, subscriptions, { vapid });
        const signedOnce = await bareWebPush(fanOut.push, subscriptions, { vapid, signEachPush: false });
        const hibiki = await hibikiRound(fanOut, 'webpush', push);
        done.push({ baseline, signedOnce, hibiki });
        console.log(
          `  webpush round ${i + 1}: bare ${describeRun(baseline)}, bare signing once ${describeRun(signedOnce)}, hibiki ${describeRun(hibiki)} (ratios ${round2(baseline.seconds / hibiki.seconds)}, ${round2(signedOnce.seconds / hibiki.seconds)}; first push after ${hibiki.firstMs} ms)`,
        );
      }
      results.push(summarise('webpush', push, done));
    }
    if (line > 0) {
      const userIds = Array.from({ length: line }, (_, i) => lineUserId(i));
      const done: ChannelThroughput['rounds'] = [];
      for (let i = 0; i < rounds; i++) {
        const baseline = await bareLine(fanOut.line, userIds);
        const hibiki = await hibikiRound(fanOut, 'line', line);
        done.push({ baseline, hibiki });
        console.log(
          `  line round ${i + 1}: bare ${describeRun(baseline)}, hibiki ${describeRun(hibiki)} = ${hibiki.recipientsPerSecond} recipients/s (ratio ${round2(baseline.seconds / hibiki.seconds)}; first multicast answered after ${hibiki.firstMs} ms)`,
        );
      }
      results.push(summarise('line', line, done));
    }
  } finally {
    await fanOut.close();
  }
  return results;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

// `node --import tsx bench/push-line-throughput.ts`: BENCH_PUSH, BENCH_LINE (0 skips a channel), BENCH_ROUNDS.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // The service's debug log goes to a directory of this run's: a `vitest run` at the same time may clear the shared one.
  process.env.HIBIKI_TEST_LOG_DIR ??= mkdtempSync(join(tmpdir(), 'hibiki-bench-logs-'));
  const results = await pushLineThroughput({
    push: Number(process.env.BENCH_PUSH ?? 10_000),
    line: Number(process.env.BENCH_LINE ?? 50_000),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  });
  for (const r of results) {
    console.log(
      `${r.channel}: ${r.recipients} recipients, medians of ${r.rounds.length} rounds: bare ${r.baseline.seconds} s (${r.baseline.perSecond}/s, CPU ${r.baseline.cpuSeconds} s), hibiki POST → last ${r.hibiki.seconds} s (${r.hibiki.perSecond}/s, CPU ${r.hibiki.cpuSeconds} s), ratio ${r.ratio} (CPU ${r.cpuRatio})${r.signedOnce ? `; bare signing once ${r.signedOnce.seconds} s (${r.signedOnce.perSecond}/s, CPU ${r.signedOnce.cpuSeconds} s), ratio ${r.signedOnce.ratio} (CPU ${r.signedOnce.cpuRatio})` : ''}`,
    );
  }
  console.log(JSON.stringify(results.map(({ rounds, ...rest }) => rest)));
}
