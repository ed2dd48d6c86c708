import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';
import { type Sent, sendFrom } from '../helpers/send-from.ts';

/**
 * X-Forwarded-For is only believed from TRUSTED_PROXIES. Over real sockets: the proxy is
 * 127.0.0.1 (trusted), the attacker connects straight to the port from another loopback
 * address (127.0.0.2 and on, as a neighbour on the city's network would from its own
 * address) and writes whatever X-Forwarded-For it likes.
 */

const PROXY = '127.0.0.1';
const LINE_SECRET = 'forwarded-for-line-secret';
const LINE_SERVER = '203.0.113.100';
const COLLEAGUE = '198.51.100.20';

const LOCKED = 'サインインの失敗が続いた';

describe('X-Forwarded-For from a client that is not a trusted proxy', () => {
  let hibiki: HttpApp;
  const send = (from: string, path: string, init: Parameters<typeof sendFrom>[2] = {}) =>
    sendFrom(from, `${hibiki.base}${path}`, init);

  beforeAll(async () => {
    hibiki = await startHttpApp({
      workers: false,
      env: {
        TRUSTED_PROXIES: PROXY,
        LINE_CHANNEL_SECRET: LINE_SECRET,
        LINE_WEBHOOK_LIMIT_PER_CLIENT: '5',
        SIGNUP_LIMIT_PER_CLIENT: '5',
        SIGNUP_LIMIT_PER_ADDRESS: '50',
      },
    });
  });
  afterAll(async () => {
    await hibiki?.close();
  });

  /** The login form's CSRF cookie and field, then one sign-in with the token. */
  async function signIn(from: string, forwardedFor: string, token: string): Promise<Sent> {
    const form = await send(from, '/console/login', { headers: { 'x-forwarded-for': forwardedFor } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const cookie = form.setCookie.map((line) => line.split(';')[0]).join('; ');
    return send(from, '/console/login', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie,
        'x-forwarded-for': forwardedFor,
      },
      body: new URLSearchParams({ _csrf: csrf, token }).toString(),
    });
  }

  it('a new X-Forwarded-For on every sign-in attempt does not escape the lockout', async () => {
    const attacker = '127.0.0.2';
    const answers: Sent[] = [];
    for (let i = 0; i < 12; i++) answers.push(await signIn(attacker, `192.0.2.${i + 1}`, `hbk_wrong${i}`));
    const locked = answers.filter((a) => a.text.includes(LOCKED));
    // 10 tries in 15 minutes, then refused with Retry-After whatever the header says.
    expect(locked).toHaveLength(2);
    for (const a of locked) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a forged X-Forwarded-For cannot lock a colleague out', async () => {
    const attacker = '127.0.0.3';
    for (let i = 0; i < 12; i++) await signIn(attacker, COLLEAGUE, `hbk_wrong${i}`);
    const { token } = await hibiki.deps.store.tokens.create('防災課 同僚', 'author');
    // The colleague, through the proxy, which appends the address it saw.
    const colleague = await signIn(PROXY, COLLEAGUE, token);
    expect(colleague.status).toBe(303);
    expect(colleague.text).not.toContain(LOCKED);
  });

  it('a new X-Forwarded-For on every sign-up (an address or not) does not escape the per-client limit', async () => {
    const attacker = '127.0.0.4';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const forged = i % 2 === 0 ? `192.0.2.${i + 1}` : `anything-${i}`;
      const res = await send(attacker, '/v1/public/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forged },
        body: JSON.stringify({ email: `rotate${i}@example.jp` }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
    // A resident behind the proxy is another client, with a count of their own.
    const resident = await send(PROXY, '/v1/public/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.30' },
      body: JSON.stringify({ email: 'resident@example.jp' }),
    });
    expect(resident.status).toBe(202);
  });

  it('forging LINE’s address does not use up the LINE webhook’s limit: a genuine post gets through', async () => {
    const attacker = '127.0.0.5';
    const body = JSON.stringify({ destination: 'Uffffffffffffffffffffffffffffffff', events: [] });
    const post = (from: string, signature: string) =>
      send(from, '/webhooks/line', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': LINE_SERVER, 'x-line-signature': signature },
        body,
      });
    const flood: number[] = [];
    for (let i = 0; i < 8; i++) flood.push((await post(attacker, 'forged')).status);
    expect(flood).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const genuine = await post(PROXY, createHmac('sha256', LINE_SECRET).update(body).digest('base64'));
    expect(genuine.status).toBe(200);
  });
});
