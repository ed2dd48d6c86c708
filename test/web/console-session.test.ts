import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createServices } from '../../src/app.ts';
import { createConsoleRoutes, safeNext } from '../../src/web/console/console-routes.tsx';
import type { ConsoleEnv } from '../../src/web/console/session.ts';
import { appSuite } from '../helpers/app-suite.ts';
import { consoleClient, expectCsrfRefused, signedInConsole } from '../helpers/console.ts';

describe('console sign-in and sessions', () => {
  const hibiki = appSuite();

  it('sends a signed-out visitor to sign in, and back to the page asked for afterwards', async () => {
    const client = consoleClient(hibiki.app);
    const res = await client.get('/console/notices?status=queued');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login?next=%2Fconsole%2Fnotices');

    const { token } = await hibiki.deps.store.tokens.create('広報課', 'author');
    await client.get('/console/login?next=%2Fconsole%2Fnotices');
    const signin = await client.post('/console/login?next=%2Fconsole%2Fnotices', { token });
    expect(signin.status).toBe(303);
    expect(signin.headers.get('location')).toBe('/console/notices');
    const cookie = signin.headers.getSetCookie().find((c) => c.startsWith('__Host-hibiki_console='));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);
    // Only the hash of the cookie's secret is stored.
    const secret = client.jar.cookies.get('__Host-hibiki_console') ?? '';
    const rows = await hibiki.deps.store.db.kysely.selectFrom('staff_sessions').select('id_hash').execute();
    expect(rows.some((r) => r.id_hash === secret)).toBe(false);
  });

  it('refuses a wrong token with a page that says what to do, and records no session', async () => {
    const client = consoleClient(hibiki.app);
    await client.get('/console/login');
    const res = await client.post('/console/login', { token: 'hbk_wrong' });
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('トークンが正しくないか、失効しています');
    expect(html).toContain('lang="en"');
    expect(client.jar.cookies.has('__Host-hibiki_console')).toBe(false);
  });

  it('refuses a sign-in form that did not come from the sign-in page (login CSRF)', async () => {
    const { token } = await hibiki.deps.store.tokens.create('someone', 'admin');
    const client = consoleClient(hibiki.app);
    const res = await client.post('/console/login', { _csrf: 'forged', token });
    expect(res.status).toBe(403);
    expect(client.jar.cookies.has('__Host-hibiki_console')).toBe(false);
  });

  it('refuses every state-changing request without the session CSRF token or from another origin', async () => {
    const client = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'author');
    await expectCsrfRefused(client, '/console/logout');
    // Still signed in after every refusal.
    expect((await client.get('/console/notices')).status).not.toBe(303);
  });

  it('signs out: the session is gone on the server, not only the cookie', async () => {
    const client = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'author');
    const secret = client.jar.header();
    const out = await client.post('/console/logout', {});
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console/login');
    const replay = await hibiki.app.request('https://hibiki.example.jp/console/notices', {
      headers: { cookie: secret },
    });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toMatch(/^\/console\/login/);
    const audit = await hibiki.deps.store.audit.list({ limit: 50 });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['console.signin', 'console.signout']));
  });

  it('ends the sessions of a revoked token at once', async () => {
    const client = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'approver', 'revoked-soon');
    expect((await client.get('/console/notices')).status).not.toBe(303);
    await hibiki.deps.store.tokens.revoke(client.tokenId);
    const res = await client.get('/console/notices');
    expect(res.status).toBe(303);
  });

  it('ends a session after its lifetime and after an idle hour', async () => {
    const { id } = await hibiki.deps.store.tokens.create('expiry', 'author');
    const lifetime = { absoluteMs: 60_000, idleMs: 30_000 };
    const t0 = new Date('2026-11-26T00:00:00Z');
    const s = await hibiki.deps.store.staffSessions.create(id, lifetime, t0);
    expect(
      await hibiki.deps.store.staffSessions.find(s.secret, lifetime, { now: new Date(t0.getTime() + 20_000) }),
    ).toBeDefined();
    expect(
      await hibiki.deps.store.staffSessions.find(s.secret, lifetime, { now: new Date(t0.getTime() + 61_000) }),
    ).toBeUndefined();
    const idle = await hibiki.deps.store.staffSessions.create(id, lifetime, t0);
    expect(
      await hibiki.deps.store.staffSessions.find(idle.secret, lifetime, { now: new Date(t0.getTime() + 31_000) }),
    ).toBeUndefined();
    // A poll that does not count as activity leaves the idle clock running; a request does not.
    const long = { absoluteMs: 600_000, idleMs: 90_000 };
    const t = (ms: number) => new Date(t0.getTime() + ms);
    const polled = await hibiki.deps.store.staffSessions.create(id, long, t0);
    expect(
      await hibiki.deps.store.staffSessions.find(polled.secret, long, { now: t(70_000), touch: false }),
    ).toBeDefined();
    expect(await hibiki.deps.store.staffSessions.find(polled.secret, long, { now: t(95_000) })).toBeUndefined();
    const used = await hibiki.deps.store.staffSessions.create(id, long, t0);
    expect(await hibiki.deps.store.staffSessions.find(used.secret, long, { now: t(70_000) })).toBeDefined();
    expect(await hibiki.deps.store.staffSessions.find(used.secret, long, { now: t(95_000) })).toBeDefined();
  });

  it('gives a page only to the roles it names', async () => {
    const probe = new Hono<ConsoleEnv>();
    const routes = createConsoleRoutes(
      hibiki.deps,
      [
        (ctx) => {
          const r = new Hono<ConsoleEnv>();
          r.get('/console/admin-only', ctx.guard('admin'), (c) => c.text(`hello ${c.get('staff').name}`));
          return r;
        },
      ],
      { services: createServices(hibiki.deps) },
    );
    probe.route('/', routes);
    const author = await signedInConsole(probe, hibiki.deps.store.tokens, 'author', 'an-author');
    const refused = await author.get('/console/admin-only');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('権限がありません');
    const admin = await signedInConsole(probe, hibiki.deps.store.tokens, 'admin', 'an-admin');
    const ok = await admin.get('/console/admin-only');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('hello an-admin');
  });

  it('pauses sign-in for a client after repeated wrong tokens', async () => {
    const client = consoleClient(hibiki.app);
    const headers = { 'x-forwarded-for': '203.0.113.77' };
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) {
      await client.get('/console/login');
      last = await client.post('/console/login', { token: `hbk_guess_${i}` }, headers);
    }
    expect(last?.status).toBe(401);
    expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await last?.text()).toContain('一時的に受け付けを止めています');
  });

  it('only follows a next= inside the console', () => {
    expect(safeNext('/console/notices/n1')).toBe('/console/notices/n1');
    expect(safeNext('https://evil.example/')).toBe('/console/notices');
    expect(safeNext('//evil.example/console')).toBe('/console/notices');
    expect(safeNext('/console\\@evil')).toBe('/console/notices');
    expect(safeNext(undefined)).toBe('/console/notices');
  });
});
