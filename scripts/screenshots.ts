import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { lineUserId } from '../test/channels/harness/line.ts';
import { startLineFake } from '../test/fakes/line-api.ts';
import { startSmtpSink } from '../test/fakes/smtp-sink.ts';
import { startXFake } from '../test/fakes/x-api.ts';
import { postNotice, type StaffClient, staffClient } from '../test/helpers/api.ts';
import { CHROMIUM, HAS_CHROMIUM, launchChromium } from '../test/helpers/chromium.ts';
import { DESKTOP, PHONE, signInThroughForm } from '../test/helpers/console-browser.ts';
import { startHttpApp } from '../test/helpers/http-app.ts';
import { EXAMPLE_CATALOGUE } from '../test/helpers/resident-app.ts';
import { residentEmails, seedMailSubscribers, tally } from '../test/helpers/seed.ts';
import { waitUntil } from '../test/helpers/wait.ts';

/**
 * `npm run screenshots`: the README's pictures, made again from scratch. Starts Hibiki as
 * the tests do (a temporary SQLite store, its own Redis prefix, the workers in-process, a
 * local SMTP server and the X and LINE fakes), fills it with a day's worth of demo notices,
 * and photographs the console and the public pages in headless Chromium into
 * docs/screenshots/. Needs Redis at REDIS_URL (TEST_REDIS_URL) and /usr/bin/chromium.
 * Times and ids differ on every run; the pages are the same.
 */

const OUT = process.env.SCREENSHOT_DIR ?? fileURLToPath(new URL('../docs/screenshots', import.meta.url));
const X_TOKEN = 'screenshots-oauth2-token';
/** Enough recipients that the progress bars are caught half-way. */
const RESIDENTS = 150;
const LINE_FRIENDS = 40;

if (!HAS_CHROMIUM) {
  console.error(`${CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk`);
  process.exit(1);
}
// Chromium's own language (the date fields' 年/月/日; needs Debian's chromium-l10n) comes from the environment.
process.env.LANG = 'ja_JP.UTF-8';
process.env.LANGUAGE = 'ja';
mkdirSync(OUT, { recursive: true });

const friends = Array.from({ length: LINE_FRIENDS }, (_, i) => lineUserId(i));
const [sink, x, line] = await Promise.all([
  startSmtpSink({ record: 'count' }),
  startXFake({ oauth2Token: X_TOKEN }),
  startLineFake({ friends }),
]);
const hibiki = await startHttpApp({
  env: {
    CHANNELS: 'mail,cap,x,line',
    SMTP_URL: sink.url,
    X_API_BASE_URL: x.url,
    X_OAUTH2_TOKEN: X_TOKEN,
    LINE_CHANNEL_ACCESS_TOKEN: line.token,
    LINE_CHANNEL_SECRET: 'screenshots-line-secret',
    LINE_API_BASE_URL: line.baseUrl,
    CATALOGUE_FILE: EXAMPLE_CATALOGUE,
    MAIL_CONNECTIONS: '1',
  },
});
const browser = await launchChromium();

/** The whole page, or its top `height` pixels (a long page's first screens). */
async function shoot(page: Page, name: string, options: { fullPage?: boolean; height?: number } = {}) {
  const path = join(OUT, `${name}.png`);
  const width = page.viewportSize()?.width ?? DESKTOP.width;
  await page.screenshot({
    path,
    fullPage: options.fullPage ?? true,
    ...(options.height ? { clip: { x: 0, y: 0, width, height: options.height } } : {}),
  });
  console.log(`  ${path}`);
}

/** Waits until the notice's current revision has delivery rows and none of them is still queued. */
async function sent(id: string) {
  const { deps } = hibiki;
  await waitUntil(`${id} to be sent`, async () => {
    const current = (await deps.store.notices.get(id))?.currentRevision;
    const counts = (await deps.store.deliveries.counts(id)).filter((c) => c.revision === current);
    const t = tally(counts);
    return t.sent + t.failed + t.skipped > 0 && t.queued === 0;
  });
}

