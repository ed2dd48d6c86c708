import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { createOutboundHttp, type Resolve } from '../../channels/shared/outbound-http.ts';
import type { Recipient, RecipientResult, SendContext } from '../../channels/types.ts';
import { createWebhookChannel, type WebhookOptions } from '../../channels/webhook/webhook-channel.ts';
import { createWebPushChannel } from '../../channels/webpush/webpush-channel.ts';
import { loadConfig } from '../../src/config.ts';
import { configErrorOf } from '../helpers/config-error.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';
import { createAbuseFixture, pushSubscription, suiteFixture } from './abuse-fixture.ts';

/**
 * Issue 12, findings 1 and 4: nothing an author or a resident can put in an endpoint URL
 * makes Hibiki connect into its own network, and what a delivery row says about a failed
 * connection tells an author nothing about the ports behind it.
 */

const logger = pino({ level: 'silent' });
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const FIXTURES = fileURLToPath(new URL('../fixtures/push/', import.meta.url));

/** The forms of "this machine" the attack used, as a URL host. */
const LOOPBACK_FORMS = [
  '127.0.0.1',
  '[::1]',
  '0.0.0.0',
  '2130706433',
  '0177.0.0.1',
  '0x7f.0.0.1',
  '127.1',
  '[::ffff:127.0.0.1]',
  'localhost',
];
/** Other internal addresses: private, link-local, CGNAT, multicast, unspecified, metadata, IPv4-mapped. */
const OTHER_INTERNAL = [
  '10.0.0.1',
  '172.16.5.4',
  '192.168.1.1',
  '169.254.169.254',
  '[fd00:ec2::254]',
  '[fe80::1]',
  '[fc00::1]',
  '100.64.0.1',
  '224.0.0.1',
  '[ff02::1]',
  '[::]',
  '[::ffff:10.0.0.1]',
  '[::ffff:169.254.169.254]',
];

/** The Web Push endpoints: WHATWG URL reads a Google or Apple host, url.parse reads 127.0.0.1 or 10.0.0.1. */
const PUSH_PAYLOADS = [
  'https://127.0.0.1{.fcm.googleapis.com/x',
  'https://localhost;.fcm.googleapis.com/x',
  'https://10.0.0.1`.push.apple.com/x',
];

/** A TCP listener that counts the connections it is offered and closes each at once. */
interface Listener {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function listen(port = 0, host = '::'): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    result.connections++;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: false }, () => resolve());
  });
  const result: Listener = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return result;
}

function context(): SendContext {
  return {
    deliveryKey: 'ssrf-test-r1-webhook-0',
    attempt: 1,
    signal: new AbortController().signal,
    notice: makeNoticeView(),
  };
}

const recipient = (deliveryId: number, address: string): Recipient => ({
  deliveryId,
  contactId: deliveryId,
  address,
  locale: 'ja',
});

function webhook(options: Partial<WebhookOptions> = {}, resolve?: Resolve) {
  const allow = options.allow ?? [];
  return createWebhookChannel(
    { timeoutMs: 2_000, allowHttpLoopback: false, ...options },
    {
      logger,
      secretOf: async () => SECRET,
      ...(resolve ? { outbound: createOutboundHttp({ allow, resolve }) } : {}),
    },
  );
}

async function sendWebhooks(addresses: string[], options: Partial<WebhookOptions> = {}, resolve?: Resolve) {
  const channel = webhook(options, resolve);
  try {
    const payload = channel.render(makeNoticeView(), 'ja');
    return await channel.send(
      payload,
      addresses.map((a, i) => recipient(i + 1, a)),
      context(),
    );
  } finally {
    await channel.close?.();
  }
}

const reasonOf = (r: RecipientResult | undefined): string => (r && r.status !== 'sent' ? r.reason : '');

