import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import type { ResidentService } from '../../src/services/residents.ts';
import { createSubscribePageRoutes } from '../../src/web/subscribe-page.tsx';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { exampleCatalogue, linkIn, type ResidentApp, residentApp } from '../helpers/resident-app.ts';

let deps: TestDeps;
let sink: SmtpSink;
let catalogue: Catalogue;
let app: ResidentApp['app'];
let residents: ResidentService;
let clientNo = 0;

beforeAll(async () => {
  sink = await startSmtpSink();
  deps = await createTestDeps({
    env: {
      CHANNELS: 'mail,line',
      SMTP_URL: sink.url,
      LINE_CHANNEL_ACCESS_TOKEN: 'test-token',
      LINE_CHANNEL_SECRET: 'test-secret',
      SIGNUP_LIMIT_PER_CLIENT: '1000',
    },
  });
  catalogue = await exampleCatalogue(deps);
  ({ app, residents } = residentApp(deps, catalogue));
});
afterAll(async () => {
  residents.close();
  await deps.dispose();
  await sink.close();
});
beforeEach(() => sink.reset());

const FORM = 'application/x-www-form-urlencoded';

/** A form POST as a browser on this site sends it, from a client of its own (so limits never meet). */
function post(path: string, fields: Array<[string, string]>, headers: Record<string, string> = {}) {
  clientNo++;
  return app.request(path, {
    method: 'POST',
    headers: {
      'content-type': FORM,
      'sec-fetch-site': 'same-origin',
      'x-forwarded-for': `198.18.${Math.floor(clientNo / 250)}.${clientNo % 250}`,
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
}

const formTokenIn = (html: string, action?: string) => {
  const forms = html.split('<form').slice(1);
  const form = action ? forms.find((f) => f.includes(`name="action" value="${action}"`)) : forms[0];
  const token = /name="form" value="([^"]+)"/.exec(form ?? '')?.[1];
  if (!token) throw new Error(`no form token for ${action ?? 'the form'}`);
  return token;
};

/** Every visible input has a <label for> (or sits inside one). */
function expectLabelled(html: string) {
  const inputs = [...html.matchAll(/<input([^>]*)>/g)].map((m) => m[1] ?? '');
  const visible = inputs.filter((a) => !a.includes('type="hidden"'));
  expect(visible.length).toBeGreaterThan(0);
  for (const attrs of visible) {
    const id = /id="([^"]+)"/.exec(attrs)?.[1];
    expect(id, attrs).toBeDefined();
    expect(html, `label for ${id}`).toContain(`for="${id}"`);
  }
}

function expectAccessiblePage(html: string) {
  expect(html).toMatch(/^<!DOCTYPE html><html lang="ja">/);
  expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
  expect(html).toContain('lang="en"');
  expect(html).toContain('input:focus-visible{outline:3px solid');
  expect(html).toContain('button:focus-visible');
  expect(html).not.toContain('<script');
  expect(html).not.toMatch(/(src|href)="https?:\/\/(?!hibiki\.example\.jp)/);
}

async function signUpAndConfirm(email: string, fields: Array<[string, string]> = [['topics', 'disaster']]) {
  const res = await post('/subscribe', [['email', email], ...fields, ['locale', 'ja']]);
  expect(res.status).toBe(200);
  const [mail] = await sink.waitFor(1);
  const link = linkIn(mail?.parsed.text, 'confirm');
  const page = await app.request(link.path);
  const done = await post(link.path, [['form', formTokenIn(await page.text())]]);
  expect(done.status).toBe(200);
  const html = await done.text();
  const manage = /href="https:\/\/hibiki\.example\.jp(\/manage\?t=[^"]+)"/.exec(html)?.[1];
  if (!manage) throw new Error('no manage link on the confirmation page');
  sink.reset();
  return { manage: manage.replaceAll('&amp;', '&'), html };
}

