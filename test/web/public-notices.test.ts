import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../src/domain/revision.ts';
import type { RevisionInput } from '../../src/store/notices.ts';
import { appSuite } from '../helpers/app-suite.ts';
import { STORE_KINDS } from '../helpers/db.ts';
import { EXAMPLE_CATALOGUE } from '../helpers/resident-app.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;
const BASE = 'https://hibiki.example.jp';

/** Revision 1 as staff would write it; the store adds its number, identifier and times. */
const anInput = (overrides: Partial<RevisionInput> = {}): RevisionInput => ({
  kind: 'alert',
  title: '避難所の開設について',
  body: '本日18時から市民体育館を避難所として開設します。',
  severity: 'info',
  category: '避難所情報',
  mode: 'actual',
  topics: ['shelter'],
  areas: [],
  channels: ['mail'],
  link: null,
  department: null,
  expiresAt: null,
  scheduledAt: null,
  ...overrides,
});

interface AtomEntry {
  id: string;
  title: string;
  updated: string;
  summary: string;
  author: { name: string };
  link: { '@_rel': string; '@_type': string; '@_href': string }[];
}
interface AtomFeed {
  id: string;
  title: string;
  updated: string;
  link: { '@_rel': string; '@_href': string }[];
  entry?: AtomEntry[];
}

const atomParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  isArray: (name) => name === 'entry' || name === 'link',
});

function parseAtom(text: string): AtomFeed {
  expect(XMLValidator.validate(text)).toBe(true);
  return (atomParser.parse(text) as { feed: AtomFeed }).feed;
}

/** The notice ids linked from a part of a page, in the order they appear. */
const linkedIds = (html: string): string[] =>
  [...html.matchAll(/href="\/notices\/([^"]+)"/g)].map((m) => m[1] as string);

/** The page split at the "recently ended" heading: what is in force, and what ended. */
function sections(html: string): { active: string; ended: string } {
  const at = html.indexOf('id="ended"');
  return at < 0 ? { active: html, ended: '' } : { active: html.slice(0, at), ended: html.slice(at) };
}

const count = (html: string, needle: string): number => html.split(needle).length - 1;

