import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLineChannel } from '../../channels/line/line-channel.ts';
import { createLineHttp } from '../../channels/line/line-http.ts';
import type { Recipient, SendContext } from '../../channels/types.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';
import { lineUserId } from './harness/line.ts';

/**
 * The LINE channel's own HTTP client: kept-alive connections (one TCP connection for a
 * run of multicasts, not one per request), and the same answers and failures the channel
 * had from fetch. A bare server here counts connections, which the LINE fake does not.
 */

const silent = pino({ level: 'silent' });
const notice = makeNoticeView();

let server: Server;
let baseUrl = '';
let connections = 0;
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  connections = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-line-request-id': 'req-1' });
    res.end('{}');
  };
});

function recipients(n: number, from = 0): Recipient[] {
  return Array.from({ length: n }, (_, i) => ({
    deliveryId: from + i + 1,
    contactId: from + i + 1,
    address: lineUserId(from + i + 1),
    locale: 'ja' as const,
  }));
}

const context = (batch: number): SendContext => ({
  deliveryKey: `${notice.id}-r1-line-${batch}`,
  attempt: 1,
  signal: new AbortController().signal,
  notice,
});

describe('LINE channel HTTP client', () => {
  it('sends a run of multicasts over one kept-alive connection', async () => {
    const bodies: { to: string[] }[] = [];
    handler = (req, res, body) => {
      expect(req.headers.authorization).toBe('Bearer t');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['x-line-retry-key']).toMatch(/^[0-9a-f-]{36}$/);
      bodies.push(JSON.parse(body) as { to: string[] });
      res.writeHead(200, { 'content-type': 'application/json', 'x-line-request-id': `req-${bodies.length}` });
      res.end('{}');
    };
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl, emergencyBroadcast: false },
      { logger: silent },
    );
    const rendered = channel.render(notice, 'ja');
    for (let batch = 0; batch < 5; batch++) {
      const results = await channel.send(rendered, recipients(500, batch * 500), context(batch));
      expect(results.every((r) => r.status === 'sent' && r.providerId === `req-${batch + 1}`)).toBe(true);
    }
    await channel.close?.();
    expect(bodies.map((b) => b.to.length)).toEqual([500, 500, 500, 500, 500]);
    expect(connections).toBe(1);
  });

  it('gives the channel LINE’s status, headers and JSON error body as fetch did', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ message: 'Too Many Requests' }));
    };
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl, emergencyBroadcast: false },
      { logger: silent },
    );
    const err = await channel.send(channel.render(notice, 'ja'), recipients(2), context(0)).catch((e) => e);
    await channel.close?.();
    expect(err).toMatchObject({ kind: 'rate-limited', retryAfterMs: 7_000 });
    expect(err.message).toContain('Too Many Requests');
  });

  it('gives up on an answer that stops half-way when the time is up, as a timeout', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"sentMessages":');
      // …and never ends.
    };
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl, emergencyBroadcast: false, timeoutMs: 200 },
      { logger: silent },
    );
    const err = await channel.send(channel.render(notice, 'ja'), recipients(1), context(0)).catch((e) => e);
    await channel.close?.();
    expect(err).toMatchObject({ kind: 'provider-down' });
    expect(err.message).toMatch(/did not answer .* within 200 ms/);
  });

  it('treats a connection dropped half-way through the answer as LINE not reached (provider-down)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"sentMessages":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl, emergencyBroadcast: false },
      { logger: silent },
    );
    const err = await channel.send(channel.render(notice, 'ja'), recipients(1), context(0)).catch((e) => e);
    await channel.close?.();
    expect(err).toMatchObject({ kind: 'provider-down' });
    expect(err.message).toMatch(
      /cannot reach LINE at 127\.0\.0\.1:\d+ for the multicast to 1 recipient \(ECONNRESET\)/,
    );
  });

  it('names the socket error of a LINE it cannot reach', async () => {
    const http = createLineHttp();
    const failure = await http('http://127.0.0.1:9/v2/bot/message/quota', {
      method: 'GET',
      headers: {},
      signal: AbortSignal.timeout(2_000),
    }).catch((e) => e);
    http.close();
    expect(failure).toMatchObject({ code: 'ECONNREFUSED' });
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl: 'http://127.0.0.1:9', emergencyBroadcast: false, timeoutMs: 2_000 },
      { logger: silent },
    );
    const err = await channel.send(channel.render(notice, 'ja'), recipients(1), context(0)).catch((e) => e);
    await channel.close?.();
    expect(err.message).toContain('(ECONNREFUSED)');
  });

  it('still goes through an injected fetch (a proxy-aware one)', async () => {
    const urls: string[] = [];
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl, emergencyBroadcast: false },
      {
        logger: silent,
        fetch: async (input, init) => {
          urls.push(String(input));
          return fetch(input, init);
        },
      },
    );
    const results = await channel.send(channel.render(notice, 'ja'), recipients(3), context(0));
    await channel.close?.();
    expect(results.every((r) => r.status === 'sent' && r.providerId === 'req-1')).toBe(true);
    expect(urls).toEqual([`${baseUrl}/v2/bot/message/multicast`]);
  });
});