describe('the sign-up page', () => {
  it('renders Japanese first with English, labels, fieldsets with legends and the emergency note', async () => {
    const res = await app.request('/subscribe');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expectAccessiblePage(html);
    expectLabelled(html);
    expect(html).toContain('<h1>防災・お知らせメールの登録');
    expect(html).toContain('<form method="post" action="/subscribe"');
    expect(html).toContain('type="email" id="email" name="email"');
    expect(html).toContain('autocomplete="email"');
    for (const legend of ['受け取る分野', '地域', 'メールの言語']) expect(html).toContain(`<legend>${legend}`);
    for (const t of catalogue.topics) expect(html).toContain(`id="topic-${t.id}" value="${t.id}"`);
    expect(html).toContain('id="area-432105-03" value="432105-03"');
    expect(html).toContain('旭志地区');
    // The emergency rule, in both languages.
    expect(html).toContain('選んだ分野にかかわらず');
    expect(html).toContain('whatever topics they chose');
    // LINE is enabled here; the manage-link page is one click away.
    expect(html).toContain('LINE');
    expect(html).toContain('href="/manage"');
    // The same starting topics as LINE (LINE_DEFAULT_TOPICS), nothing else ticked.
    expect(html).toMatch(/id="topic-disaster" value="disaster" checked/);
    expect(html).toMatch(/id="topic-shelter" value="shelter" checked/);
    expect(html).not.toMatch(/id="topic-events" value="events" checked/);
  });

  it('links to the push page when Web Push is enabled, and says the whole city when there are no districts', async () => {
    const routes = createSubscribePageRoutes({
      residents,
      catalogue: deps.catalogue,
      config: { ...deps.config, channels: ['mail', 'webpush'] as unknown as typeof deps.config.channels },
      logger: deps.logger,
    });
    const html = await (await routes.request('/subscribe')).text();
    expect(html).toContain('<a href="/push">');
    expect(html).not.toContain('<legend>地域');
    expect(html).toContain('地域: 菊池市全域');
  });

  it('a bad address comes back 400 with an error summary linked to the field, and the choices kept', async () => {
    const res = await post('/subscribe', [
      ['email', 'not-an-address'],
      ['topics', 'weather'],
      ['areas', '432105-04'],
      ['locale', 'en'],
    ]);
    expect(res.status).toBe(400);
    const html = await res.text();
    expectAccessiblePage(html);
    expect(html).toContain('role="alert"');
    expect(html).toContain('<a href="#email">メールアドレス: メールアドレスの形が正しくありません');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('value="not-an-address"');
    expect(html).toMatch(/id="topic-weather" value="weather" checked/);
    expect(html).toMatch(/id="area-432105-04" value="432105-04" checked/);
    expect(html).toMatch(/id="locale-en" value="en" checked/);
    expect(sink.count).toBe(0);
  });

  it('refuses a POST from another site and sends nothing', async () => {
    const refused: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': '', origin: 'https://evil.example' },
    ];
    for (const headers of refused) {
      const res = await post('/subscribe', [['email', 'victim@example.jp']], headers);
      expect(res.status).toBe(403);
    }
    expect(sink.count).toBe(0);
  });
});

