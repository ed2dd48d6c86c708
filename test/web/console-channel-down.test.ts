import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelStates } from '../../src/queue/channel-state.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
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

/**
 * The banner staff see while a channel's provider is down, in headless Chromium at a phone's
 * and a desktop's width: on the notice list and on a notice's page, gone once it is back.
 * The state is the one the workers write (src/queue/channel-state.ts).
 */
describe.skipIf(!HAS_CHROMIUM)(browserSuite('console banner while a channel is down'), () => {
  let hibiki: HttpApp;
  let browser: Browser;

  beforeAll(async () => {
    hibiki = await startHttpApp({ workers: false, env: { CHANNELS: 'mail,cap' } });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await hibiki?.close();
  });

  it('says mail delivery is down since when, on the notice list and the notice page, without side-scrolling', async () => {
    const states = createChannelStates(hibiki.deps.redis, hibiki.deps.config.queuePrefix);
    await states.markDown(
      'mail',
      'mail: cannot make any of 100 deliveries to SMTP server relay.city.yamaga.example:587 (ECONNREFUSED): check that the server is running and reachable',
      new Date(Date.now() - 12 * 60_000),
    );
    const api = await staffClient(hibiki.deps, 'approver', '防災課 API');
    const id = await postNotice(api, { title: '断水のお知らせ', channels: ['mail'] });
    const { token } = await hibiki.deps.store.tokens.create('防災課 山田', 'author');
    const context = await browser.newContext({ viewport: PHONE, locale: 'ja-JP' });
    const page = await context.newPage();
    const seen = watchProblems(page);
    await signInThroughForm(page, hibiki.base, token, '/console/notices');
    const shots = artifactsDir('console');

    for (const path of ['/console/notices', `/console/notices/${id}`]) {
      await page.goto(`${hibiki.base}${path}`);
      const banner = page.getByRole('alert').filter({ hasText: 'メール配信が停止中です' });
      await expect(banner.isVisible()).resolves.toBe(true);
      const text = ((await banner.textContent()) ?? '').replace(/\s+/g, ' ');
      // Twelve minutes ago may be yesterday in Japan (00:00–00:12 JST): then the date comes first.
      expect(text).toMatch(/メール配信が停止中です（(\d{1,2}月\d{1,2}日 )?\d{1,2}:\d{2} から）/);
      expect(text).toMatch(/E-mail delivery is down since (\d{4}-\d{2}-\d{2} )?\d{1,2}:\d{2} JST/);
      expect(text).toContain('ECONNREFUSED');
      // Above the page's content: the first thing after the heading.
      const afterHeading = await page.evaluate(() =>
        document.querySelector('main h1')?.nextElementSibling?.getAttribute('data-banner'),
      );
      expect(afterHeading).toBe('channel-down');
      expect(await sideScrollAt(page, PHONE)).toBe(0);
      await screenshotAt(page, shots, path === '/console/notices' ? 'channel-down-list' : 'channel-down-notice', [
        PHONE,
        DESKTOP,
      ]);
    }

    await states.clear('mail');
    await page.goto(`${hibiki.base}/console/notices`);
    expect(await page.locator('[data-banner="channel-down"]').count()).toBe(0);
    expect(seen.problems).toEqual([]);
    await context.close();
  }, 60_000);
});
