import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { renderLineMessages } from '../channels/line/line-message.ts';
import type { Locale, NoticeView } from '../src/domain/notice.ts';
import { makeNoticeView } from '../test/helpers/notice-view.ts';

/**
 * The baseline of the LINE benchmark: a bare HTTP client, what a competent developer
 * writes without Hibiki: multicasts of 500 user ids (LINE's limit) with the very messages
 * Hibiki renders for the notice, `concurrency` requests in flight over a keep-alive agent,
 * each with an X-Line-Retry-Key as LINE recommends (so the fake does the same work for both).
 *
 * Usage: bare-line.ts <job.json> (written by bench/push-line-throughput.ts). Prints the
 * seconds from the first request to the last answer on its last line.
 */
interface Job {
  baseUrl: string;
  token: string;
  userIds: string[];
  notice: Partial<Pick<NoticeView, 'id' | 'title' | 'body' | 'severity' | 'category' | 'pageUrl'>>;
  locale: Locale;
  concurrency: number;
}

const job = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Job;
const { messages } = renderLineMessages(makeNoticeView(job.notice), job.locale);
const url = new URL('/v2/bot/message/multicast', job.baseUrl);
const client = url.protocol === 'https:' ? https : http;
const agent = new client.Agent({ keepAlive: true, maxSockets: job.concurrency });

function multicast(to: string[]): Promise<void> {
  const body = JSON.stringify({ to, messages });
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${job.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-line-retry-key': randomUUID(),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`LINE fake answered ${res.statusCode}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const chunks: string[][] = [];
for (let i = 0; i < job.userIds.length; i += 500) chunks.push(job.userIds.slice(i, i + 500));
const cpuBefore = process.cpuUsage();
const started = performance.now();
let next = 0;
async function lane() {
  while (next < chunks.length) await multicast(chunks[next++] as string[]);
}
await Promise.all(Array.from({ length: job.concurrency }, lane));
const seconds = (performance.now() - started) / 1000;
// The loop's CPU only, as Hibiki's is counted from the POST: not loading modules or reading the job.
const cpu = process.cpuUsage(cpuBefore);
console.error(`bare LINE client used ${(cpu.user + cpu.system) / 1e6} s of CPU`);
console.log(seconds);
agent.destroy();
