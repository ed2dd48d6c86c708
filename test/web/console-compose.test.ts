import type { Browser } from 'playwright-core';
import twitterText from 'twitter-text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templateExampleValues } from '../../src/domain/notice-templates.ts';
import type { StaffIdentity } from '../../src/domain/staff.ts';
import { dispatchJobId } from '../../src/queue/names.ts';
import { createNoticeService } from '../../src/services/notices/index.ts';
import { appSuite } from '../helpers/app-suite.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { type ConsoleClient, expectCsrfRefused, signedInConsole } from '../helpers/console.ts';
import { signInThroughForm, watchProblems } from '../helpers/console-browser.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';

/** Nothing here sends: no workers run, and X and LINE point at a port nobody listens on. */
const NOWHERE = 'http://127.0.0.1:9';

const unescapeHtml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** Every visible form control and whether a <label for> names it. */
function unlabelledControls(html: string): string[] {
  const missing: string[] = [];
  for (const m of html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
    const attrs = m[2] ?? '';
    if (/type="hidden"/.test(attrs)) continue;
    const id = /\bid="([^"]+)"/.exec(attrs)?.[1];
    if (!id || !html.includes(`<label for="${id}"`)) missing.push(`${m[1]} ${id ?? attrs}`);
  }
  return missing;
}

const count = (html: string, re: RegExp) => [...html.matchAll(re)].length;

/** The form as a browser would send it for a routine notice; overrides replace fields. */
function noticeFields(overrides: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return {
    nonce: `nonce-${Math.random().toString(36).slice(2)}-0123456789`,
    title: '図書館の臨時休館について',
    body: '市立図書館は設備点検のため、明日は臨時休館します。',
    severity: 'info',
    category: 'お知らせ',
    topics: ['government'],
    channels: ['mail', 'cap', 'x', 'line', 'webpush'],
    mode: 'actual',
    scheduledAt: '',
    expiresAt: '',
    department: '',
    link: '',
    ...overrides,
  };
}

const CHANNEL_ENV = {
  CHANNELS: 'mail,cap,x,line,webpush',
  X_API_BASE_URL: NOWHERE,
  X_API_KEY: 'compose-app',
  X_API_SECRET: 'compose-app-secret',
  X_ACCESS_TOKEN: '1600000000000000003-compose',
  X_ACCESS_SECRET: 'compose-secret',
  LINE_CHANNEL_ACCESS_TOKEN: 'compose-line-token',
  LINE_CHANNEL_SECRET: 'compose-line-secret',
  LINE_API_BASE_URL: NOWHERE,
};

