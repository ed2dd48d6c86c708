import { readFileSync } from 'node:fs';
import https from 'node:https';
import webpush from 'web-push';
import { renderPush } from '../channels/webpush/push-payload.ts';
import type { Locale, NoticeView } from '../src/domain/notice.ts';
import { makeNoticeView } from '../test/helpers/notice-view.ts';

/**
 * The baseline of the push benchmark: a bare web-push loop, what a competent developer
 * writes without Hibiki: `concurrency` sends in flight over one keep-alive https.Agent,
 * setVapidDetails once (so web-push signs a JWT for every push, as its README shows), the
 * very payload and headers Hibiki's webpush channel renders for the notice.
 *
 * Usage: bare-webpush.ts <job.json> (written by bench/push-line-throughput.ts). The push
 * service's certificate is trusted through NODE_EXTRA_CA_CERTS, as Hibiki trusts it.
 * Prints the seconds from the first send to the last answer on its last line.
 */
interface Job {
  subscriptions: { endpoint: string; keys: { p256dh: string; auth: string } }[];
  vapid: { publicKey: string; privateKey: string };
  subject: string;
  notice: Partial<Pick<NoticeView, 'id' | 'title' | 'body' | 'severity' | 'category' | 'pageUrl'>>;
  locale: Locale;
  ttlSeconds: number;
  concurrency: number;
  /**
   * true: setVapidDetails, web-push signs a JWT for every push (its README's way, the default).
   * false: one Authorization per push service origin, signed before the loop (a developer who read RFC 8292).
   */
  signEachPush: boolean;
}

const job = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Job;
const payload = renderPush(makeNoticeView(job.notice), job.locale, job.ttlSeconds);
const agent = new https.Agent({ keepAlive: true, maxSockets: job.concurrency });
const options = { TTL: payload.ttlSeconds, urgency: payload.urgency, topic: payload.topic, agent };
const signed = new Map<string, { headers: { Authorization: string }; vapidDetails: null }>();
if (job.signEachPush) webpush.setVapidDetails(job.subject, job.vapid.publicKey, job.vapid.privateKey);
else
  for (const origin of new Set(job.subscriptions.map((s) => new URL(s.endpoint).origin))) {
    const { Authorization } = webpush.getVapidHeaders(
      origin,
      job.subject,
      job.vapid.publicKey,
      job.vapid.privateKey,
      'aes128gcm',
    ) as { Authorization: string };
    signed.set(origin, { headers: { Authorization }, vapidDetails: null });
  }

const cpuBefore = process.cpuUsage();
const started = performance.now();
let next = 0;
async function lane() {
  while (next < job.subscriptions.length) {
    const subscription = job.subscriptions[next++] as Job['subscriptions'][number];
    // Rejects on any answer but 2xx: a baseline that counted refusals as sent would be no baseline.
    const vapid = job.signEachPush ? {} : signed.get(new URL(subscription.endpoint).origin);
    await webpush.sendNotification(subscription, payload.json, { ...options, ...vapid } as webpush.RequestOptions);
  }
}
await Promise.all(Array.from({ length: job.concurrency }, lane));
const seconds = (performance.now() - started) / 1000;
// The loop's CPU only, as Hibiki's is counted from the POST: not loading modules or reading the job.
const cpu = process.cpuUsage(cpuBefore);
console.error(`bare web-push used ${(cpu.user + cpu.system) / 1e6} s of CPU`);
console.log(seconds);
agent.destroy();
