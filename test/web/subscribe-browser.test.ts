import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { exampleCatalogue, linkIn, type ResidentApp, residentApp } from '../helpers/resident-app.ts';

/**
 * A resident's whole way in and out, in headless Chromium against the real app on a
 * local port, with the confirmation mail caught by a real SMTP server: sign up, confirm
 * from the mail, change topics on the manage page, unsubscribe. On a 360-pixel-wide
 * phone screen, with keyboard focus that can be seen.
 */

describe.skipIf(!HAS_CHROMIUM)(browserSuite('sign-up pages in headless Chromium'), () => {
  let sink: SmtpSink;
  let deps: TestDeps;
  let catalogue: Catalogue;
  let server: ServerType;
  let app: ResidentApp | undefined;
  let browser: Browser;
  let base: string;
  const shots = process.env.HIBIKI_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'hibiki-screens-'));

  beforeAll(async () => {
    sink = await startSmtpSink();
    // The server starts first: the app's links need its port in PUBLIC_BASE_URL.
    server = await new Promise<ServerType>((resolve) => {
      const s = serve(
        {
          fetch: (req, env) => (app ? app.app.fetch(req, env) : new Response('starting', { status: 503 })),
          port: 0,
          hostname: '127.0.0.1',
        },
        () => resolve(s),
      );
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    deps = await createTestDeps({ env: { CHANNELS: 'mail', SMTP_URL: sink.url, PUBLIC_BASE_URL: base } });
    catalogue = await exampleCatalogue(deps);
    app = residentApp(deps, catalogue);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    app?.residents.close();
    await deps?.dispose();
    await sink?.close();
  });

  /** The page fits the phone's width: nothing to scroll sideways. */
  async function expectNoSideScroll(page: Page) {
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(scrollWidth, `${page.url()} is ${scrollWidth}px wide on a ${innerWidth}px screen`).toBeLessThanOrEqual(
      innerWidth,
    );
  }

  /** Presses Tab until the element with this id has focus, then returns its focus outline. */
  async function tabTo(page: Page, id: string): Promise<{ style: string; width: string; colour: string }> {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => document.activeElement?.id ?? '');
      if (focused === id) {
        return page.evaluate(() => {
          const s = getComputedStyle(document.activeElement as Element);
          return { style: s.outlineStyle, width: s.outlineWidth, colour: s.outlineColor };
        });
      }
    }
    throw new Error(`Tab never reached #${id}`);
  }

  it('sign up, confirm from the mail, change topics, unsubscribe — on a 360px screen by keyboard and touch', async () => {
    const context = await browser.newContext({
      viewport: { width: 360, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'ja-JP',
    });
    const page = await context.newPage();
    const failed: string[] = [];
    // Nothing may be loaded from elsewhere, and nothing may fail to load.
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) failed.push(r.url());
    });

    // 1. The sign-up page.
    await page.goto(`${base}/subscribe`);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja');
    await expectNoSideScroll(page);
    // The skip link comes first, then the form; every field shows where the keyboard is.
    const email = await tabTo(page, 'email');
    expect(email.style).toBe('solid');
    expect(email.width).toBe('3px');
    await page.keyboard.type('browser-resident@example.jp');
    const checkbox = await tabTo(page, 'topic-disaster');
    expect(checkbox.style).toBe('solid');
    await page.getByLabel('気象').check();
    await page.getByLabel('避難所').uncheck();
    await page.getByLabel('七城地区').check();
    const button = await tabTo(page, 'send');
    expect(button.style).toBe('solid');
    await page.screenshot({ path: join(shots, 'subscribe-360.png'), fullPage: true });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /お申し込みを受け付けました/ }).waitFor();
    await expectNoSideScroll(page);

    // 2. The confirmation link from the mail: a page with a button; the button confirms.
    const [mail] = await sink.waitFor(1, 15_000);
    expect(mail?.envelope.rcptTo).toEqual(['browser-resident@example.jp']);
    const confirm = linkIn(mail?.parsed.text, 'confirm');
    expect(confirm.url.startsWith(`${base}/subscribe/confirm?t=`)).toBe(true);
    await page.goto(confirm.url);
    await expectNoSideScroll(page);
    await page.getByRole('button', { name: /登録を完了する/ }).click();
    await page.getByRole('heading', { name: /登録が完了しました/ }).waitFor();
    expect(await page.locator('dl.facts').textContent()).toContain('七城地区');
    await page.screenshot({ path: join(shots, 'confirmed-360.png'), fullPage: true });

    // 3. The manage page: change topics and language.
    await page.locator('#manage-link').click();
    await page.getByRole('heading', { name: /登録内容の確認・変更/ }).waitFor();
    await expectNoSideScroll(page);
    expect(await page.getByLabel('気象').isChecked()).toBe(true);
    expect(await page.getByLabel('七城地区').isChecked()).toBe(true);
    await page.getByLabel('防災').uncheck();
    await page.getByLabel('イベント').check();
    await page.getByLabel('English').check();
    await page.getByRole('button', { name: /変更を保存する/ }).click();
    await page.locator('#flash').waitFor();
    expect(await page.locator('#flash').textContent()).toContain('変更を保存しました');
    await page.screenshot({ path: join(shots, 'manage-360.png'), fullPage: true });
    const subscriberId = Number(/t=(\d+)\./.exec(page.url())?.[1]);
    expect(await app?.residents.manage(subscriberId)).toMatchObject({
      topics: ['events', 'weather'],
      areas: ['432105-02'],
      locale: 'en',
      mail: { active: true },
    });

    // 4. Unsubscribe: the link on the manage page, then the button on the unsubscribe page.
    await page.locator('#stop').click();
    await page.getByRole('heading', { name: /メール配信の停止/ }).waitFor();
    await expectNoSideScroll(page);
    await page.getByRole('button', { name: /配信を停止する/ }).click();
    await page.getByRole('heading', { name: /配信を停止しました/ }).waitFor();
    await page.screenshot({ path: join(shots, 'unsubscribed-360.png'), fullPage: true });
    expect((await app?.residents.manage(subscriberId))?.mail?.active).toBe(false);

    expect(failed).toEqual([]);
    await context.close();
  }, 60_000);
});
