import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_PAGE_SIZE } from '../../src/web/console/audit-page.tsx';
import { appSuite } from '../helpers/app-suite.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { type ConsoleClient, consoleClient, expectCsrfRefused, signedInConsole } from '../helpers/console.ts';
import { signInThroughForm } from '../helpers/console-browser.ts';
import { STORE_KINDS } from '../helpers/db.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';

const ORIGIN = 'https://hibiki.example.jp';

/** The audit table's body rows, as text with tags removed. */
function auditRows(html: string): string[] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1] ?? '');
}

function olderLink(html: string): string | undefined {
  return /<a href="(\/console\/audit\?[^"]*before=\d+[^"]*)" rel="next">/.exec(html)?.[1]?.replaceAll('&amp;', '&');
}

describe.each(STORE_KINDS)('console: audit log, tokens and queues for the roles that may use them (%s)', (store) => {
  const hibiki = appSuite({ store });
  let author: ConsoleClient;
  let approver: ConsoleClient;
  let admin: ConsoleClient & { tokenId: number };

  beforeAll(async () => {
    author = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'author', '広報課 作成者');
    approver = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'approver', '防災課 承認者');
    admin = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'admin', '情報課 管理者');
  });

  const bearer = (token: string, path = '/v1/tokens') =>
    hibiki.app.request(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${token}` } });

  it('refuses authors the tokens, queues (page, API and static files) and the audit log; approvers only tokens and queues', async () => {
    const board = await (await admin.get('/console/queues')).text();
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(board)?.[1];
    expect(script).toBeDefined();
    for (const path of [
      '/console/tokens',
      '/console/tokens/1/revoke',
      '/console/queues',
      '/console/queues/api/queues',
      `/console/queues/${script}`,
      '/console/audit',
    ]) {
      const res = await author.get(path);
      expect(res.status, path).toBe(403);
      expect(await res.text(), path).toContain('権限がありません');
    }
    for (const path of ['/console/tokens', '/console/queues', '/console/queues/api/queues']) {
      expect((await approver.get(path)).status, path).toBe(403);
    }
    const audit = await approver.get('/console/audit');
    expect(audit.status).toBe(200);
    expect(await audit.text()).toContain('監査ログ');
    // Signed out: the pages and the board's API send the browser to sign in.
    const anonymous = consoleClient(hibiki.app);
    for (const path of ['/console/audit', '/console/tokens', '/console/queues', '/console/queues/api/queues']) {
      const res = await anonymous.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toMatch(/^\/console\/login\?next=/);
    }
    // The navigation offers each role only what it may open.
    const authorNav = await author.page('/console/notices');
    expect(authorNav).not.toContain('href="/console/audit"');
    expect(authorNav).not.toContain('href="/console/tokens"');
    const adminNav = await admin.page('/console/audit');
    expect(adminNav).toContain('href="/console/tokens"');
    expect(adminNav).toContain('href="/console/queues"');
  });

  it('lets an admin make a token that works on the API, shows it only once, and revoke it', async () => {
    const list = await admin.page('/console/tokens');
    expect(list).toContain('<label for="token-name">');
    expect(list).toContain('<label for="token-role">');

    const created = await admin.post('/console/tokens', { name: '  防災課 システム連携  ', role: 'approver' });
    expect(created.status).toBe(200);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const page = await created.text();
    expect(page).toContain('今すぐコピーして');
    expect(page).toContain('二度と表示できません');
    const token = /id="new-token" value="(hbk_[A-Za-z0-9_-]+)"/.exec(page)?.[1];
    expect(token).toBeDefined();
    if (!token) return;
    const row = (await hibiki.deps.store.tokens.list()).find((t) => t.name === '防災課 システム連携');
    expect(row).toMatchObject({ role: 'approver', revokedAt: null });
    if (!row) return;

    // It works as a Bearer token with its role: an approver may read notices, not tokens.
    expect((await bearer(token, '/v1/notices')).status).toBe(200);
    expect((await bearer(token, '/v1/tokens')).status).toBe(403);

    // Never again: not on the list, not in the audit log's rows, not on the audit page.
    const after = await admin.page('/console/tokens');
    expect(after).toContain('防災課 システム連携');
    expect(after).not.toContain(token);
    expect(after).toContain(`href="/console/tokens/${row.id}/revoke"`);
    expect(JSON.stringify(await hibiki.deps.store.audit.list({ limit: 500 }))).not.toContain(token);
    expect(await admin.page('/console/audit')).not.toContain(token);

    // Revoking asks for a confirmation first; without it nothing happens.
    const confirm = await admin.page(`/console/tokens/${row.id}/revoke`);
    expect(confirm).toMatch(/<input type="checkbox" id="revoke-confirm" name="confirm" value="yes" required/);
    expect(confirm).not.toContain('今サインインに使っているトークン');
    const unconfirmed = await admin.post(`/console/tokens/${row.id}/revoke`, {});
    expect(unconfirmed.status).toBe(400);
    const unconfirmedPage = await unconfirmed.text();
    expect(unconfirmedPage).toContain('role="alert"');
    expect(unconfirmedPage).toContain('aria-invalid="true"');
    expect((await bearer(token, '/v1/notices')).status).toBe(200);

    const revoked = await admin.post(`/console/tokens/${row.id}/revoke`, { confirm: 'yes' });
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get('location')).toBe(`/console/tokens?revoked=${row.id}`);
    expect(await admin.page(`/console/tokens?revoked=${row.id}`)).toContain('を失効させました');
    expect((await bearer(token, '/v1/notices')).status).toBe(401);
    // A second revocation finds no live token.
    expect((await admin.post(`/console/tokens/${row.id}/revoke`, { confirm: 'yes' })).status).toBe(404);

    const audit = (await hibiki.deps.store.audit.list({ limit: 500 }))
      .filter((e) => e.target === String(row.id))
      .reverse();
    expect(audit.map((e) => [e.actor, e.action, e.detail])).toEqual([
      ['情報課 管理者', 'token.create', { name: '防災課 システム連携', role: 'approver' }],
      ['情報課 管理者', 'token.revoke', null],
    ]);
  });

  it('shows what is wrong next to the fields of a bad token request', async () => {
    const before = (await hibiki.deps.store.tokens.list()).length;
    const res = await admin.post('/console/tokens', { name: '   ', role: 'superuser' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(/<div class="flash bad" role="alert">/);
    expect(html).toMatch(
      /id="token-name"[^>]*aria-invalid="true"[^>]*aria-describedby="token-name-error token-name-hint"/,
    );
    expect(html).toMatch(/id="token-role"[^>]*aria-invalid="true"/);
    expect(html).toContain('名前を入力してください');
    expect(html).toContain('役割を author、approver、admin から選んでください');
    expect((await hibiki.deps.store.tokens.list()).length).toBe(before);
  });

  it('warns before an admin revokes the token they are signed in with, then signs them out', async () => {
    const self = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'admin', '自分で失効');
    expect(await self.page('/console/tokens')).toContain('使用中のトークン');
    const confirm = await self.page(`/console/tokens/${self.tokenId}/revoke`);
    expect(confirm).toContain('これは今サインインに使っているトークンです');
    expect(confirm).toContain('サインアウトされ');
    const res = await self.post(`/console/tokens/${self.tokenId}/revoke`, { confirm: 'yes' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('サインアウトしました');
    expect(self.jar.cookies.has('__Host-hibiki_console')).toBe(false);
    expect((await bearer(self.token, '/v1/notices')).status).toBe(401);
    const again = await hibiki.app.request(`${ORIGIN}/console/tokens`, { headers: { cookie: self.jar.header() } });
    expect(again.status).toBe(303);
  });

  it('refuses every token change without the session CSRF token or from another origin', async () => {
    const { id, token } = await hibiki.deps.store.tokens.create('CSRF の的', 'author');
    const count = (await hibiki.deps.store.tokens.list()).length;
    const attempts: [string, Record<string, string>][] = [
      ['/console/tokens', { name: '偽のトークン', role: 'admin' }],
      [`/console/tokens/${id}/revoke`, { confirm: 'yes' }],
    ];
    for (const [path, fields] of attempts) await expectCsrfRefused(admin, path, fields);
    expect((await hibiki.deps.store.tokens.list()).length).toBe(count);
    expect((await bearer(token, '/v1/notices')).status).toBe(200);
  });

  it("refuses the board's own write calls: no CSRF token, and read-only even with one", async () => {
    await hibiki.deps.queues.enqueueDispatch({ noticeId: 'n-board', revision: 1 }, { priority: 5 });
    const cookie = admin.jar.header();
    const put = (path: string, headers: Record<string, string> = {}) =>
      hibiki.app.request(`${ORIGIN}/console/queues/api/queues/${path}`, {
        method: 'PUT',
        headers: { cookie, origin: ORIGIN, 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    for (const path of ['dispatch/clean/prioritized', 'dispatch/pause', 'dispatch/empty', 'dispatch/retry/failed']) {
      expect((await put(path)).status, path).toBe(403);
      // Even a request that somehow carried the token meets a read-only board.
      expect((await put(path, { 'x-csrf-token': admin.csrf ?? '' })).status, path).toBe(405);
    }
    const queues = (await (await admin.get('/console/queues/api/queues')).json()) as {
      queues: { name: string; readOnlyMode: boolean; counts: Record<string, number>; isPaused: boolean }[];
    };
    const dispatch = queues.queues.find((q) => q.name === 'dispatch');
    expect(dispatch?.readOnlyMode).toBe(true);
    expect(dispatch?.isPaused).toBe(false);
    expect(dispatch?.counts.prioritized).toBe(1);
  });

  it('filters the audit log by action and actor, and pages through it newest first', async () => {
    const actor = 'ページ係';
    const total = AUDIT_PAGE_SIZE + 12;
    for (let i = 1; i <= total; i++) {
      await hibiki.deps.store.audit.record(actor, i % 10 === 0 ? 'notice.approve' : 'notice.create', `n-page-${i}`, {
        n: i,
      });
    }
    await hibiki.deps.store.audit.record('別の人', 'notice.approve', 'n-other', { n: 0 });

    const first = await approver.page(`/console/audit?actor=${encodeURIComponent(actor)}`);
    const firstRows = auditRows(first);
    expect(firstRows).toHaveLength(AUDIT_PAGE_SIZE);
    expect(firstRows[0]).toContain('{&quot;n&quot;:62}');
    expect(firstRows[0]).toMatch(/<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00">\d{4}年/);
    expect(firstRows.every((r) => r.includes(actor))).toBe(true);
    const next = olderLink(first);
    expect(next).toBeDefined();
    expect(next).toContain(`actor=${encodeURIComponent(actor)}`);

    const second = await approver.page(next ?? '');
    const secondRows = auditRows(second);
    expect(secondRows).toHaveLength(total - AUDIT_PAGE_SIZE);
    expect(secondRows[0]).toContain(`{&quot;n&quot;:${total - AUDIT_PAGE_SIZE}}`);
    expect(secondRows.at(-1)).toContain('{&quot;n&quot;:1}');
    expect(olderLink(second)).toBeUndefined();
    expect(second).toContain('最新の記録へ戻る');

    const approvals = await approver.page(`/console/audit?action=notice.approve&actor=${encodeURIComponent(actor)}`);
    const approvalRows = auditRows(approvals);
    expect(approvalRows).toHaveLength(6);
    expect(approvalRows.every((r) => r.includes('承認') && r.includes(actor))).toBe(true);
    expect(approvals).toContain('<option value="notice.approve" selected="">');
    // A notice id links to its console page; the action is in words, English beside it.
    expect(approvalRows[0]).toContain('href="/console/notices/n-page-60"');
    expect(approvalRows[0]).toContain('<span class="en" lang="en">Approved</span>');

    const byAction = auditRows(await approver.page('/console/audit?action=notice.approve'));
    expect(byAction.some((r) => r.includes('別の人'))).toBe(true);
    expect(byAction.every((r) => !r.includes('通知の作成'))).toBe(true);

    const none = await approver.page('/console/audit?actor=nobody-at-all');
    expect(auditRows(none)).toHaveLength(0);
    expect(none).toContain('条件に合う記録はありません');
    // A cursor that is not an id is the first page, not an error.
    expect((await approver.get('/console/audit?before=abc')).status).toBe(200);
  });

  it('escapes HTML in an audit entry, masks anything that looks like a secret, and shows unknown actions as recorded', async () => {
    await hibiki.deps.store.audit.record('<b>actor</b>', 'plugin.<i>thing</i>', '<img src=x onerror=alert(1)>', {
      title: '<script>alert("x")</script>',
      token: 'hbk_shouldneverbeshown_0123456789',
      note: 'leaked hbk_ABCDEFGHIJKLMNOPQRSTUVWXYZ in text',
    });
    const html = await approver.page('/console/audit');
    const row = auditRows(html).find((r) => r.includes('actor'));
    expect(row).toBeDefined();
    expect(row).toContain('&lt;b&gt;actor&lt;/b&gt;');
    expect(row).toContain('<code>plugin.&lt;i&gt;thing&lt;/i&gt;</code>');
    expect(row).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(row).toContain('&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>actor</b>');
    expect(html).not.toContain('hbk_shouldneverbeshown');
    expect(html).not.toContain('hbk_ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    expect(row).toContain('[秘匿]');
  });

  it('records what staff do in the console and names it in words', async () => {
    const client = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'approver', '記録の確認');
    const html = await client.page(`/console/audit?actor=${encodeURIComponent('記録の確認')}`);
    const [row] = auditRows(html);
    expect(row).toContain('サインイン');
    expect(row).toContain(`トークン #${client.tokenId}`);
    expect(row).not.toContain(client.token);
  });
});