describe('confirm and manage', () => {
  it('sign up → confirm (GET changes nothing) → manage link shown; confirm pages are private', async () => {
    const res = await post('/subscribe', [
      ['email', 'Flow@Example.jp'],
      ['topics', 'disaster'],
      ['topics', 'health'],
      ['areas', '432105-01'],
      ['locale', 'ja'],
    ]);
    const html = await res.text();
    expect(html).toContain('お申し込みを受け付けました');
    expect(html).toContain('role="status"');
    const [mail] = await sink.waitFor(1);
    expect(mail?.envelope.rcptTo).toEqual(['flow@example.jp']);
    const link = linkIn(mail?.parsed.text, 'confirm');

    const page = await app.request(link.path);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const pageHtml = await page.text();
    expectAccessiblePage(pageHtml);
    expect(pageHtml).toContain(`<form method="post" action="${link.path}">`);
    expect((await residents.subscriberOf(link.token)) === undefined).toBe(true);

    // Without the page's form token, or from another site, nothing is confirmed.
    expect((await post(link.path, [['form', 'forged']])).status).toBe(400);
    expect((await post(link.path, [['form', formTokenIn(pageHtml)]], { 'sec-fetch-site': 'cross-site' })).status).toBe(
      403,
    );
    const done = await post(link.path, [['form', formTokenIn(pageHtml)]]);
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain('登録が完了しました');
    expect(doneHtml).toContain('健康');
    expect(doneHtml).toContain('菊池地区');
    expect(doneHtml).toContain('id="manage-link"');
  });

  it('the manage page shows the choices, saves changes, and refuses forged or foreign forms', async () => {
    const { manage } = await signUpAndConfirm('manage@example.jp', [
      ['topics', 'disaster'],
      ['areas', '432105-02'],
    ]);
    const res = await app.request(manage);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expectAccessiblePage(html);
    expectLabelled(html);
    expect(html).toContain('<h1>登録内容の確認・変更');
    expect(html).toMatch(/id="topic-disaster" value="disaster" checked/);
    expect(html).toMatch(/id="area-432105-02" value="432105-02" checked/);
    expect(html).toContain('/unsubscribe?c=');

    const save = formTokenIn(html, 'save');
    // Another action's token does not pass for saving.
    expect(
      (
        await post(manage, [
          ['action', 'save'],
          ['form', formTokenIn(html, 'delete-ask')],
        ])
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          manage,
          [
            ['action', 'save'],
            ['form', save],
          ],
          { origin: 'https://evil.example', 'sec-fetch-site': '' },
        )
      ).status,
    ).toBe(403);
    const bad = await post(manage, [
      ['action', 'save'],
      ['form', save],
      ['topics', 'nope'],
    ]);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('選べない分野です: nope');

    const saved = await post(manage, [
      ['action', 'save'],
      ['form', save],
      ['topics', 'events'],
      ['topics', 'childcare'],
      ['locale', 'en'],
    ]);
    expect(saved.status).toBe(200);
    const savedHtml = await saved.text();
    expect(savedHtml).toContain('変更を保存しました');
    expect(savedHtml).toMatch(/id="topic-events" value="events" checked/);
    expect(savedHtml).not.toMatch(/id="topic-disaster" value="disaster" checked/);
    const subscriberId = Number(/t=(\d+)\./.exec(manage)?.[1]);
    expect(await residents.manage(subscriberId)).toMatchObject({
      topics: ['childcare', 'events'],
      areas: [],
      locale: 'en',
    });
  });

  it('stop through the unsubscribe page; the old manage link dies, and resuming takes a fresh confirmation', async () => {
    const { manage } = await signUpAndConfirm('stop@example.jp');
    const html = await (await app.request(manage)).text();
    const unsubscribe = /href="https:\/\/hibiki\.example\.jp(\/unsubscribe\?[^"]+)"/
      .exec(html)?.[1]
      ?.replaceAll('&amp;', '&');
    if (!unsubscribe) throw new Error('no unsubscribe link on the manage page');
    const stopPage = await (await app.request(unsubscribe)).text();
    expect(stopPage).toContain('「登録内容の変更」のリンク');
    const stopped = await post(unsubscribe, [
      ['List-Unsubscribe', 'One-Click'],
      ['from', 'page'],
    ]);
    const stoppedHtml = await stopped.text();
    expect(stoppedHtml).toContain('配信を停止しました');
    expect(stoppedHtml).toContain('href="/subscribe"');

    // The link held before the unsubscribe opens nothing now, and says to subscribe again.
    const old = await app.request(manage);
    expect(old.status).toBe(400);
    expect(await old.text()).toContain('もう一度登録してください');

    // A new link, asked for by address, opens the stopped subscription.
    expect((await post('/manage/link', [['email', 'stop@example.jp']])).status).toBe(200);
    const [linkMail] = await sink.waitFor(1);
    const fresh = linkIn(linkMail?.parsed.text, 'manage').path;
    sink.reset();
    const after = await (await app.request(fresh)).text();
    expect(after).toContain('id="mail-stopped"');
    const resumed = await post(fresh, [
      ['action', 'resume'],
      ['form', formTokenIn(after, 'resume')],
    ]);
    expect(await resumed.text()).toContain('確認のメールをお送りしました');
    const view = await residents.subscriberOf(linkIn(linkMail?.parsed.text, 'manage').token);
    if (view === undefined) throw new Error('the fresh manage link opens nothing');
    expect((await residents.manage(view))?.mail?.active).toBe(false);

    // Only the confirmation's link, from the mailbox, turns mail back on.
    const [confirmMail] = await sink.waitFor(1);
    expect(confirmMail?.envelope.rcptTo).toEqual(['stop@example.jp']);
    const confirm = linkIn(confirmMail?.parsed.text, 'confirm');
    const page = await app.request(confirm.path);
    expect((await post(confirm.path, [['form', formTokenIn(await page.text())]])).status).toBe(200);
    expect((await residents.manage(view))?.mail?.active).toBe(true);
  });

  it('delete my data asks first, then removes everything; the link opens nothing afterwards', async () => {
    const { manage } = await signUpAndConfirm('delete@example.jp');
    const html = await (await app.request(manage)).text();
    const ask = await post(manage, [
      ['action', 'delete-ask'],
      ['form', formTokenIn(html, 'delete-ask')],
    ]);
    const askHtml = await ask.text();
    expect(askHtml).toContain('登録情報を削除しますか');
    expect(askHtml).toContain('id="keep"');
    // The delete needs the confirmation page's own token: the manage page's forms cannot skip the step.
    expect(
      (
        await post(manage, [
          ['action', 'delete'],
          ['form', formTokenIn(html, 'delete-ask')],
        ])
      ).status,
    ).toBe(400);
    const deleted = await post(manage, [
      ['action', 'delete'],
      ['form', formTokenIn(askHtml, 'delete')],
    ]);
    expect(await deleted.text()).toContain('登録情報を削除しました');
    const gone = await deps.store.db.kysely
      .selectFrom('contacts')
      .select('id')
      .where('address', '=', 'delete@example.jp')
      .execute();
    expect(gone).toEqual([]);
    expect((await app.request(manage)).status).toBe(400);
  });

  it('a manage link on request: the form, the same answer for any address, a 24-hour link that works', async () => {
    await signUpAndConfirm('lost@example.jp');
    const form = await (await app.request('/manage')).text();
    expectAccessiblePage(form);
    expectLabelled(form);
    expect(form).toContain('<form method="post" action="/manage/link">');

    const known = await post('/manage/link', [
      ['email', 'lost@example.jp'],
      ['locale', 'ja'],
    ]);
    const unknown = await post('/manage/link', [
      ['email', 'never@example.jp'],
      ['locale', 'ja'],
    ]);
    expect(await known.text()).toBe(await unknown.text());
    const [mail] = await sink.waitFor(1);
    expect(sink.count).toBe(1);
    const link = linkIn(mail?.parsed.text, 'manage');
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const page = await app.request(link.path);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('登録内容の確認・変更');
  });

  it('bad, forged or missing tokens get a 400 page that points to a new link', async () => {
    for (const path of [
      '/manage?t=1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      '/manage?t=abc',
      `/manage?t=${'A'.repeat(43)}`,
      '/subscribe/confirm?t=x',
      `/subscribe/confirm?t=${'A'.repeat(43)}`,
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(400);
      const html = await res.text();
      expect(html).toContain('<html lang="ja">');
      expect(html).toContain(
        path.startsWith('/manage') ? 'このリンクは使えません' : 'リンクが正しくないか、期限が切れています',
      );
    }
    // An unsubscribe signature is not a manage signature.
    const signature = deps.links.unsubscribeToken(1);
    expect((await app.request(`/manage?t=1.${signature}`)).status).toBe(400);
  });
});