/** The day's notices, through the staff API as a city's systems would post them. */
async function seedNotices(approver: StaffClient, author: StaffClient) {
  const { deps } = hibiki;
  await seedMailSubscribers(deps, residentEmails(RESIDENTS), ['disaster', 'weather', 'shelter', 'government']);
  // Friends of the city's LINE account, with LINE's default topics (防災, 避難所).
  for (const id of friends) await deps.store.lineContacts.follow(id, deps.config.line.defaultTopics);
  const channels = ['mail', 'cap', 'x', 'line'];
  const posted: string[] = [];
  posted.push(
    await postNotice(approver, {
      title: '粗大ごみの収集日の変更について',
      body: '12月の粗大ごみの収集日を、第2水曜日から第3水曜日に変更します。申し込みは前の週の金曜日までにお願いします。',
      severity: 'info',
      category: 'お知らせ',
      topics: ['government'],
      department: '環境衛生課',
      channels,
    }),
  );
  const rain = await postNotice(approver, {
    title: '大雨警報の発表に伴う注意のお願い',
    body: '熊本地方気象台は菊池市に大雨警報を発表しました。川や用水路に近づかず、土砂災害に警戒してください。',
    severity: 'warning',
    category: '気象情報',
    topics: ['weather', 'disaster'],
    department: '危機管理防災課',
    channels,
  });
  posted.push(rain);
  const festival = await postNotice(approver, {
    title: '菊池川河川敷の秋まつりについて',
    body: '11月30日（日）に予定していた秋まつりを開催します。会場は菊池川河川敷公園です。',
    severity: 'info',
    category: 'イベント情報',
    topics: ['events'],
    department: '観光振興課',
    channels: ['mail', 'cap'],
  });
  posted.push(festival);
  posted.push(
    await postNotice(approver, {
      title: '七城地区で避難所を開設しました',
      body: '大雨に備え、七城公民館を避難所として開設しました。毛布と飲料水を用意しています。ペットを連れての避難もできます。',
      severity: 'advisory',
      category: '避難所情報',
      topics: ['shelter'],
      areas: ['432105-02'],
      department: '危機管理防災課',
      channels,
    }),
  );
  // Sent in full before the correction and the cancellation, which would otherwise overtake them.
  for (const id of posted) await sent(id);
  // A correction: the public page says what changed.
  const corrected = await approver.post(`/v1/notices/${rain}/revisions`, {
    body: '熊本地方気象台は菊池市に大雨警報（土砂災害）を発表しました。川や用水路に近づかず、がけの近くの方は早めに避難してください。',
  });
  if (corrected.status !== 202) throw new Error(`correction answered ${corrected.status}: ${await corrected.text()}`);
  // A cancellation: the notice leaves the list of active notices.
  const cancelled = await approver.post(`/v1/notices/${festival}/cancel`, {
    reason: '大雨警報の発表のため、秋まつりは中止します。',
  });
  if (cancelled.status !== 202) throw new Error(`cancellation answered ${cancelled.status}: ${await cancelled.text()}`);
  await sent(rain);
  await sent(festival);
  // An author's emergency, waiting for an approver.
  await postNotice(author, {
    title: '【警戒レベル4】避難指示 発令（菊池地区、旭志地区）',
    body: '菊池地区、旭志地区に土砂災害に関する【警戒レベル4】避難指示を発令しました。\n\n危険な場所から全員避難してください。',
    severity: 'emergency',
    category: '避難情報',
    topics: ['disaster', 'shelter'],
    areas: ['432105-01', '432105-03'],
    department: '危機管理防災課',
    requestApproval: true,
    channels,
  });
  return { rain };
}