describe.each(STORE_KINDS)('public notices over %s', (store) => {
  const hibiki = appSuite({ store, env: { CATALOGUE_FILE: EXAMPLE_CATALOGUE } });
  const now = Date.now();
  const ago = (ms: number) => new Date(now - ms);

  async function issue(id: string, at: Date, overrides: Partial<RevisionInput> = {}): Promise<void> {
    await hibiki.deps.store.notices.create(id, anInput(overrides), 'staff-test', null, at);
  }
  async function revise(id: string, at: Date, changes: Partial<RevisionInput>): Promise<Revision> {
    const revisions = await hibiki.deps.store.notices.revisions(id);
    const current = revisions[revisions.length - 1] as Revision;
    const { noticeId, revision, capIdentifier, sentAt, createdBy, createdAt, ...rest } = current;
    return hibiki.deps.store.notices.addRevision(
      id,
      { ...rest, kind: 'update', scheduledAt: null, ...changes },
      'staff-test',
      at,
    );
  }
  async function approvalStep(id: string, decision: 'submitted' | 'approved'): Promise<void> {
    await hibiki.deps.store.db.kysely
      .insertInto('notice_approvals')
      .values({
        notice_id: id,
        decision,
        actor: 'staff-test',
        actor_token_id: 1,
        comment: null,
        at: ago(0).toISOString(),
      })
      .execute();
  }
  const get = (path: string, headers: Record<string, string> = {}) => hibiki.app.request(path, { headers });

  beforeAll(async () => {
    // In force, in the order the list must show them: most severe first, then newest.
    await issue('nemergency', ago(5 * HOUR), {
      title: '菊池川 氾濫のおそれ',
      severity: 'emergency',
      category: '避難情報',
      areas: ['432105-01', '432105-03'],
      department: '防災危機管理課',
    });
    await issue('nwarnnew', ago(1 * HOUR), { title: '土砂災害に警戒', severity: 'warning', mode: 'exercise' });
    await issue('nwarnold', ago(2 * HOUR), { title: '大雨に警戒', severity: 'warning', category: '気象情報' });
    await issue('nadvisory', ago(4 * HOUR), {
      title: '給水所の開設',
      severity: 'info',
      body: '市役所で給水します。',
      department: '水道課',
      expiresAt: new Date(now + 2 * DAY),
    });
    await revise('nadvisory', ago(30 * MINUTE), {
      title: '給水所の開設（場所の訂正）',
      severity: 'advisory',
      areas: ['432105-02'],
      body: '市役所前広場で給水します。',
      expiresAt: new Date(now + 3 * DAY),
    });
    await issue('ninfo', ago(3 * HOUR), { title: 'ごみ収集の変更', category: 'お知らせ' });
    // Submitted and approved: public like any other.
    await issue('napproved', ago(6 * HOUR), { title: '承認済みのお知らせ' });
    await approvalStep('napproved', 'submitted');
    await approvalStep('napproved', 'approved');

    // Not in force, each for one reason.
    await issue('xcancelled', ago(3 * HOUR), { title: '花火大会の開催', severity: 'warning' });
    await revise('xcancelled', ago(1 * HOUR), { kind: 'cancel', body: '荒天のため' });
    await hibiki.deps.store.notices.setStatus('xcancelled', 'cancelled', ago(1 * HOUR));
    await issue('xexpired', ago(5 * HOUR), { title: '一時的な断水', severity: 'warning', expiresAt: ago(10 * MINUTE) });
    // Statuses set straight through the store, as the approval API (built separately) will.
    await issue('xpending', ago(1 * HOUR), { title: '承認待ちの緊急通知', severity: 'emergency' });
    await hibiki.deps.store.notices.setStatus('xpending', 'pending_approval', ago(1 * HOUR));
    await issue('xreturned', ago(1 * HOUR), { title: '差し戻された通知', severity: 'emergency' });
    await hibiki.deps.store.notices.setStatus('xreturned', 'returned', ago(1 * HOUR));
    await issue('xscheduled', ago(1 * HOUR), {
      title: '予約中の通知',
      severity: 'emergency',
      scheduledAt: new Date(now + HOUR),
    });
    // Submitted for approval and withdrawn before any approver approved it: never sent.
    await issue('xwithdrawn', ago(2 * HOUR), { title: '承認前に取り消された通知', severity: 'emergency' });
    await approvalStep('xwithdrawn', 'submitted');
    await revise('xwithdrawn', ago(90 * MINUTE), { kind: 'cancel', body: '' });
    await hibiki.deps.store.notices.setStatus('xwithdrawn', 'cancelled', ago(90 * MINUTE));
    // Scheduled for an hour ago but cancelled before that: withdrawn silently, never sent.
    await issue('xsilent', ago(3 * HOUR), { title: '予約のまま取り消された通知', scheduledAt: ago(1 * HOUR) });
    await revise('xsilent', ago(2 * HOUR), { kind: 'cancel', body: '' });
    await hibiki.deps.store.notices.setStatus('xsilent', 'cancelled', ago(2 * HOUR));
    // Ended too long ago for "recently ended".
    await issue('xold', ago(10 * DAY), { title: '先週の通知', expiresAt: ago(8 * DAY) });
  });

  describe('GET /notices', () => {
    it('lists what is in force, most severe first, then newest; nothing cancelled, expired, unapproved or not yet due', async () => {
      const res = await get('/notices');
      expect(res.status).toBe(200);
      const { active } = sections(await res.text());
      expect(linkedIds(active)).toEqual(['nemergency', 'nwarnnew', 'nwarnold', 'nadvisory', 'ninfo', 'napproved']);
    });

    it('says severity in words and colour, with the marked title, category, areas, JST time, department and link', async () => {
      const html = await (await get('/notices')).text();
      expect(html).toMatch(/^<!DOCTYPE html><html lang="ja">/);
      expect(count(html, '<h1')).toBe(1);
      expect(html).toContain('<main id="main">');
      expect(html).toContain('<ol class="notices">');
      // The emergency: its mark, its words and colour, the catalogue's area names, its section.
      expect(html).toContain('<a href="/notices/nemergency">【緊急】菊池川 氾濫のおそれ</a>');
      expect(html).toContain('border-left-color:#b00020');
      expect(html).toMatch(/background:#b00020">緊急<\/span> <span lang="en">Emergency<\/span>/);
      expect(html).toContain('避難情報 <span lang="en">/ Evacuation information</span>');
      expect(html).toContain('菊池地区、旭志地区 <span lang="en">/ Kikuchi district, Kyokushi district</span>');
      expect(html).toContain('<dd>防災危機管理課</dd>');
      // No department named: the city issued it.
      expect(html).toContain('<dd>菊池市</dd>');
      expect(html).toContain('<a href="/notices/nwarnnew">【訓練】土砂災害に警戒</a>');
      expect(html).toContain('<a href="/notices/nadvisory">【訂正】給水所の開設（場所の訂正）</a>');
      expect(html).toContain('菊池市全域 <span lang="en">/ All of Kikuchi City</span>');
      expect(html).toMatch(
        /<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00">\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}時\d\d分<\/time>/,
      );
      expect(html).toContain('<link rel="alternate" type="application/atom+xml"');
      expect(html).toContain('href="/notices.atom"');
      expect(html).not.toContain('<script');
    });

    it('lists notices cancelled or expired in the last week apart, never one residents were not sent', async () => {
      const { ended } = sections(await (await get('/notices')).text());
      expect(linkedIds(ended).sort()).toEqual(['xcancelled', 'xexpired']);
      expect(ended).toContain('取消 <span lang="en">(Cancelled)</span>');
      expect(ended).toContain('期限切れ <span lang="en">(Expired)</span>');
    });
  });

  describe('GET /notices/:id', () => {
    it('a correction shows what changed against the revision before, field by field, and the history', async () => {
      const res = await get('/notices/nadvisory');
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(count(html, '<h1')).toBe(1);
      expect(html).toContain('<h1 id="notice-title">給水所の開設（場所の訂正）</h1>');
      expect(html).toContain('変更点 <span lang="en">What changed</span>');
      const changes = html.slice(
        html.indexOf('id="changes"'),
        html.indexOf('</section>', html.indexOf('id="changes"')),
      );
      expect(changes).toMatch(
        /件名 <span lang="en">Title<\/span>:.*給水所の開設<span class="arrow"[^>]*>→<\/span>.*給水所の開設（場所の訂正）/,
      );
      expect(changes).toMatch(/重要度 <span lang="en">Severity<\/span>:.*お知らせ.*→.*注意/);
      expect(changes).toMatch(/対象地域 <span lang="en">Area<\/span>:.*菊池市全域.*→.*七城地区/);
      expect(changes).toMatch(/有効期限 <span lang="en">Expires<\/span>:.*<time[^>]*>.*→.*<time/);
      expect(changes).toContain('本文 <span lang="en">Text</span>:');
      // The text before the correction is there to compare, folded away, not as the current text.
      expect(changes).toMatch(/<details><summary>訂正前の本文[\s\S]*市役所で給水します。/);
      expect(changes).not.toContain('分類 <span lang="en">Category</span>:');
      expect(changes).not.toContain('発表元');
      const current = html.indexOf('市役所前広場で給水します。');
      expect(current).toBeGreaterThan(html.indexOf('</section>', html.indexOf('id="changes"')));
      expect(html).toContain('<dd>水道課</dd>');
      expect(html).toContain('id="revision-1"');
      expect(html).toMatch(/id="revision-2">第2版 訂正[\s\S]*件名、重要度、対象地域、有効期限、本文/);
    });

    it('a cancelled notice says so at the top, and its withdrawn text is not presented as current', async () => {
      const html = await (await get('/notices/xcancelled')).text();
      const banner = html.indexOf('banner cancel');
      expect(banner).toBeGreaterThan(0);
      expect(banner).toBeLessThan(html.indexOf('<h1'));
      expect(html).toContain('取り消されました。下の内容は現在有効ではありません。');
      expect(html).toContain('取消の理由: 荒天のため');
      expect(html).toContain('【取消】</span>花火大会の開催</h1>');
      expect(html).toMatch(/<details><summary>取り消された内容[\s\S]*本日18時から/);
      expect(html).not.toContain('変更点');
    });

    it('an expired notice says it has expired', async () => {
      const html = await (await get('/notices/xexpired')).text();
      expect(html).toContain('有効期限が切れました');
      expect(html.indexOf('有効期限が切れました')).toBeLessThan(html.indexOf('<h1'));
    });

    it('answers 404 for a notice not approved, not yet due, or withdrawn before anyone was sent it', async () => {
      for (const id of ['xpending', 'xreturned', 'xscheduled', 'xwithdrawn', 'xsilent', 'nunknown']) {
        const res = await get(`/notices/${id}`);
        expect(res.status, id).toBe(404);
        expect(await res.text()).toContain('お知らせが見つかりません');
      }
    });
  });

  describe('GET /notices.atom', () => {
    it('is well-formed Atom of the active notices and recent revisions, with marked titles, linking each page', async () => {
      const res = await get('/notices.atom');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
      const feed = parseAtom(await res.text());
      expect(feed.id).toBe(`${BASE}/notices.atom`);
      expect(feed.link.map((l) => l['@_href'])).toEqual([`${BASE}/notices.atom`, `${BASE}/notices`]);
      const ids = (feed.entry ?? []).map((e) => e.id);
      expect(ids.sort()).toEqual(
        [
          'nemergency#revision-1',
          'nwarnnew#revision-1',
          'nwarnold#revision-1',
          'nadvisory#revision-1',
          'nadvisory#revision-2',
          'ninfo#revision-1',
          'napproved#revision-1',
          'xcancelled#revision-2',
        ]
          .map((id) => `${BASE}/notices/${id}`)
          .sort(),
      );
      const updated = (feed.entry ?? []).map((e) => Date.parse(e.updated));
      expect(updated).toEqual([...updated].sort((a, b) => b - a));
      const byId = new Map((feed.entry ?? []).map((e) => [e.id.replace(`${BASE}/notices/`, ''), e]));
      expect(byId.get('nemergency#revision-1')?.title).toBe('【緊急】菊池川 氾濫のおそれ');
      expect(byId.get('nemergency#revision-1')?.author.name).toBe('防災危機管理課');
      expect(byId.get('nemergency#revision-1')?.link[0]?.['@_href']).toBe(`${BASE}/notices/nemergency`);
      expect(byId.get('nwarnnew#revision-1')?.title).toBe('【訓練】土砂災害に警戒');
      expect(byId.get('nadvisory#revision-2')?.title).toBe('【訂正】給水所の開設（場所の訂正）');
      expect(byId.get('xcancelled#revision-2')?.title).toBe('【取消】花火大会の開催');
      expect(byId.get('xcancelled#revision-2')?.summary).toContain('理由: 荒天のため');
      expect(byId.get('ninfo#revision-1')?.author.name).toBe('菊池市');
    });

    it('answers 304 to its ETag and to If-Modified-Since its Last-Modified', async () => {
      const first = await get('/notices.atom');
      const etag = first.headers.get('etag');
      const lastModified = first.headers.get('last-modified');
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect(lastModified).not.toBeNull();
      expect(first.headers.get('cache-control')).toBe('public, max-age=30');
      const byTag = await get('/notices.atom', { 'if-none-match': etag as string });
      expect(byTag.status).toBe(304);
      expect(await byTag.text()).toBe('');
      // The latest change was xexpired's expiry, ten minutes ago.
      expect(Date.parse(lastModified as string)).toBe(Math.floor((now - 10 * MINUTE) / 1000) * 1000);
      expect((await get('/notices.atom', { 'if-modified-since': lastModified as string })).status).toBe(304);
      const earlier = new Date(Date.parse(lastModified as string) - 1000).toUTCString();
      expect((await get('/notices.atom', { 'if-modified-since': earlier })).status).toBe(200);
      expect((await get('/notices.atom', { 'if-none-match': '"other"' })).status).toBe(200);
    });
  });

  describe('after a change', () => {
    it('the list, the page and the feed answer 304 until something public changes, then 200 with a new ETag', async () => {
      const paths = ['/notices', '/notices/nadvisory', '/notices.atom'];
      const before = new Map<string, string>();
      for (const path of paths) {
        const res = await get(path);
        const etag = res.headers.get('etag');
        expect(etag, path).toMatch(/^"[\w-]+"$/);
        expect(res.headers.get('cache-control'), path).toBe('public, max-age=30');
        before.set(path, etag as string);
        const again = await get(path, { 'if-none-match': etag as string });
        expect(again.status, path).toBe(304);
        expect(again.headers.get('etag'), path).toBe(etag);
      }

      await revise('nadvisory', new Date(), { body: '給水は終了しました。' });

      for (const path of paths) {
        const res = await get(path, { 'if-none-match': before.get(path) as string });
        expect(res.status, path).toBe(200);
        expect(res.headers.get('etag'), path).not.toBe(before.get(path));
      }
    });
  });
});

describe('escaping and the empty state', () => {
  const hibiki = appSuite();

  it('with nothing in force, the list says so and the feed is well-formed and empty', async () => {
    const html = await (await hibiki.app.request('/notices')).text();
    expect(html).toContain('現在、発表中のお知らせはありません。');
    expect(html).toContain('There are no active notices.');
    const feed = parseAtom(await (await hibiki.app.request('/notices.atom')).text());
    expect(feed.entry ?? []).toEqual([]);
  });

  it('escapes markup and ampersands in titles and text, on both pages and in the feed', async () => {
    const title = '<script>alert("x")</script> & 避難';
    await hibiki.deps.store.notices.create(
      'nscript',
      anInput({ title, body: '<b>本文</b> & <script>alert(1)</script>', department: '<i>課</i>' }),
      'staff-test',
      null,
    );
    const pages = await Promise.all(
      ['/notices', '/notices/nscript'].map(async (p) => (await hibiki.app.request(p)).text()),
    );
    for (const html of pages) {
      expect(html).not.toContain('<script');
      expect(html).not.toContain('<i>課</i>');
      expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 避難');
      expect(html).toContain('&lt;i&gt;課&lt;/i&gt;');
    }
    const page = pages[1] as string;
    expect(page).toContain('&lt;b&gt;本文&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;');

    const res = await hibiki.app.request('/notices.atom');
    const xml = await res.text();
    expect(xml).not.toContain('<script');
    expect(xml).toContain('&lt;script&gt;');
    expect(xml).toContain('&amp; 避難');
    const feed = parseAtom(xml);
    expect(feed.entry?.[0]?.title).toBe(title);
    expect(feed.entry?.[0]?.summary).toBe('<b>本文</b> & <script>alert(1)</script>');
    expect(feed.entry?.[0]?.author.name).toBe('<i>課</i>');
  });

  it('pages send no script and a CSP that allows none', async () => {
    for (const path of ['/notices', '/notices/nscript']) {
      const res = await hibiki.app.request(path);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'none'");
      expect(res.headers.get('content-security-policy'), path).not.toContain('script-src');
    }
  });
});