describe('the public API', () => {
  it('POST /v1/public/subscriptions answers 202 and mails a confirmation; bad input is a 400 naming the field', async () => {
    const ok = await app.request('/v1/public/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.19.0.1' },
      body: JSON.stringify({ email: 'app-user@example.jp', topics: ['disaster'], areas: ['432105-01'], locale: 'en' }),
    });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ status: 'accepted' });
    const [mail] = await sink.waitFor(1);
    expect(mail?.parsed.subject).toBe('Kikuchi City alerts: please confirm your e-mail address');

    const bad = await app.request('/v1/public/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.19.0.2' },
      body: JSON.stringify({ email: 'x@example.jp', topics: ['nope'], extra: 1 }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { fields: Record<string, string[]> } };
    expect(Object.keys(body.error.fields)).toContain('extra');

    const unknownTopic = await app.request('/v1/public/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.19.0.3' },
      body: JSON.stringify({ email: 'x@example.jp', topics: ['nope'] }),
    });
    expect(unknownTopic.status).toBe(400);
    expect(
      ((await unknownTopic.json()) as { error: { fields: Record<string, string[]> } }).error.fields.topics,
    ).toEqual([expect.stringContaining('nope')]);
    expect(sink.count).toBe(1);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(doc.paths['/v1/public/subscriptions']).toBeDefined();
  });
});