/**
 * Bull Board over real HTTP (the app served by @hono/node-server on a free port), as a
 * browser reaches it: its page, its static script and its JSON API, each behind the
 * console's admin guard; and in Chromium, that the board runs under its CSP.
 */
describe('console: Bull Board at /console/queues over HTTP', () => {
  let hibiki: HttpApp;
  let adminCookie: string;
  let authorCookie: string;

  beforeAll(async () => {
    hibiki = await startHttpApp({ workers: false });
    adminCookie = await signInOverHttp('admin');
    authorCookie = await signInOverHttp('author');
    await hibiki.deps.queues.enqueueDispatch({ noticeId: 'n-http', revision: 1 }, { priority: 5 });
  });
  afterAll(async () => {
    await hibiki?.close();
  });

  /** Signs in through the real sign-in form over HTTP; returns the session cookie. */
  async function signInOverHttp(role: 'admin' | 'author'): Promise<string> {
    const { token } = await hibiki.deps.store.tokens.create(`board-${role}`, role);
    const client = consoleClient(
      { request: (url: string, init?: RequestInit) => fetch(url, { ...init, redirect: 'manual' }) } as never,
      hibiki.base,
    );
    await client.get('/console/login');
    const res = await client.post('/console/login', { token });
    expect(res.status).toBe(303);
    expect(client.jar.cookies.has('hibiki_console')).toBe(true);
    return client.jar.header();
  }

  const get = (path: string, cookie?: string) =>
    fetch(`${hibiki.base}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });

  it('serves the board, its static files and its API to an admin, with a CSP that still forbids framing', async () => {
    const page = await get('/console/queues', adminCookie);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("base-uri 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('<base href="/console/queues/"');
    expect(html).toContain('響 Hibiki キュー');
    const assets = [...html.matchAll(/(?:src|href)="(static\/(?:js|css)\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const res = await get(`/console/queues/${asset}`, adminCookie);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('content-type'), asset).toMatch(asset.endsWith('.js') ? /javascript/ : /text\/css/);
      await res.arrayBuffer();
    }

    const api = await get('/console/queues/api/queues', adminCookie);
    expect(api.status).toBe(200);
    const body = (await api.json()) as {
      queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[];
    };
    const names = body.queues.map((q) => q.name).sort();
    expect(names).toEqual(
      ['dispatch', ...hibiki.deps.channels.ids().flatMap((id) => [`deliver-${id}`, `deliver-${id}-urgent`])].sort(),
    );
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
    expect(body.queues.find((q) => q.name === 'dispatch')?.counts.prioritized).toBe(1);
  });

  it('refuses the board, its static files and its API to an author, and sends a signed-out browser to sign in', async () => {
    const html = await (await get('/console/queues', adminCookie)).text();
    const script = /src="(static\/js\/[^"]+\.js)"/.exec(html)?.[1] ?? '';
    for (const path of ['/console/queues', '/console/queues/api/queues', `/console/queues/${script}`]) {
      const refused = await get(path, authorCookie);
      expect(refused.status, path).toBe(403);
      expect(refused.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      await refused.text();
      const anonymous = await get(path);
      expect(anonymous.status, path).toBe(303);
      expect(anonymous.headers.get('location'), path).toMatch(/^\/console\/login\?next=/);
    }
  });

  it.skipIf(!HAS_CHROMIUM)(
    browserSuite('runs under its CSP in Chromium and lists the queues'),
    async () => {
      const browser: Browser = await launchChromium();
      try {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        const violations: string[] = [];
        page.on('console', (msg) => {
          if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
        });
        // Signs in as a person would, and is sent on to the board.
        const { token } = await hibiki.deps.store.tokens.create('board-browser', 'admin');
        await signInThroughForm(page, hibiki.base, token, '/console/queues');
        // The overview's cards come from the board's API: the queued dispatch job shows as one job.
        await page.getByText(`deliver-${hibiki.deps.channels.ids()[0]}`).first().waitFor({ timeout: 20_000 });
        await page
          .getByText(/^1\s*ジョブ$/)
          .first()
          .waitFor({ timeout: 20_000 });
        // Read-only: no buttons that would change a queue.
        expect(
          await page.getByRole('button', { name: /再試行|削除|クリーン|一時停止|Retry|Clean|Pause/ }).count(),
        ).toBe(0);
        if (process.env.HIBIKI_SCREENSHOT_DIR) {
          await page.screenshot({ path: `${process.env.HIBIKI_SCREENSHOT_DIR}/console-queues.png` });
        }
        // Only the board's Google Fonts stylesheet is refused, on purpose.
        expect(violations.filter((v) => !v.includes('fonts.googleapis.com'))).toEqual([]);
        await context.close();
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
