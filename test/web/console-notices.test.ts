import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, type StaffClient, staffClient } from '../helpers/api.ts';
import { appSuite } from '../helpers/app-suite.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { type ConsoleClient, expectCsrfRefused, signedInConsole } from '../helpers/console.ts';
import { signInThroughForm, watchProblems } from '../helpers/console-browser.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';

/** The JST calendar date of an instant, as the list's date filter takes it. */
const jstDate = (d: Date) => new Date(d.getTime() + 9 * 3600_000).toISOString().slice(0, 10);

interface SseEvent {
  event: string;
  data: string;
}

/** Reads a server-sent event stream until the server closes it. */
async function readEvents(res: Response): Promise<SseEvent[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      return {
        event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message',
        data: lines
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n'),
      };
    });
}

interface ProgressPayload {
  status: string;
  live: boolean;
  channels: { channel: string; sent: number; failed: number; queued: number; total: number; done: number }[];
}

describe('console notice list, detail, progress and actions', () => {
  const residents = residentEmails(3);
  const hibiki = appSuite({ mailTo: residents });
  let api: StaffClient;
  let author: ConsoleClient;
  let approver: ConsoleClient;

  beforeAll(async () => {
    api = await staffClient(hibiki.deps, 'approver', '防災課 承認者');
    author = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'author', '広報課 作成者');
    approver = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'approver', '防災課 係長');
  });

  /** Every delivery row written and final, and the dispatch finished: the page's end state. */
  async function settled(id: string, rows: number) {
    const t = await waitForDeliveries(hibiki.deps, id, rows);
    await waitUntil(
      `${id} to be dispatched`,
      async () => (await hibiki.deps.store.notices.get(id))?.status === 'dispatched',
    );
    return t;
  }

  /** The table row that links to a notice. */
  const rowOf = (html: string, id: string) =>
    new RegExp(`<tr>(?:(?!</tr>).)*href="/console/notices/${id}"(?:(?!</tr>).)*</tr>`, 's').exec(html)?.[0] ?? '';

  it('lists notices newest first and filters them by status, severity and JST dates', async () => {
    const info = await postNotice(api, { title: '一覧テスト お知らせ', severity: 'info', channels: ['cap'] });
    const warning = await postNotice(api, { title: '一覧テスト 警戒', severity: 'warning', channels: ['cap'] });
    const pending = await postNotice(api, {
      title: '一覧テスト 承認待ち',
      severity: 'advisory',
      channels: ['cap'],
      requestApproval: true,
    });
    await settled(info, 1);
    await settled(warning, 1);

    const all = await author.page('/console/notices');
    expect(all).toContain('<form method="get" action="/console/notices"');
    expect(all).toMatch(/<label for="filter-status">/);
    expect(all).toMatch(/<label for="filter-severity">/);
    expect(all).toMatch(/<label for="filter-from">/);
    expect(all).toMatch(/<label for="filter-to">/);
    // Newest first, each linking to its page with severity in words, status, author.
    const order = [pending, warning, info].map((id) => all.indexOf(`href="/console/notices/${id}"`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const row = rowOf(all, pending);
    expect(row).toContain('>注意</span>');
    expect(row).toContain('<span class="status">承認待ち</span>');
    expect(row).toContain('防災課 承認者');
    expect(row).toMatch(/<time datetime="[^"]+\+09:00">/);
    expect(rowOf(all, warning)).toContain('<span class="status">完了</span>');

    const byStatus = await author.page('/console/notices?status=pending_approval');
    expect(byStatus).toContain('一覧テスト 承認待ち');
    expect(byStatus).not.toContain('一覧テスト 警戒');
    expect(byStatus).toMatch(/<option value="pending_approval" selected/);

    const completed = await author.page('/console/notices?status=completed');
    expect(completed).toContain('一覧テスト お知らせ');
    expect(completed).toContain('一覧テスト 警戒');
    expect(completed).not.toContain('一覧テスト 承認待ち');

    const bySeverity = await author.page('/console/notices?severity=warning');
    expect(bySeverity).toContain('一覧テスト 警戒');
    expect(bySeverity).not.toContain('一覧テスト お知らせ');

    const created = (await hibiki.deps.store.notices.get(info))?.createdAt ?? new Date();
    const day = jstDate(created);
    const sameDay = await author.page(`/console/notices?from=${day}&to=${day}&severity=info`);
    expect(sameDay).toContain('一覧テスト お知らせ');
    const nextDay = jstDate(new Date(created.getTime() + 24 * 3600_000));
    const later = await author.page(`/console/notices?from=${nextDay}`);
    expect(later).not.toContain('一覧テスト');
    expect(later).toContain('条件に合う通知はありません');
    const prevDay = jstDate(new Date(created.getTime() - 24 * 3600_000));
    const earlier = await author.page(`/console/notices?to=${prevDay}`);
    expect(earlier).not.toContain('一覧テスト');
  });

  it('pages through the list with the service cursor, keeping the filter', async () => {
    for (let i = 0; i < 22; i++) {
      await postNotice(api, {
        title: `ページ送り ${i}`,
        severity: 'advisory',
        channels: ['cap'],
        scheduledAt: '2099-01-01T00:00:00Z',
      });
    }
    const first = await author.page('/console/notices?status=scheduled');
    expect(first).toContain('ページ送り 21');
    expect(first).not.toContain('ページ送り 1<');
    const next = /href="(\/console\/notices\?status=scheduled&amp;cursor=[^"]+)" rel="next"/.exec(first)?.[1];
    expect(next).toBeDefined();
    const second = await author.page((next ?? '').replaceAll('&amp;', '&'));
    expect(second).toContain('ページ送り 0<');
    expect(second).toContain('ページ送り 1<');
    expect(second).not.toContain('ページ送り 21');
    expect(second).not.toContain('rel="next"');
  });

  it('refuses a filter it cannot use, naming the field', async () => {
    const res = await author.get('/console/notices?from=2026-02-30&severity=loud');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).toMatch(/id="filter-from"[^>]*aria-invalid="true"/);
    expect(html).toMatch(/id="filter-severity"[^>]*aria-invalid="true"/);
    expect(html).toContain('実在する日');
  });

  it('shows per-channel counts that add up after a real send, with timing and links', async () => {
    const id = await postNotice(api, {
      title: '詳細テスト',
      body: '本文です。\n二行目。',
      department: '防災危機管理課',
    });
    const t = await settled(id, residents.length + 1);
    expect(t).toEqual({ queued: 0, sent: residents.length + 1, failed: 0, skipped: 0 });
    const html = await author.page(`/console/notices/${id}`);
    expect(html).toContain('<h1>詳細テスト</h1>');
    expect(html).toContain('<dt>担当部署</dt><dd>防災危機管理課</dd>');
    expect(html).toContain('<dt>対象地域</dt><dd>菊池市全域</dd>');
    expect(html).toContain('<dt>トピック</dt><dd>防災</dd>');
    expect(html).toContain(`送信済み ${residents.length} / 失敗 0 / 待機 0 / 合計 ${residents.length}`);
    expect(html).toContain('送信済み 1 / 失敗 0 / 待機 0 / 合計 1');
    expect(html).toMatch(new RegExp(`<progress max="${residents.length}" value="${residents.length}"`));
    expect(html).toContain('発表から最初の配信まで');
    expect(html).toContain('<span class="status">完了</span>');
    expect(html).toContain(`href="https://hibiki.example.jp/notices/${id}"`);
    expect(html).toMatch(/href="https:\/\/hibiki\.example\.jp\/feeds\/cap\/[^"]+\.xml"/);
    expect(html).toContain(`href="/console/notices/${id}/correct"`);
    // Nothing failed: no retry button; a finished notice loads no live script.
    expect(html).not.toContain('失敗分を再送');
    expect(html).not.toContain('progress.js');
    expect(html).not.toContain('http-equiv="refresh"');
  });

  it('streams progress over server-sent events and closes when the notice is done', async () => {
    // Paused workers hold the notice in the queue, so the page and the stream are live for sure.
    await Promise.all(hibiki.workers.workers.map((w) => w.pause()));
    const id = await postNotice(api, { title: 'SSEテスト' });
    const page = await author.page(`/console/notices/${id}`);
    expect(page).toContain(`data-progress-url="/console/notices/${id}/events"`);
    expect(page).toContain('aria-live="polite"');
    expect(page).toContain('/console/assets/progress.js');
    expect(page).toContain(`href="/console/notices/${id}#progress"`);
    expect(page).not.toContain('http-equiv="refresh"');

    const waiting = await author.get(`/console/notices/${id}/events`);
    expect(waiting.status).toBe(200);
    expect(waiting.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = waiting.body?.getReader();
    const chunk = await reader?.read();
    const first = new TextDecoder().decode(chunk?.value);
    expect(first).toMatch(/^event: progress\n/);
    expect(JSON.parse(/^data: (.*)$/m.exec(first)?.[1] ?? '{}')).toMatchObject({ status: 'queued', live: true });
    // The browser going away ends the stream on the server.
    await reader?.cancel();

    for (const w of hibiki.workers.workers) w.resume();
    const res = await author.get(`/console/notices/${id}/events`);
    const events = await readEvents(res);
    expect(events.length).toBeGreaterThanOrEqual(1);
    const last = events.at(-1);
    expect(last?.event).toBe('done');
    expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
    for (const e of events) {
      const p = JSON.parse(e.data) as ProgressPayload;
      for (const ch of p.channels) expect(ch.sent + ch.failed + ch.queued).toBeLessThanOrEqual(ch.total);
    }
    const final = JSON.parse(last?.data ?? '{}') as ProgressPayload;
    expect(final.live).toBe(false);
    expect(final.status).toBe('completed');
    const mail = final.channels.find((c) => c.channel === 'mail');
    expect(mail).toMatchObject({ sent: residents.length, failed: 0, queued: 0, total: residents.length });
    expect(final.channels.find((c) => c.channel === 'cap')).toMatchObject({ sent: 1, total: 1 });
    expect(tally(await hibiki.deps.store.deliveries.counts(id))).toEqual({
      queued: 0,
      sent: residents.length + 1,
      failed: 0,
      skipped: 0,
    });
  });

  it('ends the stream at once for a notice that is not moving (scheduled)', async () => {
    const id = await postNotice(api, { title: '予約SSE', channels: ['cap'], scheduledAt: '2099-01-01T00:00:00Z' });
    const events = await readEvents(await author.get(`/console/notices/${id}/events`));
    expect(events).toHaveLength(1);
    expect(events[0]?.event).toBe('done');
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({ status: 'scheduled', live: false });
  });

  it('serves the progress script from the console assets', async () => {
    const res = await author.get('/console/assets/progress.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    const js = await res.text();
    expect(js).toContain('EventSource');
    expect(js).toContain('ANNOUNCE_MS = 10000');
  });

  it('retries only the failed deliveries from the console', async () => {
    const refused = residents[1] as string;
    hibiki.sink.rejectRecipient(refused, 550, '5.7.1 Message rejected by policy');
    const id = await postNotice(api, { title: '再送テスト', channels: ['mail'] });
    const t = await settled(id, residents.length);
    expect(t).toEqual({ queued: 0, sent: residents.length - 1, failed: 1, skipped: 0 });

    const html = await author.page(`/console/notices/${id}`);
    expect(html).toContain('一部失敗');
    expect(html).toContain('失敗分を再送（1件）');
    expect(html).toContain('5.7.1');
    expect(html).not.toContain(refused);
    expect(html).toContain(`送信済み ${residents.length - 1} / 失敗 1 / 待機 0 / 合計 ${residents.length}`);

    hibiki.sink.reset();
    const res = await author.post(`/console/notices/${id}/retry`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${id}?done=retried&rows=1`);
    await hibiki.sink.waitFor(1);
    await waitUntil('the retried row to be sent', async () => {
      const c = tally(await hibiki.deps.store.deliveries.counts(id));
      return c.queued === 0 && c.failed === 0 ? c : undefined;
    });
    expect(hibiki.sink.envelopes.map((e) => e.rcptTo)).toEqual([[refused]]);
    const after = await author.page(`/console/notices/${id}?done=retried&rows=1`);
    expect(after).toMatch(/<div class="flash" role="status">\s*<p>失敗した 1 件をもう一度送ります。/);
    expect(after).not.toContain('失敗分を再送');
  });

  it('cancels only after the confirmation, then shows the notice as cancelled', async () => {
    const id = await postNotice(api, { title: '取消テスト', channels: ['cap'] });
    await settled(id, 1);
    const confirm = await author.page(`/console/notices/${id}/cancel`);
    expect(confirm).toMatch(/<input type="checkbox" id="cancel-confirm" name="confirm" value="yes" required/);
    expect(confirm).toContain('<label for="cancel-reason">');

    const unconfirmed = await author.post(`/console/notices/${id}/cancel`, { reason: '誤って配信しました' });
    expect(unconfirmed.status).toBe(400);
    const refusedHtml = await unconfirmed.text();
    expect(refusedHtml).toContain('role="alert"');
    expect(refusedHtml).toContain('確認の欄にチェックを入れてください');
    expect(refusedHtml).toContain('誤って配信しました');
    expect((await hibiki.deps.store.notices.get(id))?.status).not.toBe('cancelled');

    const res = await author.post(`/console/notices/${id}/cancel`, { reason: '誤って配信しました', confirm: 'yes' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${id}?done=cancelled`);
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('cancelled');
    const html = await author.page(`/console/notices/${id}?done=cancelled`);
    expect(html).toContain('【取消】取消テスト');
    expect(html).toContain('通知を取り消しました');
    expect(html).toContain('取消の理由');
    expect(html).not.toContain(`href="/console/notices/${id}/cancel"`);
    const audit = await hibiki.deps.store.audit.list({ limit: 100 });
    expect(audit.some((a) => a.action === 'notice.cancel' && a.target === id && a.actor === '広報課 作成者')).toBe(
      true,
    );
  });

  it("sends an author's cancellation of an emergency for approval, saying so before and after", async () => {
    const id = await postNotice(api, { title: '緊急の取消', severity: 'emergency', channels: ['cap'] });
    await settled(id, 1);
    expect(await author.page(`/console/notices/${id}/cancel`)).toContain(
      '承認者(approver)の承認を受けてから配信されます',
    );
    const res = await author.post(`/console/notices/${id}/cancel`, { confirm: 'yes' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${id}?done=proposed`);
    expect((await hibiki.deps.store.notices.get(id))?.status).not.toBe('cancelled');
    expect(await author.page(`/console/notices/${id}`)).toContain('取消（第2版）の承認待ち');
    // An approver's own cancellation needs nobody else with one approval required.
    const ok = await approver.post(`/console/notices/${id}/cancel`, { confirm: 'yes' });
    expect(ok.status).toBe(303);
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('cancelled');
  });

  it('refuses every action form without the CSRF token', async () => {
    const id = await postNotice(api, { title: 'CSRFテスト', channels: ['cap'] });
    for (const action of ['retry', 'cancel']) {
      await expectCsrfRefused(author, `/console/notices/${id}/${action}`, { confirm: 'yes' });
    }
    expect((await hibiki.deps.store.notices.get(id))?.status).not.toBe('cancelled');
  });

  it('escapes HTML in a notice title on the list and the detail page', async () => {
    const title = '<script>alert(1)</script><b>太字</b>';
    const id = await postNotice(api, { title, channels: ['cap'] });
    for (const path of ['/console/notices', `/console/notices/${id}`, `/console/notices/${id}/cancel`]) {
      const html = await author.page(path);
      expect(html, path).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;太字&lt;/b&gt;');
      expect(html, path).not.toContain('<script>alert(1)');
      expect(html, path).not.toContain('<b>太字');
    }
  });

  it('answers an unknown notice with a 404 page and leaves other paths to other pages', async () => {
    const res = await author.get('/console/notices/n00000000000000000000');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('見つかりません');
    const signedOut = await hibiki.app.request(
      'https://hibiki.example.jp/console/notices/n00000000000000000000/events',
    );
    expect(signedOut.status).toBe(303);
  });
});

/** progress.js in a real browser, over real HTTP: the bars and words follow the stream to the end. */
describe.skipIf(!HAS_CHROMIUM)(browserSuite('console live progress in Chromium'), () => {
  let hibiki: HttpApp;
  let sink: SmtpSink;
  let browser: Browser;
  const residents = residentEmails(3);

  beforeAll(async () => {
    sink = await startSmtpSink();
    hibiki = await startHttpApp({ env: { CHANNELS: 'mail,cap', SMTP_URL: sink.url } });
    await seedMailSubscribers(hibiki.deps, residents);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await hibiki?.close();
    await sink?.close();
  });

  it('updates the bars, the numbers and the status as deliveries finish, and announces the end', async () => {
    const workers = hibiki.workers?.workers;
    if (!workers) throw new Error('startHttpApp runs the workers unless told not to');
    await Promise.all(workers.map((w) => w.pause()));
    const id = await postNotice(await staffClient(hibiki.deps, 'approver', '防災課'), { title: 'ブラウザの進捗' });

    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    const { problems } = watchProblems(page);
    const { token } = await hibiki.deps.store.tokens.create('進捗を見る人', 'author');
    await signInThroughForm(page, hibiki.base, token, `/console/notices/${id}`);
    const mail = page.locator('[data-channel="mail"]');
    expect(await mail.locator('progress').evaluate((el: HTMLProgressElement) => el.value)).toBe(0);

    for (const w of workers) w.resume();
    await mail
      .locator('[data-field="counts"]')
      .getByText(`送信済み ${residents.length} / 失敗 0 / 待機 0 / 合計 ${residents.length}`)
      .waitFor({ timeout: 20_000 });
    await page.locator('#progress-live').getByText('完了: 全チャネルで', { exact: false }).waitFor({ timeout: 20_000 });
    const bar = await mail.locator('progress').evaluate((el: HTMLProgressElement) => [el.value, el.max]);
    expect(bar).toEqual([residents.length, residents.length]);
    expect(await page.locator('[data-field="status"] .status').textContent()).toBe('完了');
    expect(await mail.locator('[data-field="timing"]').textContent()).toContain('発表から最初の配信まで');
    expect(await page.locator('#progress-live').getAttribute('aria-live')).toBe('polite');
    expect(problems).toEqual([]);
    await context.close();
  });
});
