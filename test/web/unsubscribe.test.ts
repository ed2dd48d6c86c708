import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../api/harness.ts';

let h: Harness;
let contactId: number;

beforeAll(async () => {
  h = await createHarness('sqlite');
  await h.deps.store.subscribers.importMail([
    { email: 'hanako@example.jp', topics: [], areas: [], locale: 'ja' },
    { email: 'taro@example.jp', topics: [], areas: [], locale: 'ja' },
  ]);
  const ids = await h.deps.store.subscribers.audiencePage(
    { channel: 'mail', topics: [], areas: [], ignoreTopics: true, severity: 'info' as const },
    0,
    10,
  );
  contactId = ids[0] ?? 0;
});
afterAll(async () => {
  await h.dispose();
});

const pathOf = (url: string) => url.replace('https://hibiki.example.jp', '');
const oneClick = (path: string, body = 'List-Unsubscribe=One-Click') =>
  h.app.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

describe('unsubscribe', () => {
  it('GET shows an accessible Japanese-first confirmation page that changes nothing', async () => {
    const res = await h.app.request(pathOf(h.deps.links.unsubscribe(contactId)));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toMatch(/^<!DOCTYPE html><html lang="ja">/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toContain('<main id="main">');
    expect(html).toContain('<h1>メール配信の停止');
    expect(html).toContain('lang="en"');
    expect(html).toContain(`<form method="post" action="/unsubscribe?c=${contactId}&amp;t=`);
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(html).toContain('<button type="submit"');
    expect(html).toContain(':focus-visible');
    expect(html).not.toContain('<script');
    expect((await h.deps.store.subscribers.contact(contactId))?.active).toBe(true);
  });

  it('a bad or missing token gets a 400 page, and nothing changes', async () => {
    for (const path of [`/unsubscribe?c=${contactId}&t=forged`, '/unsubscribe?c=abc&t=x', '/unsubscribe']) {
      const res = await h.app.request(path);
      expect(res.status, path).toBe(400);
      const html = await res.text();
      expect(html).toContain('<html lang="ja">');
      expect(html).toContain('リンクが正しくありません');
    }
    // Another contact's valid token does not work for this contact.
    const other = h.deps.links.unsubscribeToken(contactId + 1);
    expect((await oneClick(`/unsubscribe?c=${contactId}&t=${other}`)).status).toBe(400);
    expect((await h.deps.store.subscribers.contact(contactId))?.active).toBe(true);
  });

  it('a POST without List-Unsubscribe=One-Click is 400', async () => {
    expect((await oneClick(pathOf(h.deps.links.unsubscribe(contactId)), 'confirm=yes')).status).toBe(400);
    expect((await h.deps.store.subscribers.contact(contactId))?.active).toBe(true);
  });

  it('an RFC 8058 one-click POST deactivates the contact, and again is harmless', async () => {
    const path = pathOf(h.deps.links.unsubscribe(contactId));
    const res = await oneClick(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const contact = await h.deps.store.subscribers.contact(contactId);
    expect(contact?.active).toBe(false);
    const reason = await h.deps.store.db.kysely
      .selectFrom('contacts')
      .select('deactivated_reason')
      .where('id', '=', contactId)
      .executeTakeFirst();
    expect(reason?.deactivated_reason).toBe('unsubscribed');
    expect((await oneClick(path)).status).toBe(200);
    const page = await (await h.app.request(path)).text();
    expect(page).toContain('配信はすでに停止しています');
  });

  it("the page's button (multipart or urlencoded) answers with a page", async () => {
    const ids = await h.deps.store.subscribers.audiencePage(
      { channel: 'mail', topics: [], areas: [], ignoreTopics: true, severity: 'info' as const },
      0,
      10,
    );
    const taro = ids[0] ?? 0;
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    form.set('from', 'page');
    const res = await h.app.request(pathOf(h.deps.links.unsubscribe(taro)), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html lang="ja">');
    expect(html).toContain('配信を停止しました');
    expect((await h.deps.store.subscribers.contact(taro))?.active).toBe(false);
  });
});
