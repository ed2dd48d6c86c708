import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type Listener, startListeners } from '../../src/listen.ts';
import { type ConsoleClient, consoleClient } from '../helpers/console.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { LINE_SECRET } from './abuse-fixture.ts';
import { appRouteKeys, missingFrom, type RouteKey } from './app-routes.ts';

/**
 * Issue 12, finding 12: with ADMIN_PORT, staff and operations answer only on the admin
 * listener and the port that faces the internet serves residents alone, so /metrics (Node's
 * version, queue depths), the docs and the console are not reachable from outside.
 *
 * Every route of the app has a row saying where it answers; a route added without one
 * fails here. On the other listener each answers as an unknown path does.
 */

type Where = 'public' | 'admin' | 'both';

// biome-ignore format: a table reads best as one
const WHERE: Record<string, Where> = {
  'ALL /*': 'both',
  'GET /healthz': 'both', 'GET /readyz': 'both',
  'GET /metrics': 'admin', 'GET /openapi.json': 'admin', 'GET /docs': 'admin', 'GET /docs/assets/:file': 'admin',
  'POST /v1/public/subscriptions': 'public',
  'GET /push/vapid-public-key': 'public', 'POST /push/subscriptions': 'public',
  'POST /push/subscriptions/current': 'public', 'DELETE /push/subscriptions': 'public',
  'GET /push': 'public', 'GET /push/app.js': 'public', 'GET /sw.js': 'public', 'GET /manifest.webmanifest': 'public',
  'GET /push/icon.svg': 'public', 'GET /push/icon-180.png': 'public', 'GET /push/icon-192.png': 'public',
  'GET /push/icon-512.png': 'public', 'GET /push/badge-96.png': 'public',
  'GET /notices': 'public', 'GET /notices/:id': 'public', 'GET /notices.atom': 'public',
  'GET /feeds/cap.atom': 'public', 'GET /feeds/cap/:file': 'public',
  'POST /webhooks/line': 'public',
  'GET /subscribe': 'public', 'POST /subscribe': 'public', 'POST /manage/link': 'public',
  'GET /unsubscribe': 'public', 'POST /unsubscribe': 'public',
  'GET /subscribe/confirm': 'public', 'POST /subscribe/confirm': 'public', 'GET /manage': 'public', 'POST /manage': 'public',
};
/** Every staff API route and every console (and Bull Board) route is the admin listener's. */
const whereOf = (key: RouteKey): Where | undefined =>
  WHERE[key] ?? (/^\S+ \/(v1\/(?!public)|console(\/|$))/.test(key) ? 'admin' : undefined);

/** A path that reaches the route: parameters get harmless values (no such notice, queue or file). */
const concrete = (path: string): string =>
  (path === '/docs/assets/:file' ? '/docs/assets/docs.js' : path)
    .replace(/:id\{[^}]*\}/g, '1')
    .replace(/:[A-Za-z]+(\{[^}]*\})?/g, 'x1')
    .replace(/\*$/, 'probe');

const ADMIN_ORIGIN = 'https://admin.hibiki.example.jp';
const LINE_BODY = JSON.stringify({ destination: 'U0', events: [] });

