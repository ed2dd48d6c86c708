import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAMS_PER_SESSION } from '../../src/web/console/stream-slots.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { type ConsoleClient, consoleClient } from '../helpers/console.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';
import { type HibikiProcess, startHibiki } from '../helpers/process.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { overHttp } from '../helpers/send-from.ts';
import { waitUntil } from '../helpers/wait.ts';

/** Connections one client can hold open: progress streams per session, and slow requests. */

describe('progress streams per console session', () => {
  let hibiki: HttpApp;
  let noticeId: string;
  const opened: ReadableStreamDefaultReader<Uint8Array>[] = [];

  async function signIn(name: string): Promise<ConsoleClient> {
    const client = consoleClient(overHttp, hibiki.base);
    const { token } = await hibiki.deps.store.tokens.create(name, 'author');
    await client.get('/console/login');
    expect((await client.post('/console/login', { token })).status).toBe(303);
    return client;
  }

  /** Opens the notice's stream; a 200 is kept open (its first event read), anything else is answered. */
  async function open(client: ConsoleClient): Promise<number> {
    const res = await fetch(`${hibiki.base}/console/notices/${noticeId}/events`, {
      headers: { cookie: client.jar.header() },
    });
    if (res.status !== 200 || !res.body) {
      await res.text();
      return res.status;
    }
    const reader = res.body.getReader();
    await reader.read();
    opened.push(reader);
    return 200;
  }

  beforeAll(async () => {
    // No workers: the notice stays queued, so its stream stays live.
    hibiki = await startHttpApp({ workers: false });
    noticeId = await postNotice(await staffClient(hibiki.deps, 'approver'), { title: 'ストリーム上限' });
  });
  afterAll(async () => {
    await Promise.all(opened.map((r) => r.cancel().catch(() => undefined)));
    await hibiki?.close();
  });

  it(`refuses a session’s ${STREAMS_PER_SESSION + 1}th open stream with 429, and a closed one frees its slot`, async () => {
    expect(STREAMS_PER_SESSION).toBe(4);
    const author = await signIn('広報課 作成者');
    const statuses: number[] = [];
    for (let i = 0; i < STREAMS_PER_SESSION + 1; i++) statuses.push(await open(author));
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const refused = await fetch(`${hibiki.base}/console/notices/${noticeId}/events`, {
      headers: { cookie: author.jar.header() },
    });
    expect(refused.status).toBe(429);
    const page = await refused.text();
    expect(page).toContain('ほかのタブを閉じて');
    expect(page).toContain('Close other tabs');

    // Another session has slots of its own.
    const colleague = await signIn('防災課 同僚');
    expect(await open(colleague)).toBe(200);

    // The browser closing a stream gives its slot back once the server sees it go.
    await opened.shift()?.cancel();
    await waitUntil('the closed stream’s slot', async () => (await open(author)) === 200, 10_000, 100);
    expect(await open(author)).toBe(429);
  });
});

describe('slow clients', () => {
  let dir: string;
  let prefix: string;
  let server: HibikiProcess;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hibiki-slow-'));
    prefix = uniquePrefix('hibiki-slow');
    port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    server = startHibiki('serve', {
      DATABASE_URL: `sqlite:${join(dir, 'hibiki.db')}`,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      OUTBOX_DIR: join(dir, 'outbox'),
      PORT: String(port),
      HOST: '127.0.0.1',
      // Short, so the test need not wait the 10 s and 30 s a deployment gets.
      HTTP_HEADERS_TIMEOUT_MS: '800',
      HTTP_REQUEST_TIMEOUT_MS: '1500',
      LOG_LEVEL: 'warn',
    });
    await waitUntil(
      'the API',
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
      20_000,
      100,
    );
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await cleanupPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Sends `head` and then one byte of `drip` every 100 ms, as a slow-loris client does; resolves
   * with what the server answered once it closes the connection, or 'still open' after 10 s.
   */
  function trickle(head: string, drip: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < drip.length) socket.write(drip[sent++] as string);
      }, 100);
      const giveUp = setTimeout(() => {
        socket.destroy();
        resolve('still open');
      }, 10_000);
      socket.on('data', (d) => {
        answer += String(d);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve(answer);
      });
      socket.write(head);
    });
  }

  it('cuts off a request body sent a byte at a time (408), whatever it is still sending', async () => {
    const head =
      'POST /v1/public/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n';
    const answer = await trickle(head, `{"email":"${'a'.repeat(3_900)}`);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts off headers sent a line at a time', async () => {
    const answer = await trickle('GET /notices HTTP/1.1\r\nHost: 127.0.0.1\r\n', `X-Slow: ${'z'.repeat(500)}`);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});