describe('console compose page', () => {
  const hibiki = appSuite({ env: CHANNEL_ENV });
  let author: ConsoleClient;
  let approver: ConsoleClient;

  beforeAll(async () => {
    author = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'author', '広報課 作成者');
    approver = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'approver', '防災課 承認者');
  });

  const idFrom = (res: Response) =>
    /^\/console\/notices\/([^/?]+)(\?done=\w+)?$/.exec(res.headers.get('location') ?? '')?.[1];

  it('labels every control, has one h1, and offers every enabled channel checked', async () => {
    const html = await author.page('/console/notices/new');
    expect(unlabelledControls(html)).toEqual([]);
    expect(count(html, /<h1\b/g)).toBe(1);
    for (const channel of ['mail', 'cap', 'x', 'line', 'webpush']) {
      expect(html).toMatch(new RegExp(`name="channels" value="${channel}" checked`));
    }
    expect(html).toContain('name="severity" value="info" checked');
    expect(html).toContain('name="mode" value="actual" checked');
    expect(html).toContain('市内全域');
    expect(html).toContain('<script src="/console/assets/compose.js" defer=""></script>');

    const script = await author.get('/console/assets/compose.js');
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('X-CSRF-Token');

    const picked = await author.page('/console/notices/new?template=evacuation-order');
    expect(unlabelledControls(picked)).toEqual([]);
    expect(count(picked, /<h1\b/g)).toBe(1);
  });

  it('previews each channel: the X posts with their weighted counts, and says when a long body is split', async () => {
    const body = `${'川の水位が上がっています。低い土地にお住まいの方は、早めに安全な場所へ移動してください。'.repeat(8)}`;
    const res = await author.post('/console/notices/preview', noticeFields({ body }), {
      'x-csrf-token': author.csrf ?? '',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    const x = /aria-labelledby="pv-x">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
    const posts = [...x.matchAll(/<li><pre>([\s\S]*?)<\/pre><p class="hint">(\d+) \/ 280/g)];
    expect(posts.length).toBeGreaterThan(1);
    for (const [, text, weight] of posts) {
      const counted = twitterText.parseTweet(unescapeHtml(text ?? '')).weightedLength;
      expect(Number(weight)).toBe(counted);
      expect(counted).toBeLessThanOrEqual(280);
    }
    expect(x).toContain(`長文のため ${posts.length} 件に分割`);
    const summary = /data-summary="([^"]*)"/.exec(html)?.[1] ?? '';
    expect(summary).toContain(`X: ${posts.length}件 / ${posts.map((p) => p[2]).join('+')}字`);
    // Every enabled channel shows, mail in both languages.
    for (const channel of ['mail', 'cap', 'x', 'line', 'webpush']) expect(html).toContain(`id="pv-${channel}"`);
    expect(html).toContain('英語の購読者');
    expect(html).toContain('&lt;alert');
    // The form's preview button shows the same, without JavaScript.
    const noJs = await author.post('/console/notices', { ...noticeFields({ body }), _action: 'preview' });
    expect(noJs.status).toBe(200);
    const page = await noJs.text();
    expect(page).toContain(`長文のため ${posts.length} 件に分割`);
    expect(page).toMatch(/<textarea[^>]*name="body"[^>]*>川の水位が上がっています。/);
  });

  it('fills a template and pre-fills the form with its wording, severity, category and topics', async () => {
    const template = hibiki.deps.noticeTemplates.find((t) => t.id === 'evacuation-order');
    expect(template).toBeDefined();
    if (!template) return;
    const values = Object.fromEntries(Object.entries(templateExampleValues(template)).map(([k, v]) => [`v.${k}`, v]));
    const res = await author.post('/console/notices/new/template', { template: template.id, ...values });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/name="title" value="【警戒レベル4】避難指示 発令（菊池地区、旭志地区）"/);
    expect(html).toMatch(/<textarea[^>]*name="body"[^>]*>[^<]*土砂災害に関する【警戒レベル4】避難指示を発令しました/);
    expect(html).toContain('name="severity" value="emergency" checked');
    expect(html).toContain('<option value="避難情報" selected');
    expect(html).toContain('name="topics" value="disaster" checked');
    expect(html).toContain('name="topics" value="shelter" checked');
    // An author's emergency is a request for approval, and the button says so.
    expect(html).toMatch(/data-submit=""[^>]*>承認を依頼する</);
    expect(unlabelledControls(html)).toEqual([]);
  });

  it('names a missing required template field beside it', async () => {
    const template = hibiki.deps.noticeTemplates.find((t) => t.id === 'evacuation-order');
    if (!template) throw new Error('no evacuation-order template');
    const { areas: _omitted, ...rest } = templateExampleValues(template);
    const values = Object.fromEntries(Object.entries(rest).map(([k, v]) => [`v.${k}`, v]));
    const res = await author.post('/console/notices/new/template', { template: template.id, ...values });
    expect(res.status).toBe(400);
    const html = await res.text();
    const index = template.fields.findIndex((f) => f.key === 'areas');
    expect(html).toContain('role="alert"');
    expect(html).toContain('「対象地区」を入力してください');
    expect(html).toMatch(
      new RegExp(`<textarea id="t-${index}" name="v.areas" aria-invalid="true" aria-describedby="[^"]*te-${index}`),
    );
    // What was typed stays.
    expect(html).toContain(`value="${rest.hazard}"`);
  });

  it('sends a routine notice after the confirmation page, and queues it', async () => {
    const title = `ごみ収集日の変更 ${Date.now()}`;
    const first = await author.post('/console/notices', { ...noticeFields({ title }), _action: 'submit' });
    expect(first.status).toBe(200);
    const confirm = await first.text();
    expect(confirm).toContain('この内容で配信しますか');
    expect(confirm).toContain('届く先の見込み');
    expect(confirm).toContain('name="_action" value="confirm"');
    expect(unlabelledControls(confirm)).toEqual([]);

    const res = await author.post('/console/notices', { ...noticeFields({ title }), _action: 'confirm' });
    expect(res.status).toBe(303);
    const id = idFrom(res);
    expect(id).toBeDefined();
    const detail = await hibiki.deps.store.notices.get(id ?? '');
    expect(detail?.status).toBe('queued');
    expect(detail?.title).toBe(title);
    expect(await hibiki.deps.queues.dispatch.getJob(dispatchJobId(id ?? '', 1))).toBeDefined();
  });

  it('sends an exercise at once, without the confirmation page', async () => {
    const res = await author.post('/console/notices', {
      ...noticeFields({ mode: 'exercise', title: '防災訓練のお知らせ' }),
      _action: 'submit',
    });
    expect(res.status).toBe(303);
    const notice = await hibiki.deps.store.notices.get(idFrom(res) ?? '');
    expect(notice?.mode).toBe('exercise');
    expect(notice?.status).toBe('queued');
  });

  it("submits an author's emergency for approval: pending, nothing queued", async () => {
    const res = await author.post('/console/notices', {
      ...noticeFields({ severity: 'emergency', category: '避難情報', title: '避難指示 発令（菊池地区）' }),
      _action: 'submit',
    });
    expect(res.status).toBe(303);
    const id = idFrom(res) ?? '';
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('pending_approval');
    expect(await hibiki.deps.queues.dispatch.getJob(dispatchJobId(id, 1))).toBeUndefined();
  });

  it('shows validation errors beside the fields, with a summary, and keeps what was typed', async () => {
    const res = await author.post('/console/notices', {
      ...noticeFields({
        title: '   ',
        body: '本文は残る',
        expiresAt: '2020-01-01T09:00',
        department: '危機管理防災課',
      }),
      _action: 'submit',
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(/<div class="flash bad" role="alert"/);
    expect(html).toContain('<a href="#f-title">件名を入力してください</a>');
    expect(html).toContain('<a href="#f-expiresAt">');
    expect(html).toMatch(
      /<input type="text" id="f-title" name="title" value=" {3}" aria-invalid="true" aria-describedby="h-title e-title"/,
    );
    expect(html).toMatch(/<p class="error" id="e-title">/);
    expect(html).toMatch(/id="f-expiresAt" name="expiresAt" value="2020-01-01T09:00" aria-invalid="true"/);
    expect(html).toMatch(/<textarea[^>]*name="body"[^>]*>本文は残る<\/textarea>/);
    expect(html).toContain('value="危機管理防災課"');
    expect(html).toContain('name="topics" value="government" checked');
    expect(unlabelledControls(html)).toEqual([]);
  });

  it('sends one notice for a double click: the same nonce twice gives the same notice', async () => {
    const title = `二度押しの確認 ${Date.now()}`;
    const fields = { ...noticeFields({ title }), _action: 'confirm' };
    const [a, b] = await Promise.all([
      author.post('/console/notices', fields),
      author.post('/console/notices', fields),
    ]);
    expect(a.status).toBe(303);
    expect(b.status).toBe(303);
    expect(a.headers.get('location')).toBe(b.headers.get('location'));
    const again = await author.post('/console/notices', fields);
    expect(again.headers.get('location')).toBe(a.headers.get('location'));
    const all = await hibiki.deps.store.notices.list({ limit: 500 });
    expect(all.filter((n) => n.title === title)).toHaveLength(1);
  });

  it('corrects a notice: the form shows the current revision and only changed fields are sent', async () => {
    const staff: StaffIdentity = { tokenId: 0, name: '防災課 承認者', role: 'approver' };
    const service = createNoticeService(hibiki.deps);
    const { notice } = await service.post(
      {
        title: '給水所の開設',
        body: '市役所前に給水所を開設しました。',
        severity: 'warning',
        category: '被害情報',
        topics: ['disaster'],
        department: '水道課',
      },
      staff,
    );
    const form = await author.page(`/console/notices/${notice.id}/correct`);
    expect(form).toContain('value="給水所の開設"');
    expect(form).toContain('value="水道課"');
    expect(form).toContain('name="baseRevision" value="1"');
    expect(unlabelledControls(form)).toEqual([]);
    const nonce = /name="nonce" value="([^"]+)"/.exec(form)?.[1] ?? '';

    const fields = {
      nonce,
      baseRevision: '1',
      title: '給水所の開設',
      body: '市役所前と市民体育館に給水所を開設しました。',
      severity: 'warning',
      category: '被害情報',
      topics: ['disaster'],
      channels: ['mail', 'cap', 'x', 'line', 'webpush'],
      mode: 'actual',
      expiresAt: '',
      department: '水道課',
      link: '',
    };
    // The live preview renders the correction as it will go out: marked 【訂正】 on every channel.
    expect(form).toContain(`data-preview="/console/notices/${notice.id}/correct/preview"`);
    const live = await author.post(`/console/notices/${notice.id}/correct/preview`, fields, {
      'x-csrf-token': author.csrf ?? '',
    });
    expect(live.status).toBe(200);
    const fragment = await live.text();
    expect(fragment).toContain('【訂正】給水所の開設');
    expect(fragment).toContain('市役所前と市民体育館に給水所を開設しました。');
    const asBefore = await author.post(`/console/notices/${notice.id}/correct/preview`, {
      ...fields,
      body: '市役所前に給水所を開設しました。',
    });
    expect(await asBefore.text()).toContain('まだ何も変えていません');
    const confirm = await author.post(`/console/notices/${notice.id}/correct`, { ...fields, _action: 'submit' });
    expect(confirm.status).toBe(200);
    const confirmHtml = await confirm.text();
    expect(confirmHtml).toContain('この内容で訂正を配信しますか');
    expect(confirmHtml).toMatch(/訂正する項目<\/dt><dd>本文<\/dd>/);

    const res = await author.post(`/console/notices/${notice.id}/correct`, { ...fields, _action: 'confirm' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${notice.id}?done=corrected`);
    const revision = await hibiki.deps.store.notices.getRevision(notice.id, 2);
    expect(revision?.body).toBe('市役所前と市民体育館に給水所を開設しました。');
    expect(revision?.department).toBe('水道課');
    const audit = await hibiki.deps.store.audit.list({ limit: 50 });
    const entry = audit.find((e) => e.action === 'notice.correct' && e.target === notice.id);
    expect(entry?.detail).toMatchObject({ revision: 2, changed: ['body'] });

    // The same form sent again makes no third revision.
    const twice = await author.post(`/console/notices/${notice.id}/correct`, { ...fields, _action: 'confirm' });
    expect(twice.status).toBe(303);
    expect(await hibiki.deps.store.notices.getRevision(notice.id, 3)).toBeUndefined();

    // A form that changes nothing says so.
    const page = await author.page(`/console/notices/${notice.id}/correct`);
    const unchanged = await author.post(`/console/notices/${notice.id}/correct`, {
      ...fields,
      body: '市役所前と市民体育館に給水所を開設しました。',
      baseRevision: '2',
      nonce: /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? '',
      _action: 'confirm',
    });
    expect(unchanged.status).toBe(400);
    expect(await unchanged.text()).toContain('変更された項目がありません');
  });

  it("resubmits a returned notice, showing the approver's comment", async () => {
    const created = await author.post('/console/notices', {
      ...noticeFields({ severity: 'emergency', category: '避難情報', title: '高齢者等避難（旭志地区）' }),
      _action: 'submit',
    });
    const id = idFrom(created) ?? '';
    const returner: StaffIdentity = { tokenId: 0, name: '別の承認者', role: 'approver' };
    await createNoticeService(hibiki.deps).returnForChanges(id, '対象地区に「泗水地区」も入れてください', returner);

    const form = await author.page(`/console/notices/${id}/resubmit`);
    expect(form).toContain('対象地区に「泗水地区」も入れてください');
    expect(form).toContain('value="高齢者等避難（旭志地区）"');
    expect(unlabelledControls(form)).toEqual([]);
    const nonce = /name="nonce" value="([^"]+)"/.exec(form)?.[1] ?? '';
    const res = await author.post(`/console/notices/${id}/resubmit`, {
      ...noticeFields({ severity: 'emergency', category: '避難情報', title: '高齢者等避難（旭志地区・泗水地区）' }),
      nonce,
      comment: '泗水地区を加えました',
      _action: 'submit',
    });
    expect(res.status).toBe(303);
    const notice = await hibiki.deps.store.notices.get(id);
    expect(notice?.status).toBe('pending_approval');
    expect((await hibiki.deps.store.notices.getRevision(id, 1))?.title).toBe('高齢者等避難（旭志地区・泗水地区）');
  });

  it('refuses a post or a preview without the CSRF token', async () => {
    const title = `CSRF なし ${Date.now()}`;
    await expectCsrfRefused(author, '/console/notices', { ...noticeFields({ title }), _action: 'confirm' });
    await expectCsrfRefused(author, '/console/notices/preview', noticeFields());
    const all = await hibiki.deps.store.notices.list({ limit: 500 });
    expect(all.some((n) => n.title === title)).toBe(false);
  });

  it('escapes markup typed into the title, in the preview and in the form', async () => {
    const title = '<script>alert("x")</script>';
    const preview = await author.post('/console/notices/preview', noticeFields({ title }), {
      'x-csrf-token': author.csrf ?? '',
    });
    const fragment = await preview.text();
    expect(fragment).not.toContain('<script>');
    expect(fragment).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    const page = await approver.post('/console/notices', { ...noticeFields({ title }), _action: 'preview' });
    const html = await page.text();
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"');
  });
});

describe.skipIf(!HAS_CHROMIUM)(browserSuite('console compose page in Chromium'), () => {
  let hibiki: HttpApp;
  let browser: Browser;

  beforeAll(async () => {
    hibiki = await startHttpApp({ env: CHANNEL_ENV, workers: false });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await hibiki?.close();
  });

  it('previews live while typing, shows the X count by the body, and says when the form will ask for approval', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
    const page = await context.newPage();
    const { problems } = watchProblems(page);
    const { token } = await hibiki.deps.store.tokens.create('ブラウザの作成者', 'author');
    await signInThroughForm(page, hibiki.base, token, '/console/notices/new');

    await page.getByLabel('件名（必須）').fill('大雨による道路の通行止め');
    await page
      .getByLabel('本文（必須）')
      .fill('国道387号の一部区間は、大雨のため通行止めになっています。迂回してください。'.repeat(6));
    const summary = page.locator('#preview-summary');
    await summary.filter({ hasText: 'X:' }).waitFor({ timeout: 20_000 });
    expect(await summary.getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#body-x-count').textContent()).toMatch(/^X: \d+件 \/ \d+(\+\d+)*字$/);
    expect(await page.locator('#pv-x').count()).toBe(1);
    expect(await page.locator('#preview-body .warn').first().textContent()).toContain('長文のため');

    const submit = page.locator('button[data-submit]');
    expect((await submit.textContent())?.trim()).toBe('配信する');
    await page.getByLabel('緊急').check();
    await submit.filter({ hasText: '承認を依頼する' }).waitFor();
    await page.getByLabel('お知らせ').check();
    await submit.filter({ hasText: '配信する' }).waitFor();

    // Nothing on the page is wider than a phone.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
