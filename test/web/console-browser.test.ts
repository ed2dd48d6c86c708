import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { postNotice, type StaffClient, staffClient } from '../helpers/api.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import {
  artifactsDir,
  DESKTOP,
  PHONE,
  screenshotAt,
  sideScrollAt,
  signInThroughForm,
  watchProblems,
} from '../helpers/console-browser.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';

/**
 * The staff console end to end in headless Chromium: the real app over real HTTP with the
 * workers in-process, real Redis, a SQLite store, a real SMTP server and the X fake.
 * Sign in, compose with the live preview, confirm and watch the bars fill over SSE;
 * an emergency through approval in a second browser; a failed delivery retried; a
 * cancellation as residents see it; and the refusals (CSRF, roles).
 */

const X_TOKEN = 'console-browser-oauth2-token';
const SUBSCRIBERS = 20;

describe.skipIf(!HAS_CHROMIUM)(browserSuite('staff console in headless Chromium'), () => {
  let sink: SmtpSink;
  let x: XFake;
  let hibiki: HttpApp;
  let browser: Browser;
  let api: StaffClient;
  const contexts: BrowserContext[] = [];
  const residents = residentEmails(SUBSCRIBERS);
  const shots = artifactsDir('console');

  beforeAll(async () => {
    [sink, x] = await Promise.all([startSmtpSink(), startXFake({ oauth2Token: X_TOKEN })]);
    hibiki = await startHttpApp({
      env: {
        CHANNELS: 'mail,cap,x',
        SMTP_URL: sink.url,
        X_API_BASE_URL: x.url,
        X_OAUTH2_TOKEN: X_TOKEN,
        // Two attempts, so a recipient that keeps refusing ends failed within the test.
        DELIVERY_ATTEMPTS: '2',
        MAIL_CONNECTIONS: '2',
      },
    });
    await seedMailSubscribers(hibiki.deps, residents);
    api = await staffClient(hibiki.deps, 'approver', '防災課 API');
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    sink.reset();
    // A test that failed half-way must not leave the next one without workers.
    for (const w of hibiki.workers?.workers ?? []) w.resume();
  });

  afterAll(async () => {
    await browser?.close();
    await hibiki?.close();
    await Promise.all([sink?.close(), x?.close()]);
  });

  /** A new browser (its own cookies) at desktop size, Japanese. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' });
    contexts.push(context);
    return context.newPage();
  }

  const token = async (role: 'author' | 'approver' | 'admin', name: string) =>
    (await hibiki.deps.store.tokens.create(name, role)).token;

  const mailsTitled = (title: string) => sink.messages.filter((m) => m.parsed.subject?.includes(title));

  const noticeIdOf = (page: Page) => /\/console\/notices\/(n[0-9a-z]{20})$/.exec(new URL(page.url()).pathname)?.[1];

  /** A channel's bar as the page shows it now. */
  const bar = (page: Page, channel: string) =>
    page
      .locator(`[data-channel="${channel}"] progress`)
      .evaluate((el: HTMLProgressElement) => ({ value: el.value, max: el.max }));

  /** Waits, without reloading, until the mail bar shows every subscriber done and every other bar is full. */
  async function barsFull(page: Page, mailRows: number) {
    await page.waitForFunction(
      (rows) => {
        const bars = Array.from(document.querySelectorAll<HTMLProgressElement>('#progress progress'));
        const mail = document.querySelector<HTMLProgressElement>('[data-channel="mail"] progress');
        return mail?.max === rows && bars.length > 0 && bars.every((b) => b.value === b.max);
      },
      mailRows,
      { timeout: 20_000 },
    );
  }

  it('signs in, previews as staff type (the X count changes), confirms, and fills the bars over SSE as mails arrive', async () => {
    const page = await newPage();
    const { problems } = watchProblems(page);
    await signInThroughForm(page, hibiki.base, await token('author', '広報課 山田'), '/console/notices/new');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('通知を作成する');

    const title = '市民体育館の避難所を開設しました';
    await page.getByLabel('件名（必須）').fill(title);
    const body = page.getByLabel('本文（必須）');
    const xCount = page.locator('#body-x-count');
    await body.fill('本日18時から市民体育館を避難所として開設します。');
    await xCount.filter({ hasText: /^X: \d+件 \/ [\d+]+字$/ }).waitFor();
    const shorter = await xCount.textContent();
    await body.pressSequentially('毛布と飲料水を用意しています。お近くの方はご利用ください。');
    await xCount.filter({ hasNotText: shorter ?? '' }).waitFor();
    const longer = await xCount.textContent();
    expect(longer).toMatch(/^X: \d+件 \/ [\d+]+字$/);
    expect(longer).not.toBe(shorter);
    // The preview shows every channel the notice goes to, from the channels' own rendering.
    for (const channel of ['mail', 'cap', 'x']) await page.locator(`#pv-${channel}`).waitFor();
    expect(await page.locator('#preview-body').textContent()).toContain(title);
    await page.getByLabel('発表課').fill('危機管理防災課');
    await screenshotAt(page, shots, 'console-compose-previews');
    expect(await sideScrollAt(page, PHONE)).toBeLessThanOrEqual(0);

    // The confirmation page says what goes where; only its button sends.
    await page.locator('button[data-submit]').click();
    await page.getByRole('heading', { level: 1, name: /この内容で配信しますか/ }).waitFor();
    expect(await page.locator('dl.facts').textContent()).toContain(`${SUBSCRIBERS}件の宛先`);
    expect(mailsTitled(title)).toHaveLength(0);

    // The workers wait until the page is open and listening, so the bars have to move while it is.
    await Promise.all(hibiki.workers?.workers.map((w) => w.pause()) ?? []);
    const streams: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'eventsource') streams.push(new URL(r.url()).pathname);
    });
    const listening = page.waitForResponse((r) => r.url().endsWith('/events') && r.status() === 200);
    await page.getByRole('button', { name: '配信する', exact: true }).click();
    await page.waitForURL((url) => /^\/console\/notices\/n[0-9a-z]{20}$/.test(url.pathname));
    const id = noticeIdOf(page);
    await listening;
    const before = await bar(page, 'mail');
    expect(before.value).toBeLessThan(before.max);
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });

    // Slow enough that a screenshot catches it half-way (usually); the assertions do not depend on it.
    sink.setDelay(150);
    for (const w of hibiki.workers?.workers ?? []) w.resume();
    await page.waitForFunction(
      () => (document.querySelector<HTMLProgressElement>('[data-channel="mail"] progress')?.value ?? 0) > 0,
      undefined,
      { timeout: 20_000 },
    );
    await screenshotAt(page, shots, 'console-detail-sending');
    sink.setDelay(0);

    await barsFull(page, SUBSCRIBERS);
    expect(await bar(page, 'mail')).toEqual({ value: SUBSCRIBERS, max: SUBSCRIBERS });
    await sink.waitFor(SUBSCRIBERS);
    expect(
      mailsTitled(title)
        .map((m) => m.envelope.rcptTo[0])
        .sort(),
    ).toEqual(residents);
    expect(x.posts.filter((p) => p.text.includes(title))).toHaveLength(1);
    await page.locator('[data-field="status"] .status').filter({ hasText: '完了' }).waitFor();
    expect(await page.locator('[data-channel="mail"] [data-field="counts"]').textContent()).toContain(
      `送信済み ${SUBSCRIBERS} / 失敗 0 / 待機 0 / 合計 ${SUBSCRIBERS}`,
    );
    // The revision history's totals follow too (mail, the CAP message and the X post), without a reload.
    expect(await page.locator('[data-field="revision-totals"]').textContent()).toBe(
      `${SUBSCRIBERS + 2} / 0 / ${SUBSCRIBERS + 2}`,
    );
    // Live over the page's own event stream, not by reloading it.
    expect(streams.length).toBeGreaterThan(0);
    expect(new Set(streams)).toEqual(new Set([`/console/notices/${id}/events`]));
    expect(navigations).toBe(0);
    await screenshotAt(page, shots, 'console-detail-done');
    expect(await sideScrollAt(page, PHONE)).toBeLessThanOrEqual(0);
    expect(problems).toEqual([]);
  }, 40_000);

  it('an author’s emergency waits for approval; an approver in another browser approves it and it is sent', async () => {
    const authorPage = await newPage();
    const authorProblems = watchProblems(authorPage).problems;
    await signInThroughForm(authorPage, hibiki.base, await token('author', '防災課 佐藤'), '/console/notices/new');
    const title = '菊池川の氾濫のおそれ（緊急）';
    await authorPage.getByLabel('件名（必須）').fill(title);
    await authorPage
      .getByLabel('本文（必須）')
      .fill('菊池川が氾濫するおそれがあります。川の近くの方は直ちに避難してください。');
    await authorPage.getByLabel('緊急').check();
    await authorPage.getByLabel('分類（必須）').selectOption('避難情報');
    const submit = authorPage.locator('button[data-submit]');
    await submit.filter({ hasText: '承認を依頼する' }).waitFor();
    await submit.click();
    await authorPage.waitForURL((url) => /^\/console\/notices\/n[0-9a-z]{20}$/.test(url.pathname));
    const id = noticeIdOf(authorPage);
    expect(await authorPage.locator('[data-field="status"] .status').textContent()).toBe('承認待ち');
    expect(await authorPage.getByRole('heading', { name: /承認待ち/ }).count()).toBe(1);
    // An author gets no approve button on their own emergency.
    expect(await authorPage.getByRole('button', { name: /承認/ }).count()).toBe(0);

    const approverPage = await newPage();
    const approverProblems = watchProblems(approverPage).problems;
    await signInThroughForm(approverPage, hibiki.base, await token('approver', '防災課長 中村'), '/console/approvals');
    const row = approverPage.getByRole('row').filter({ hasText: title });
    expect(await row.textContent()).toContain('防災課 佐藤');
    await row.getByRole('link').click();
    await approverPage.waitForURL((url) => url.pathname === `/console/notices/${id}`);
    await approverPage.getByLabel('コメント（任意）').fill('内容を確認しました。');
    await approverPage.getByRole('button', { name: '承認して配信' }).click();
    await approverPage.locator('.flash[role="status"]').filter({ hasText: '承認しました' }).waitFor();

    await barsFull(approverPage, SUBSCRIBERS);
    await sink.waitFor(SUBSCRIBERS);
    expect(mailsTitled(title)).toHaveLength(SUBSCRIBERS);
    await approverPage.getByRole('heading', { name: '承認の経過' }).waitFor();
    expect(await approverPage.locator('ol.steps').textContent()).toMatch(
      /申請[\s\S]*防災課 佐藤[\s\S]*承認[\s\S]*防災課長 中村/,
    );
    // The approvals queue is empty again.
    await approverPage.goto(`${hibiki.base}/console/approvals`);
    expect(await approverPage.getByText('承認待ちの通知はありません。').count()).toBe(1);
    expect([...authorProblems, ...approverProblems]).toEqual([]);
  }, 30_000);

  it('an author’s correction of a sent emergency waits for approval; the approver reads it in full and sends it', async () => {
    const title = '避難指示（鹿本地区）';
    const id = await postNotice(api, { title, severity: 'emergency', category: '避難情報', channels: ['mail', 'cap'] });
    await waitForDeliveries(hibiki.deps, id, SUBSCRIBERS + 1);
    sink.reset();

    const authorPage = await newPage();
    const authorProblems = watchProblems(authorPage).problems;
    await signInThroughForm(
      authorPage,
      hibiki.base,
      await token('author', '鹿本支所 田中'),
      `/console/notices/${id}/correct`,
    );
    const body = '避難所を鹿本中学校体育館に変更します。';
    await authorPage.getByLabel('本文（必須）').fill(body);
    await authorPage.locator('button[data-submit]').click();
    await authorPage.getByRole('button', { name: /訂正を配信/ }).click();
    await authorPage.waitForURL((url) => url.pathname === `/console/notices/${id}`);
    await authorPage.getByText('承認されるまで誰にも配信しません').waitFor();
    expect(await authorPage.getByRole('heading', { name: /訂正（第2版）の承認待ち/ }).count()).toBe(1);
    expect(mailsTitled(title)).toHaveLength(0);

    const approverPage = await newPage();
    const approverProblems = watchProblems(approverPage).problems;
    await signInThroughForm(approverPage, hibiki.base, await token('approver', '防災課長 山本'), '/console/approvals');
    await approverPage.getByRole('row').filter({ hasText: title }).getByRole('link').click();
    await approverPage.waitForURL((url) => url.pathname === `/console/notices/${id}`);
    expect(await approverPage.locator('section.flash.warn').textContent()).toContain(body);
    await screenshotAt(approverPage, shots, 'console-proposal');
    expect(await sideScrollAt(approverPage, PHONE)).toBeLessThanOrEqual(0);
    await approverPage.getByRole('button', { name: '承認して配信' }).click();
    await approverPage.locator('.flash[role="status"]').filter({ hasText: '承認しました' }).waitFor();
    await sink.waitFor(SUBSCRIBERS);
    expect(mailsTitled(title).every((m) => m.parsed.subject?.includes('訂正'))).toBe(true);
    expect([...authorProblems, ...approverProblems]).toEqual([]);
  }, 30_000);

  it('shows a failed delivery with its reason, and 失敗分を再送 sends it once the mailbox accepts again', async () => {
    const refusing = residents[3] as string;
    sink.rejectRecipient(refusing, 450, '4.2.1 Mailbox temporarily unavailable');
    const title = '水道の断水のお知らせ';
    const id = await postNotice(api, { title, channels: ['mail'] });
    expect(await waitForDeliveries(hibiki.deps, id, SUBSCRIBERS)).toMatchObject({
      sent: SUBSCRIBERS - 1,
      failed: 1,
    });

    const page = await newPage();
    const { problems } = watchProblems(page);
    await signInThroughForm(page, hibiki.base, await token('author', '水道課 木村'), `/console/notices/${id}`);
    expect(await page.locator('[data-field="status"] .status').textContent()).toBe('一部失敗');
    const failed = page.getByRole('table', { name: /配信に失敗したもの/ });
    const cells = await failed.locator('tbody tr').first().locator('td').allTextContents();
    expect(cells[0]).toBe('メール');
    expect(cells[2]).toBe('2');
    expect(cells[3]).toMatch(/450 4\.2\.1 Mailbox temporarily unavailable/);
    // The reason names no address: staff see the contact's number, logs and pages no e-mail.
    expect(await page.locator('main').textContent()).not.toContain(refusing);

    sink.acceptRecipient(refusing);
    await page.getByRole('button', { name: /失敗分を再送（1件）/ }).click();
    await page.locator('.flash[role="status"]').filter({ hasText: '失敗した 1 件をもう一度送ります。' }).waitFor();
    await page
      .locator('[data-channel="mail"] [data-field="counts"]')
      .filter({ hasText: `送信済み ${SUBSCRIBERS} / 失敗 0 / 待機 0 / 合計 ${SUBSCRIBERS}` })
      .waitFor({ timeout: 20_000 });
    expect(mailsTitled(title).map((m) => m.envelope.rcptTo[0])).toContain(refusing);
    expect(tally(await hibiki.deps.store.deliveries.counts(id))).toMatchObject({ sent: SUBSCRIBERS, failed: 0 });
    await page.reload();
    expect(await page.locator('[data-field="status"] .status').textContent()).toBe('完了');
    expect(await page.getByRole('table', { name: /配信に失敗したもの/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /失敗分を再送/ }).count()).toBe(0);
    expect(problems).toEqual([]);
  }, 30_000);

  it('cancels a notice after the confirmation step; the public page says so at the top and the list drops it', async () => {
    const title = '市民まつりの開催について';
    const id = await postNotice(api, { title, channels: ['mail'] });
    await waitForDeliveries(hibiki.deps, id, SUBSCRIBERS);

    const resident = await newPage();
    await resident.goto(`${hibiki.base}/notices/${id}`);
    expect(await resident.locator('h1').textContent()).toBe(title);
    expect(await resident.locator('.banner.cancel').count()).toBe(0);
    const list = await newPage();
    await list.goto(`${hibiki.base}/notices`);
    const active = list.locator('section[aria-labelledby="active"]');
    expect(await active.getByRole('link', { name: title }).count()).toBe(1);

    const page = await newPage();
    const { problems } = watchProblems(page);
    await signInThroughForm(page, hibiki.base, await token('author', '観光課 高橋'), `/console/notices/${id}`);
    await page.getByRole('link', { name: /取消/ }).click();
    await page.getByRole('heading', { level: 1, name: /通知を取り消しますか/ }).waitFor();
    await page.getByLabel('取消の理由（任意）').fill('台風の接近により中止します。');
    await page.getByLabel('この通知を取り消すことを確認しました').check();
    await page.getByRole('button', { name: /取り消す/ }).click();
    await page.waitForURL((url) => url.pathname === `/console/notices/${id}` && url.search === '?done=cancelled');
    expect(await page.locator('[data-field="status"] .status').textContent()).toBe('取消');
    await waitUntil('the cancellation mails', () => mailsTitled(`【取消】${title}`).length === SUBSCRIBERS);

    // A reload asks again (the page is cacheable for 30 s; its ETag changed).
    await resident.reload();
    const banner = resident.locator('main .banner.cancel');
    expect(await banner.textContent()).toContain('取り消されました');
    expect(await banner.textContent()).toContain('台風の接近により中止します。');
    // The banner comes before the notice's heading.
    expect(
      await resident.evaluate(() => {
        const b = document.querySelector('.banner.cancel');
        const h = document.querySelector('h1');
        return Boolean(b && h && b.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING);
      }),
    ).toBe(true);
    expect(await resident.locator('h1').textContent()).toBe(`【取消】${title}`);
    await list.reload();
    expect(await active.getByRole('link', { name: title }).count()).toBe(0);
    expect(await list.locator('section[aria-labelledby="ended"]').textContent()).toContain(title);
    expect(problems).toEqual([]);
  }, 30_000);

  it('refuses a form without its CSRF token (403, nothing done), and an author on the token and queue pages', async () => {
    const id = await postNotice(api, { title: 'CSRFの確認用', channels: ['cap'] });
    const page = await newPage();
    await signInThroughForm(page, hibiki.base, await token('author', '総務課 伊藤'), `/console/notices/${id}/cancel`);

    // The real form, with its hidden token taken out.
    await page.getByLabel('この通知を取り消すことを確認しました').check();
    expect(await page.locator('form[action$="/cancel"] input[name="_csrf"]').count()).toBe(1);
    await page.evaluate(() => document.querySelector('form[action$="/cancel"] input[name="_csrf"]')?.remove());
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/console/notices/${id}/cancel`) && r.request().method() === 'POST'),
      page.getByRole('button', { name: /取り消す/ }).click(),
    ]);
    expect(refused.status()).toBe(403);
    await page.getByRole('heading', { level: 1, name: '操作を確認できませんでした' }).waitFor();

    // The same post from outside the page: the session cookie alone is not enough.
    const direct = await page.request.post(`${hibiki.base}/console/notices/${id}/cancel`, {
      form: { confirm: 'yes', reason: '' },
      maxRedirects: 0,
    });
    expect(direct.status()).toBe(403);
    expect((await hibiki.deps.store.notices.get(id))?.status).not.toBe('cancelled');
    expect(await hibiki.deps.store.notices.revisions(id)).toHaveLength(1);

    for (const path of ['/console/tokens', '/console/queues']) {
      const res = await page.goto(`${hibiki.base}${path}`);
      expect(res?.status(), path).toBe(403);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('権限がありません');
    }
    // Nor does the navigation offer them.
    const nav = page.getByRole('navigation', { name: '管理画面メニュー' });
    expect(await nav.getByRole('link', { name: 'トークン管理' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'キュー' }).count()).toBe(0);
  });
});
