import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aNotice, createHarness, type Harness } from '../api/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness('sqlite');
});
afterAll(async () => {
  await h.dispose();
});

async function post(json: unknown): Promise<string> {
  const res = await h.request('POST', '/v1/notices', { as: 'approver', json });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('GET /notices/:id', () => {
  it('shows the notice in Japanese with landmarks, severity in words and colour, JST time, escaped text', async () => {
    const id = await post(
      aNotice({
        title: '<script>alert("x")</script>避難指示',
        body: '直ちに避難してください。\n高台へ。\n\n<b>太字ではない</b>',
        severity: 'emergency',
        category: '避難情報',
        link: 'https://www.city.kikuchi.example/hinan',
      }),
    );
    const res = await h.app.request(`/notices/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=30');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toMatch(/^<!DOCTYPE html><html lang="ja">/);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;避難指示');
    expect(html).toContain('&lt;b&gt;太字ではない&lt;/b&gt;');
    expect(html).toContain('<main id="main">');
    expect(html).toContain('<header class="site">');
    expect(html).toContain('<footer class="site">');
    expect(html).toMatch(/<h1 id="notice-title">/);
    expect(html).toContain('緊急');
    expect(html).toContain('background:#b00020');
    expect(html).toContain('避難情報');
    expect(html).toContain('菊池市全域');
    expect(html).toMatch(
      /<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00">\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}時\d\d分<\/time>/,
    );
    expect(html).toContain('直ちに避難してください。<br/>高台へ。');
    expect(html).toContain('href="https://www.city.kikuchi.example/hinan"');
  });

  it('a correction says it corrects, with the history', async () => {
    const id = await post(aNotice({ title: '給水所の開設' }));
    await h.request('POST', `/v1/notices/${id}/revisions`, { json: { body: '場所を訂正します。市役所前です。' } });
    const html = await (await h.app.request(`/notices/${id}`)).text();
    expect(html).toContain('訂正されました（第2版）');
    expect(html).toContain('場所を訂正します。市役所前です。');
    expect(html).toContain('第1版 発表');
    expect(html).toContain('第2版 訂正');
    expect(html).toContain('第1版を訂正');
  });

  it('a cancelled notice says so at the top', async () => {
    const id = await post(aNotice({ title: '花火大会の開催' }));
    await h.request('POST', `/v1/notices/${id}/cancel`, { json: { reason: '荒天のため' } });
    const html = await (await h.app.request(`/notices/${id}`)).text();
    const banner = html.indexOf('この通知は');
    expect(banner).toBeGreaterThan(0);
    expect(banner).toBeLessThan(html.indexOf('<h1'));
    expect(html).toContain('取り消されました');
    expect(html).toContain('取消の理由: 荒天のため');
    expect(html).toContain('【取消】花火大会の開催');
  });

  it('an exercise is marked as one', async () => {
    const id = await post(aNotice({ mode: 'exercise' }));
    expect(await (await h.app.request(`/notices/${id}`)).text()).toContain('【訓練】');
  });

  it('an unknown notice, or one scheduled for later, is a Japanese 404 page', async () => {
    const scheduled = await post(aNotice({ scheduledAt: new Date(Date.now() + 3_600_000).toISOString() }));
    for (const id of ['nunknown', scheduled]) {
      const res = await h.app.request(`/notices/${id}`);
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('<html lang="ja">');
      expect(html).toContain('お知らせが見つかりません');
    }
  });
});