describe('ADMIN_PORT: staff and operations on a listener of their own', () => {
  let deps: TestDeps;
  let listeners: Listener[];
  let pub: string;
  let admin: string;

  beforeAll(async () => {
    deps = await createTestDeps({
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_PORT: '0',
        ADMIN_HOST: '127.0.0.1',
        ADMIN_BASE_URL: ADMIN_ORIGIN,
        CHANNELS: 'mail,cap,webpush,line',
        LINE_CHANNEL_ACCESS_TOKEN: 'line-access-token-for-admin-port-test',
        LINE_CHANNEL_SECRET: LINE_SECRET,
      },
    });
    listeners = await startListeners(deps, deps.logger);
    pub = listeners.find((l) => l.surface === 'public')?.url ?? '';
    admin = listeners.find((l) => l.surface === 'admin')?.url ?? '';
  });
  afterAll(async () => {
    for (const l of listeners ?? []) {
      if ('closeAllConnections' in l.server) l.server.closeAllConnections();
      await new Promise<void>((done) => l.server.close(() => done()));
    }
    await deps?.dispose();
  });

  it('starts two listeners, and has a row for every route the app has', () => {
    expect(listeners.map((l) => l.surface)).toEqual(['public', 'admin']);
    expect(pub).not.toBe(admin);
    const keys = appRouteKeys(createApp(deps));
    expect(keys.filter((k) => !whereOf(k))).toEqual([]);
    expect(missingFrom(keys, Object.keys(WHERE) as RouteKey[])).toEqual([]);
  });

  it('answers each route on its own listener only; on the other, as for an unknown path', async () => {
    const wrong: string[] = [];
    const missing: string[] = [];
    for (const key of appRouteKeys(createApp(deps))) {
      const where = whereOf(key);
      const [method = 'GET', path = '/'] = key.split(' ');
      const url = concrete(path);
      const m = method === 'ALL' ? 'GET' : method;
      for (const [base, side] of [
        [pub, 'public'],
        [admin, 'admin'],
      ] as const) {
        const res = await fetch(`${base}${url}`, { method: m, redirect: 'manual' });
        const text = await res.text();
        const unknown = res.status === 404 && text.includes('No such route');
        const should = where === 'both' || where === side;
        if (key === 'ALL /*') continue; // /probe is unknown everywhere
        if (!should && !unknown) wrong.push(`${key} → ${m} ${url} answered ${res.status} on the ${side} port`);
        if (should && unknown) missing.push(`${key} → ${m} ${url} is unknown on the ${side} port`);
      }
    }
    expect(wrong).toEqual([]);
    expect(missing).toEqual([]);
  });

  it('serves the console, the staff API, metrics, docs and Bull Board on the admin port', async () => {
    const { token } = await deps.store.tokens.create('運用 管理者', 'admin');
    const bearer = { authorization: `Bearer ${token}` };
    expect((await fetch(`${admin}/v1/notices`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`${pub}/v1/notices`, { headers: bearer })).status).toBe(404);
    const metrics = await fetch(`${admin}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('nodejs_version_info');
    expect((await fetch(`${admin}/openapi.json`)).status).toBe(200);
    expect((await fetch(`${admin}/docs`)).status).toBe(200);
    expect((await fetch(`${admin}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);

    // A browser at ADMIN_BASE_URL (behind the office's proxy): the console's Origin check and cookie follow it.
    const browser: ConsoleClient = consoleClient(
      { request: (url, init) => fetch(String(url).replace(ADMIN_ORIGIN, admin), { ...init, redirect: 'manual' }) },
      ADMIN_ORIGIN,
    );
    await browser.get('/console/login');
    expect((await browser.post('/console/login', { token })).status).toBe(303);
    expect((await browser.get('/console/notices')).status).toBe(200);
    expect((await browser.get('/console/queues')).status).toBe(200);
    expect((await browser.get('/console/queues/api/queues')).status).toBe(200);
  });

  it('serves residents’ pages, feeds, the LINE webhook and public subscriptions on the public port', async () => {
    for (const path of ['/notices', '/notices.atom', '/feeds/cap.atom', '/subscribe', '/push', '/sw.js', '/healthz']) {
      expect((await fetch(`${pub}${path}`)).status, path).toBe(200);
    }
    const signup = await fetch(`${pub}/v1/public/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'hanako@example.jp' }),
    });
    expect(signup.status).toBe(202);
    const line = await fetch(`${pub}/webhooks/line`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-line-signature': createHmac('sha256', LINE_SECRET).update(LINE_BODY).digest('base64'),
      },
      body: LINE_BODY,
    });
    expect(line.status).toBe(200);
    // The same requests on the admin port are unknown paths.
    expect((await fetch(`${admin}/notices`)).status).toBe(404);
    expect((await fetch(`${admin}/webhooks/line`, { method: 'POST', body: LINE_BODY })).status).toBe(404);
  });
});

describe('ADMIN_PORT unset', () => {
  let deps: TestDeps;
  let listeners: Listener[];
  beforeAll(async () => {
    deps = await createTestDeps({ env: { PORT: '0', HOST: '127.0.0.1' } });
    listeners = await startListeners(deps, deps.logger);
  });
  afterAll(async () => {
    for (const l of listeners ?? []) await new Promise<void>((done) => l.server.close(() => done()));
    await deps?.dispose();
  });

  it('serves everything on the one port, as before', async () => {
    expect(listeners.map((l) => l.surface)).toEqual(['all']);
    const base = listeners[0]?.url;
    for (const path of ['/metrics', '/docs', '/openapi.json', '/console/login', '/notices', '/subscribe']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    }
  });

  it('refuses an ADMIN_PORT equal to PORT, naming both settings', async () => {
    const { loadConfig } = await import('../../src/config.ts');
    expect(() => loadConfig({ PORT: '8080', ADMIN_PORT: '8080' })).toThrow(/ADMIN_PORT: the same as PORT \(8080\)/);
  });
});
