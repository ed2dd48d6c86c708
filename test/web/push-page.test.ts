import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { createVapidResolver } from '../../channels/webpush/vapid.ts';
import { createWebPushChannel } from '../../channels/webpush/webpush-channel.ts';
import { createPushRoutes } from '../../src/api/push.ts';
import { type Catalogue, DEFAULT_TOPICS } from '../../src/domain/catalogue.ts';
import { createErrorHandler, notFound, validationHook } from '../../src/http/errors.ts';
import { createPushSubscriptionRepo, type PushSubscriptionRepo } from '../../src/store/push-subscriptions.ts';
import { createPushPageRoutes } from '../../src/web/push-page.tsx';
import { type BrowserSubscription, type PushService, startPushService } from '../fakes/push-service.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';
import { waitUntil } from '../helpers/wait.ts';

/**
 * The push page in a real browser (Debian's Chromium through playwright-core): the page's
 * own script, the real service worker and the real API. Only the browser's push service
 * is replaced: headless Chromium cannot reach Google's, so PushManager.subscribe hands the
 * page a subscription on the local push service; the message that service decrypts is
 * then delivered to the real service worker through the DevTools protocol.
 */

const catalogue: Catalogue = {
  topics: DEFAULT_TOPICS,
  areas: [
    { code: '432105-01', name: '隈府', nameEn: 'Waifu' },
    { code: '432105-02', name: '七城', nameEn: 'Shichijo' },
  ],
};

let deps: TestDeps;
let repo: PushSubscriptionRepo;
let service: PushService;
let server: ReturnType<typeof serve>;
let origin: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let sub: BrowserSubscription;

beforeAll(async () => {
  service = await startPushService();
  const vapid = webpush.generateVAPIDKeys();
  deps = await createTestDeps({ env: { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey } });
  repo = createPushSubscriptionRepo(deps.store.db);
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.onError(createErrorHandler(deps.logger));
  app.notFound(notFound);
  app.route(
    '/',
    createPushRoutes({
      subscriptions: repo,
      catalogue,
      vapidKeys: createVapidResolver(deps.config.webpush, deps.store.settings),
      logger: deps.logger,
      allowedHosts: ['127.0.0.1'],
    }),
  );
  app.route('/', createPushPageRoutes({ catalogue, city: deps.config.city, defaultTopics: ['disaster', 'shelter'] }));
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  sub = service.subscribe({ applicationServerKey: vapid.publicKey });
  browser = await launchChromium();

  // A small phone's screen.
  context = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: 'ja-JP' });
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(
    (s: { endpoint: string; p256dh: string; auth: string }) => {
      const w = window as unknown as Record<string, unknown>;
      w.__permissionAsks = 0;
      const ask = Notification.requestPermission.bind(Notification);
      Notification.requestPermission = ((...args: Parameters<typeof Notification.requestPermission>) => {
        (w.__permissionAsks as number)++;
        return ask(...args);
      }) as typeof Notification.requestPermission;
      const b64 = (bytes: ArrayBuffer) =>
        btoa(String.fromCharCode(...new Uint8Array(bytes)))
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
          .replace(/=+$/, '');
      const unb64 = (text: string) =>
        Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
      // Kept in localStorage, as the browser keeps a subscription across visits.
      const STORED = 'fake-push-subscription-key';
      const make = (key: string) => ({
        endpoint: s.endpoint,
        expirationTime: null,
        options: { applicationServerKey: unb64(key), userVisibleOnly: true },
        toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } }),
        unsubscribe: async () => {
          localStorage.removeItem(STORED);
          return true;
        },
      });
      PushManager.prototype.subscribe = async (options: PushSubscriptionOptionsInit = {}) => {
        const key = b64((options.applicationServerKey as Uint8Array).buffer as ArrayBuffer);
        w.__subscribedWith = { key, userVisibleOnly: options.userVisibleOnly };
        localStorage.setItem(STORED, key);
        return make(key) as unknown as PushSubscription;
      };
      PushManager.prototype.getSubscription = async () => {
        const key = localStorage.getItem(STORED);
        return key ? (make(key) as unknown as PushSubscription) : null;
      };
    },
    { endpoint: sub.endpoint, ...sub.keys },
  );
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await service?.close();
  await deps?.dispose();
});

const statusText = () => page.locator('#status').textContent();