describe('SSRF through outbound webhooks (issue 12, finding 4)', () => {
  const fixture = suiteFixture(() => createAbuseFixture());

  it('POST /v1/webhooks refuses every loopback form and every other internal address with a field error', async () => {
    const f = fixture();
    const accepted: string[] = [];
    for (const host of [...LOOPBACK_FORMS, ...OTHER_INTERNAL]) {
      const res = await f.app.request('/v1/webhooks', {
        method: 'POST',
        headers: { authorization: `Bearer ${f.staff.admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `ssrf ${host}`, url: `https://${host}/hook`, topics: ['disaster'] }),
      });
      const body = (await res.json()) as {
        error?: { fields?: Record<string, string[]>; fields_en?: Record<string, string[]> };
      };
      if (res.status !== 400 || !body.error?.fields_en?.url?.[0]?.includes('internal'))
        accepted.push(`${host} → ${res.status}`);
    }
    expect(accepted).toEqual([]);
    // A public name is still fine: its addresses are checked when the request is made.
    const ok = await f.app.request('/v1/webhooks', {
      method: 'POST',
      headers: { authorization: `Bearer ${f.staff.admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cms', url: 'https://cms.city.example.jp/hook', topics: ['disaster'] }),
    });
    expect(ok.status).toBe(201);
  });

  describe('at connect time', () => {
    let listener: Listener;
    beforeAll(async () => {
      listener = await listen();
    });
    afterAll(async () => {
      await listener.close();
    });

    it('connects to none of the loopback forms, even stored before the check, and fails each for good in words', async () => {
      const before = listener.connections;
      const results = await sendWebhooks(LOOPBACK_FORMS.map((host) => `https://${host}:${listener.port}/hook`));
      expect(listener.connections - before).toBe(0);
      for (const r of results) {
        expect(r).toMatchObject({ status: 'failed' });
        expect(reasonOf(r)).toMatch(
          /^宛先は内部アドレス（ループバック|未指定）のため送信しません \/ address not allowed/,
        );
      }
    });

    it('refuses a name that resolves to loopback when the connection is made (DNS rebinding)', async () => {
      const before = listener.connections;
      const rebinding: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
      const mixed: Resolve = async () => [
        { address: '93.184.215.14', family: 4 },
        { address: '::1', family: 6 },
      ];
      const url = `https://hooks.city.example.jp:${listener.port}/hook`;
      const [one] = await sendWebhooks([url], {}, rebinding);
      const [two] = await sendWebhooks([url], {}, mixed);
      expect(listener.connections - before).toBe(0);
      expect(one).toMatchObject({ status: 'failed', reason: expect.stringContaining('address not allowed') });
      expect(two).toMatchObject({ status: 'failed', reason: expect.stringContaining('address not allowed') });

      // The same name and listener with OUTBOUND_ALLOW naming the address: the connection is made.
      await sendWebhooks([url], { allow: ['127.0.0.1/32'] }, rebinding);
      expect(listener.connections - before).toBe(1);
    });
  });

  describe('what a delivery row tells an author', () => {
    const servers: (HttpServer | Server)[] = [];
    /** The silent port's connections, held open until the end. */
    const held = new Set<Socket>();
    let plain: number;
    let tls: number;
    let silent: number;
    let closed: number;
    let planted: number;

    beforeAll(async () => {
      const start = async (server: HttpServer | Server) => {
        servers.push(server);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        return (server.address() as AddressInfo).port;
      };
      plain = await start(createHttpServer((_req, res) => res.end('hello from a plain port')));
      tls = await start(
        createHttpsServer(
          { key: readFileSync(`${FIXTURES}key.pem`), cert: readFileSync(`${FIXTURES}cert.pem`) },
          (_req, res) => res.end('hello from a TLS port'),
        ),
      );
      silent = await start(createServer((socket) => held.add(socket)));
      const gone = createServer();
      closed = await start(gone);
      await new Promise<void>((resolve) => gone.close(() => resolve()));
      servers.splice(servers.indexOf(gone), 1);
      planted = await start(
        createHttpServer((req, res) => {
          const status = Number(req.url?.slice(1)) || 500;
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end('db_password=s3cr3t-planted-in-the-answer\nDATABASE_URL=postgres://hibiki:s3cr3t@db/hibiki');
        }),
      );
    });
    afterAll(async () => {
      for (const socket of held) socket.destroy();
      for (const s of servers) {
        (s as HttpServer).closeAllConnections?.();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    });

    it('reads the same for a closed port, an open plain port, an open TLS port and a silent one', async () => {
      const ports = [closed, plain, tls, silent];
      const results = await sendWebhooks(
        ports.map((port) => `https://127.0.0.1:${port}/hook`),
        { allow: ['127.0.0.1/32'], timeoutMs: 300 },
      );
      const reasons = results.map((r, i) => reasonOf(r).replace(`:${ports[i]}`, ':PORT'));
      expect(results.map((r) => r.status)).toEqual(['retry', 'retry', 'retry', 'retry']);
      expect(new Set(reasons).size).toBe(1);
      expect(reasons[0]).toContain('接続できませんでした / could not connect to 127.0.0.1:PORT');
      for (const code of ['ECONNREFUSED', 'EPROTO', 'SELF_SIGNED', 'CERT', 'wrong version', 'timeout', 'hang up']) {
        expect(reasons[0]).not.toContain(code);
      }
    });

    it('names the HTTP status, never what the receiver answered', async () => {
      const statuses = [500, 404, 400, 401, 503, 429];
      const results = await sendWebhooks(
        statuses.map((s) => `http://127.0.0.1:${planted}/${s}`),
        { allowHttpLoopback: true },
      );
      results.forEach((r, i) => {
        expect(reasonOf(r)).toMatch(new RegExp(`^HTTP ${statuses[i]} from 127\\.0\\.0\\.1:${planted}`));
        expect(reasonOf(r)).not.toMatch(/db_password|s3cr3t|DATABASE_URL|postgres/);
      });
    });
  });
});

describe('SSRF through Web Push endpoints (issue 12, finding 1)', () => {
  const fixture = suiteFixture(() => createAbuseFixture());

  it('POST /push/subscriptions answers 400 with an endpoint field error for each of the issue’s endpoints', async () => {
    const f = fixture();
    for (const endpoint of PUSH_PAYLOADS) {
      const res = await f.app.request('/push/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(pushSubscription(endpoint)),
      });
      expect(res.status, endpoint).toBe(400);
      const body = (await res.json()) as { error: { fields_en?: Record<string, string[]> } };
      expect(body.error.fields_en?.endpoint?.[0], endpoint).toContain('the host may contain only');
    }
  });

  it('stores the endpoint WHATWG URL read, not the text as sent', async () => {
    const f = fixture();
    const res = await f.app.request('/push/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(pushSubscription('https://FCM.googleapis.com:443/fcm/send/normalise-me')),
    });
    expect(res.status).toBe(201);
    expect(
      await f.deps.store.pushSubscriptions.choices('https://fcm.googleapis.com/fcm/send/normalise-me'),
    ).toMatchObject({ active: true });
  });

  describe('a stored subscription', () => {
    const keys = pushSubscription('https://fcm.googleapis.com/x').keys;
    const vapid = webpush.generateVAPIDKeys();

    function pushChannel(allow: string[] = [], resolve?: Resolve) {
      return createWebPushChannel(
        { vapid, subject: 'mailto:bousai@city.example.jp', ttlSeconds: 60, allow },
        {
          logger,
          keysOf: async () => keys,
          ...(resolve ? { outbound: createOutboundHttp({ allow, resolve }) } : {}),
        },
      );
    }

    async function push(addresses: string[], allow: string[] = [], resolve?: Resolve) {
      const channel = pushChannel(allow, resolve);
      try {
        const payload = channel.render(makeNoticeView(), 'ja');
        return await channel.send(
          payload,
          addresses.map((a, i) => recipient(i + 1, a)),
          context(),
        );
      } finally {
        await channel.close?.();
      }
    }

    it('with one of the issue’s endpoints (stored before the fix) makes no connection to 127.0.0.1:443', async (ctx) => {
      // web-push's url.parse read these as 127.0.0.1 (or 10.0.0.1) on port 443.
      let listener: Listener;
      try {
        listener = await listen(443, '127.0.0.1');
      } catch (err) {
        ctx.skip(`cannot listen on 127.0.0.1:443 here (${(err as NodeJS.ErrnoException).code})`);
        return;
      }
      try {
        const results = await push(PUSH_PAYLOADS);
        expect(listener.connections).toBe(0);
        // Failed once, not retried 8 times.
        expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
        expect(results.every((r) => r.status === 'failed' && r.deactivate === true)).toBe(true);
      } finally {
        await listener.close();
      }
    });

    it('on an allowed push service’s name that resolves to 127.0.0.1 at send time makes no connection', async () => {
      const listener = await listen();
      try {
        const rebinding: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
        const url = `https://fcm.googleapis.com:${listener.port}/fcm/send/rebound`;
        const [result] = await push([url], [], rebinding);
        expect(listener.connections).toBe(0);
        expect(result).toMatchObject({ status: 'failed', reason: expect.stringContaining('address not allowed') });
        // With OUTBOUND_ALLOW naming it (a self-hosted push service), the same send connects.
        await push([url], ['127.0.0.1/32'], rebinding);
        expect(listener.connections).toBe(1);
      } finally {
        await listener.close();
      }
    });
  });
});

describe('OUTBOUND_ALLOW', () => {
  it('is empty by default and takes addresses and CIDRs; anything else stops start-up naming the entry', () => {
    const base = { PUBLIC_BASE_URL: 'https://hibiki.example.jp' };
    expect(loadConfig(base).outbound.allow).toEqual([]);
    expect(loadConfig({ ...base, OUTBOUND_ALLOW: '10.20.0.0/16, fd12:3456::/48,192.0.2.7' }).outbound.allow).toEqual([
      '10.20.0.0/16',
      'fd12:3456::/48',
      '192.0.2.7',
    ]);
    for (const bad of ['intranet.city.local', '10.0.0.0/33', '2130706433', '10.0.0.0/8/1', '0x7f.0.0.1/32']) {
      expect(configErrorOf({ ...base, OUTBOUND_ALLOW: bad }), bad).toMatch(
        /OUTBOUND_ALLOW.*comma-separated IPs or CIDRs/,
      );
    }
  });
});