try {
  const approver = await staffClient(hibiki.deps, 'approver', '危機管理防災課 山田');
  const author = await staffClient(hibiki.deps, 'author', '危機管理防災課 佐藤');
  const { rain } = await seedNotices(approver, author);
  console.log(`writing to ${OUT}`);

  const context = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' });
  const page = await context.newPage();
  await page.goto(`${hibiki.base}/console/login`);
  await page.getByLabel('トークン').fill('hbk_••••••••••••••••');
  await shoot(page, 'console-sign-in', { fullPage: false });

  const { token } = await hibiki.deps.store.tokens.create('広報課 高橋', 'approver');
  await page.getByLabel('トークン').fill('');
  await signInThroughForm(page, hibiki.base, token, '/console/notices');
  await shoot(page, 'console-notices');

  await page.goto(`${hibiki.base}/console/notices/new`);
  await page.getByLabel('件名（必須）').fill('市民体育館を避難所として開設しました');
  await page
    .getByLabel('本文（必須）')
    .fill(
      '本日18時から、市民体育館（菊池市隈府）を避難所として開設しました。毛布、飲料水、非常食を用意しています。\n\n避難の際は、お薬手帳と常備薬、携帯電話の充電器をお持ちください。車での避難は渋滞のおそれがあるため、できるだけ徒歩でお越しください。ペットはケージに入れてお連れください。',
    );
  await page.getByLabel('警戒').check();
  await page.getByLabel('分類（必須）').selectOption('避難所情報');
  await page.getByLabel('避難所').check();
  await page.getByLabel('菊池地区').check();
  await page.getByLabel('発表課').fill('危機管理防災課');
  // compose.js asks once, 400 ms after the last keystroke: that answer is the preview of the whole form.
  const last = await page.waitForRequest((r) => r.url().endsWith('/console/notices/preview'));
  await last.response();
  await page.locator('#preview-summary').filter({ hasText: 'X:' }).waitFor();
  await page.locator('#pv-line').waitFor();
  await shoot(page, 'console-compose', { height: 1500 });
  await page.locator('section.preview', { has: page.locator('#pv-x') }).screenshot({
    path: join(OUT, 'console-preview-x.png'),
  });
  console.log(`  ${join(OUT, 'console-preview-x.png')}`);

  await page.locator('button[data-submit]').click();
  await page.getByRole('heading', { level: 1, name: /この内容で配信しますか/ }).waitFor();
  // Slow the mail server so that the page is seen while the bars move.
  sink.setDelay(40);
  await page.getByRole('button', { name: '配信する', exact: true }).click();
  await page.waitForURL((url) => /^\/console\/notices\/n[0-9a-z]{20}$/.test(url.pathname));
  await page.waitForFunction(
    (half) => (document.querySelector<HTMLProgressElement>('[data-channel="mail"] progress')?.value ?? 0) >= half,
    RESIDENTS * 0.3,
    { timeout: 60_000 },
  );
  await shoot(page, 'console-notice-progress');
  sink.setDelay(0);

  await page.goto(`${hibiki.base}/console/approvals`);
  await shoot(page, 'console-approvals');
  await page.getByRole('row').filter({ hasText: '避難指示' }).getByRole('link').click();
  await page.getByRole('heading', { name: '承認する' }).waitFor();
  await shoot(page, 'console-approval');

  const resident = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' });
  const publicPage = await resident.newPage();
  await publicPage.goto(`${hibiki.base}/notices`);
  await shoot(publicPage, 'public-notices');
  await publicPage.goto(`${hibiki.base}/notices/${rain}`);
  await shoot(publicPage, 'public-notice');
  await publicPage.setViewportSize(PHONE);
  await publicPage.goto(`${hibiki.base}/notices`);
  await shoot(publicPage, 'public-notices-phone');
  await publicPage.goto(`${hibiki.base}/notices/${rain}`);
  await shoot(publicPage, 'public-notice-phone');
} finally {
  await browser.close();
  await hibiki.close();
  await Promise.all([sink.close(), x.close(), line.close()]);
}