describe.skipIf(!HAS_CHROMIUM)(browserSuite('push page in Chromium'), () => {
  it('fits a small phone screen, asks nothing before the button is pressed, and shows a visible focus', async () => {
    await page.goto(`${origin}/push`);
    await expect.poll(() => page.locator('#subscribe').isVisible()).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { __permissionAsks: number }).__permissionAsks)).toBe(0);
    expect(await page.evaluate(() => navigator.serviceWorker.getRegistration('/'))).toBeUndefined();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    expect(await page.getByRole('button', { name: '通知を受け取る / Get notifications' }).count()).toBe(1);
    // Labels name the checkboxes (what a screen reader reads out).
    expect(await page.getByRole('checkbox', { name: /気象\s*Weather/ }).isChecked()).toBe(false);
    expect(await page.getByRole('checkbox', { name: /防災\s*Disaster prevention/ }).isChecked()).toBe(true);
    // Tab from the page's start reaches a checkbox with the focus ring drawn.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type === 'checkbox')) break;
    }
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).toBe('solid');
  });

  it('subscribes when pressed: permission, service worker, subscription with the VAPID key, and the chosen topics stored', async () => {
    await page.getByRole('checkbox', { name: /防災/ }).uncheck();
    await page.getByRole('checkbox', { name: /避難所/ }).uncheck();
    await page.getByRole('checkbox', { name: /気象/ }).check();
    await page.getByRole('checkbox', { name: /七城/ }).check();
    await page.getByRole('button', { name: '通知を受け取る / Get notifications' }).click();
    await expect.poll(statusText, { timeout: 15_000 }).toContain('登録しました');

    expect(await page.evaluate(() => (window as unknown as { __permissionAsks: number }).__permissionAsks)).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { __subscribedWith: unknown }).__subscribedWith)).toEqual({
      key: deps.config.webpush.vapid?.publicKey,
      userVisibleOnly: true,
    });
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/'))?.scope)).toBe(
      `${origin}/`,
    );
    expect(await repo.choices(sub.endpoint)).toMatchObject({
      active: true,
      topics: ['weather'],
      areas: ['432105-02'],
      locale: 'ja',
    });
    expect(await page.getByRole('button', { name: /通知を止める/ }).isVisible()).toBe(true);
  });

  it('the service worker shows what the push service decrypted, with its title, body and tag', async () => {
    const vapid = deps.config.webpush.vapid;
    if (!vapid) throw new Error('VAPID keys are set in beforeAll');
    const channel = createWebPushChannel(
      {
        vapid,
        subject: 'mailto:bousai@city.example.jp',
        ttlSeconds: 600,
        agent: service.agent(),
        allowedHosts: ['127.0.0.1'],
        allow: ['127.0.0.1/32'],
      },
      { logger: deps.logger, keysOf: repo.keysOf },
    );
    const contactId = (await repo.choices(sub.endpoint))?.contactId ?? 0;
    const notice = makeNoticeView({
      severity: 'emergency',
      title: '菊池川流域に避難指示',
      body: '直ちに避難してください。',
    });
    const [result] = await channel.send(
      channel.render(notice, 'ja'),
      [{ deliveryId: 1, contactId, address: sub.endpoint, locale: 'ja' }],
      {
        deliveryKey: 'browser-test',
        attempt: 1,
        signal: new AbortController().signal,
        notice,
      },
    );
    await channel.close?.();
    expect(result?.status).toBe('sent');
    const message = service.messagesFor(sub.endpoint)[0];
    if (!message) throw new Error('the push service got no message');

    // A push delivered before the worker is active is dropped: on a loaded machine it may still be installing.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    const cdp = await context.newCDPSession(page);
    const registrationId = new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
        const reg = event.registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted);
        if (reg) resolve(reg.registrationId);
      });
    });
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: await registrationId,
      data: message.text,
    });

    const shown = await waitUntil('the notification to be shown', async () => {
      const list = await page.evaluate(async () => {
        const reg = await navigator.serviceWorker.getRegistration('/');
        const notes = (await reg?.getNotifications()) ?? [];
        return notes.map((n) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
          data: n.data,
          icon: n.icon,
          lang: n.lang,
        }));
      });
      return list.length > 0 ? list : undefined;
    });
    expect(shown).toEqual([
      {
        title: '【緊急】菊池川流域に避難指示',
        body: '直ちに避難してください。',
        tag: `hibiki-${notice.id}`,
        data: { url: notice.pageUrl },
        icon: 'https://hibiki.example.jp/push/icon-192.png',
        lang: 'ja',
      },
    ]);
    await cdp.detach();
  });

  it('a returning visit shows the stored choices; stop deletes the subscription', async () => {
    await page.reload();
    await expect.poll(statusText, { timeout: 10_000 }).toContain('この端末は通知を受け取る設定になっています');
    expect(await page.getByRole('checkbox', { name: /気象/ }).isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: /防災/ }).isChecked()).toBe(false);
    expect(await page.getByRole('checkbox', { name: /七城/ }).isChecked()).toBe(true);
    await page.getByRole('button', { name: /通知を止める/ }).click();
    await expect.poll(statusText, { timeout: 10_000 }).toContain('通知を止めました');
    expect(await repo.choices(sub.endpoint)).toBeUndefined();
    expect(await page.getByRole('button', { name: /通知を止める/ }).isVisible()).toBe(false);
  });
});
