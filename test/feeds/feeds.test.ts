import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCapMessage } from '../../channels/cap/build-cap.ts';
import { createLinks } from '../../src/domain/links.ts';
import type { NoticeView } from '../../src/domain/notice.ts';
import { createFeedRoutes } from '../../src/feeds/feeds.ts';
import { type CapMessageRepo, createCapMessageRepo } from '../../src/store/cap-messages.ts';
import {
  CAP_TEST_OPTIONS,
  CAP_TEST_SENT,
  capIdentifier,
  earlierRevisions,
  insertNoticeRow,
  makeCapNotice,
} from '../helpers/cap-notice.ts';
import { validateCap } from '../helpers/cap-schema.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';
import { waitUntil } from '../helpers/wait.ts';

const BASE = 'https://hibiki.city.kikuchi.example';
const links = createLinks(BASE, 'a-test-secret-that-is-long-enough-000');
const city = { code: '432105', name: '菊池市', nameEn: 'Kikuchi City' };
const minutes = (m: number): Date => new Date(CAP_TEST_SENT.getTime() + m * 60_000);

interface AtomLink {
  '@_rel': string;
  '@_type': string;
  '@_href': string;
}
interface AtomEntry {
  id: string;
  title: string;
  updated: string;
  summary: string;
  link: AtomLink[];
}
interface AtomFeed {
  '@_xmlns': string;
  '@_xml:lang': string;
  id: string;
  title: string;
  updated: string;
  author: { name: string };
  link: AtomLink[];
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

describe('CAP feed routes', () => {
  let db: TestDb;
  let repo: CapMessageRepo;
  let clock = minutes(0);
  let now = minutes(1);
  let app: ReturnType<typeof createFeedRoutes>;

  const notices: Record<string, NoticeView> = {
    // Sent at 0, in the feed for 6 hours.
    long: makeCapNotice({ id: 'n0long', title: '菊池川 & 迫間川 <氾濫注意> 🌊', category: '気象情報' }),
    // Leaves the feed at 30 minutes.
    short: makeCapNotice({
      id: 'n0short',
      title: '一時的な断水',
      category: '被害情報',
      sentAt: minutes(-5),
      expiresAt: minutes(30),
    }),
    // Revision 1 superseded by revision 2.
    first: makeCapNotice({ id: 'n0rev', title: '避難所を開設しました', category: '避難所情報', sentAt: minutes(-20) }),
    second: makeCapNotice({
      id: 'n0rev',
      revision: 2,
      kind: 'update',
      title: '避難所を追加しました',
      category: '避難所情報',
      sentAt: minutes(-10),
      earlier: earlierRevisions('n0rev', 1).map((e) => ({ ...e, sentAt: minutes(-20) })),
    }),
  };

  async function archive(notice: NoticeView) {
    const message = buildCapMessage(notice, CAP_TEST_OPTIONS);
    clock = message.sentAt;
    await repo.put({ ...message });
    return message;
  }

  beforeAll(async () => {
    db = await createTestDb('sqlite');
    repo = createCapMessageRepo(db, { clock: () => clock });
    for (const id of ['n0long', 'n0short', 'n0rev', 'n0late']) await insertNoticeRow(db, id);
    for (const notice of [notices.first, notices.short, notices.second, notices.long]) {
      if (notice) await archive(notice);
    }
    app = createFeedRoutes({ capMessages: repo, links, city, now: () => now });
  });
  afterAll(async () => {
    await db?.drop();
  });

  const getFeed = (headers: Record<string, string> = {}) => app.request('/feeds/cap.atom', { headers });

  describe('GET /feeds/cap.atom', () => {
    it('serves well-formed Atom 1.0 with the active messages, newest first', async () => {
      now = minutes(1);
      const res = await getFeed();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
      const text = await res.text();
      expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
      const feed = parseAtom(text);
      expect(feed['@_xmlns']).toBe('http://www.w3.org/2005/Atom');
      expect(feed['@_xml:lang']).toBe('ja');
      expect(feed.id).toBe(`${BASE}/feeds/cap.atom`);
      expect(feed.title).toContain('菊池市');
      expect(feed.title).toContain('Kikuchi City');
      expect(feed.author.name).toContain('菊池市');
      expect(feed.updated).toBe('2026-11-26T19:39:00+09:00');
      expect(feed.link).toContainEqual({
        '@_rel': 'self',
        '@_type': 'application/atom+xml',
        '@_href': `${BASE}/feeds/cap.atom`,
      });

      const entries = feed.entry ?? [];
      const newestFirst = [notices.long, notices.short, notices.second];
      expect(entries.map((e) => e.id)).toEqual(newestFirst.map((n) => `${BASE}/feeds/cap/${n?.capIdentifier}.xml`));
    });

    it('gives each entry its headline, sent time, summary and links to the CAP file and the notice page', async () => {
      now = minutes(1);
      const feed = parseAtom(await (await getFeed()).text());
      const entry = feed.entry?.[0];
      const capUrl = `${BASE}/feeds/cap/${notices.long?.capIdentifier}.xml`;
      expect(entry).toEqual({
        id: capUrl,
        title: '菊池川 & 迫間川 <氾濫注意> 🌊',
        updated: '2026-11-26T19:39:00+09:00',
        summary: notices.long?.body,
        link: [
          { '@_rel': 'alternate', '@_type': 'application/cap+xml', '@_href': capUrl },
          { '@_rel': 'related', '@_type': 'text/html', '@_href': `${BASE}/notices/n0long` },
        ],
      });
      expect(feed.entry?.[2]?.title).toBe('【訂正】避難所を追加しました');
    });

    it('drops a message once it has expired', async () => {
      now = minutes(29);
      expect((parseAtom(await (await getFeed()).text()).entry ?? []).map((e) => e.title)).toContain('一時的な断水');
      now = minutes(31);
      const feed = parseAtom(await (await getFeed()).text());
      expect((feed.entry ?? []).map((e) => e.title)).not.toContain('一時的な断水');
      expect(feed.entry).toHaveLength(2);
      expect(feed.updated).toBe('2026-11-26T20:09:00+09:00'); // the expiry at 30 minutes
    });

    it('is cacheable for a few seconds, with an ETag and Last-Modified', async () => {
      now = minutes(1);
      const res = await getFeed();
      expect(res.headers.get('cache-control')).toBe('public, max-age=10');
      expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect(res.headers.get('last-modified')).toBe(CAP_TEST_SENT.toUTCString());
    });

    it('answers 304 to a matching If-None-Match and 200 to another', async () => {
      now = minutes(1);
      const etag = (await getFeed()).headers.get('etag') ?? '';
      const notModified = await getFeed({ 'If-None-Match': etag });
      expect(notModified.status).toBe(304);
      expect(await notModified.text()).toBe('');
      expect(notModified.headers.get('etag')).toBe(etag);
      expect((await getFeed({ 'If-None-Match': `"other", W/${etag}` })).status).toBe(304);
      expect((await getFeed({ 'If-None-Match': '"other"' })).status).toBe(200);
    });

    it('answers 304 to If-Modified-Since at or after Last-Modified, 200 before it', async () => {
      now = minutes(1);
      const lastModified = (await getFeed()).headers.get('last-modified') ?? '';
      expect((await getFeed({ 'If-Modified-Since': lastModified })).status).toBe(304);
      expect((await getFeed({ 'If-Modified-Since': minutes(0.5).toUTCString() })).status).toBe(304);
      expect((await getFeed({ 'If-Modified-Since': minutes(-1).toUTCString() })).status).toBe(200);
      // If-None-Match wins over If-Modified-Since.
      expect((await getFeed({ 'If-None-Match': '"other"', 'If-Modified-Since': lastModified })).status).toBe(200);
    });

    it('changes its ETag when a message expires, so a cached copy is refetched', async () => {
      now = minutes(29);
      const before = (await getFeed()).headers.get('etag') ?? '';
      now = minutes(31);
      const after = await getFeed({ 'If-None-Match': before });
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(before);
    });

    it('omits Last-Modified while its second is still open, and changes the ETag on a new message', async () => {
      now = minutes(40);
      const before = await getFeed();
      const etag = before.headers.get('etag') ?? '';
      const late = makeCapNotice({ id: 'n0late', title: '新しいお知らせ', sentAt: minutes(40), category: 'お知らせ' });
      await archive(late);
      now = new Date(minutes(40).getTime() + 300); // same second as the archiving
      const res = await getFeed({ 'If-None-Match': etag });
      expect(res.status).toBe(200);
      expect(res.headers.get('last-modified')).toBeNull();
      expect(parseAtom(await res.text()).entry?.[0]?.title).toBe('新しいお知らせ');
      now = minutes(41);
      expect((await getFeed()).headers.get('last-modified')).toBe(minutes(40).toUTCString());
    });
  });

  describe('GET /feeds/cap/:file', () => {
    const fileOf = (notice: NoticeView | undefined) => `/feeds/cap/${notice?.capIdentifier}.xml`;

    it('serves the stored CAP message, immutable, valid under both schemas', async () => {
      const res = await app.request(fileOf(notices.long));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/cap+xml; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
      const body = await res.text();
      expect(body).toBe((await repo.get(notices.long?.capIdentifier ?? ''))?.xml);
      const validation = await validateCap(body);
      expect(validation.errors).toEqual([]);
    });

    it('still serves a superseded or expired message, which later messages reference', async () => {
      now = minutes(1000);
      expect((await app.request(fileOf(notices.first))).status).toBe(200);
      expect((await app.request(fileOf(notices.short))).status).toBe(200);
    });

    it('answers 304 to a matching If-None-Match or If-Modified-Since', async () => {
      const first = await app.request(fileOf(notices.long));
      const etag = first.headers.get('etag') ?? '';
      const res = await app.request(fileOf(notices.long), { headers: { 'If-None-Match': etag } });
      expect(res.status).toBe(304);
      expect(await res.text()).toBe('');
      const lastModified = first.headers.get('last-modified') ?? '';
      expect((await app.request(fileOf(notices.long), { headers: { 'If-Modified-Since': lastModified } })).status).toBe(
        304,
      );
      expect((await app.request(fileOf(notices.long), { headers: { 'If-None-Match': '"stale"' } })).status).toBe(200);
    });

    it.each([
      ['an unknown identifier', '/feeds/cap/jp-432105-hibiki-nope-r1.xml'],
      ['a name without .xml', `/feeds/cap/${notices.long?.capIdentifier}`],
      ['another extension', `/feeds/cap/${notices.long?.capIdentifier}.json`],
    ])('answers 404 JSON for %s, not cached as immutable', async (_label, path) => {
      const res = await app.request(path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('not_found');
      expect(body.error.message).toContain('見つかりません');
    });
  });
});

describe.each(STORE_KINDS)('CAP feed kept in memory between readings of the store (%s)', (kind) => {
  const RECHECK_MS = 300;
  let db: TestDb;
  /** This API process's view of the store, counted. */
  let here: CapMessageRepo;
  /** Another process (a worker, a second API process) writing to the same store. */
  let elsewhere: CapMessageRepo;
  let readings = 0;
  let lists = 0;
  let app: ReturnType<typeof createFeedRoutes>;

  // Real time: the freshness interval runs on the clock, as in a deployment.
  const message = async (
    repo: CapMessageRepo,
    id: string,
    title: string,
    expiresAt = new Date(Date.now() + 3600_000),
  ) => {
    await insertNoticeRow(db, id);
    const built = buildCapMessage(makeCapNotice({ id, title, sentAt: new Date(), expiresAt }), CAP_TEST_OPTIONS);
    await repo.put({ ...built });
  };
  const titles = async (headers: Record<string, string> = {}) => {
    const res = await app.request('/feeds/cap.atom', { headers });
    return { res, titles: res.status === 200 ? (parseAtom(await res.text()).entry ?? []).map((e) => e.title) : [] };
  };

  beforeAll(async () => {
    db = await createTestDb(kind);
    const repo = createCapMessageRepo(db);
    here = {
      ...repo,
      feedVersion: (...args) => {
        readings++;
        return repo.feedVersion(...args);
      },
      listActive: (...args) => {
        lists++;
        return repo.listActive(...args);
      },
    };
    elsewhere = createCapMessageRepo(db);
    await message(elsewhere, 'n0first', '最初のお知らせ');
    app = createFeedRoutes({ capMessages: here, links, city, recheckMs: RECHECK_MS });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('answers many polls from one reading of the store and builds the XML once', async () => {
    const first = await titles();
    expect(first.titles).toEqual(['最初のお知らせ']);
    const etag = first.res.headers.get('etag') ?? '';
    readings = 0;
    lists = 0;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app.request('/feeds/cap.atom', i % 2 ? { headers: { 'If-None-Match': etag } } : {}),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(25).fill(200), ...Array(25).fill(304)]);
    expect(new Set(await Promise.all(answers.filter((r) => r.status === 200).map((r) => r.text()))).size).toBe(1);
    expect(readings).toBeLessThanOrEqual(1);
    expect(lists).toBe(0);
  });

  it('shows a message another process archived within the interval, and a conditional poll gets it', async () => {
    const before = await titles();
    const etag = before.res.headers.get('etag') ?? '';
    const archivedAt = Date.now();
    await message(elsewhere, 'n0other', '別のプロセスが書いたお知らせ');
    const seen = await waitUntil(
      'the other process’s message in the feed',
      async () => {
        const now = await titles({ 'If-None-Match': etag });
        return now.res.status === 200 && now.titles.includes('別のプロセスが書いたお知らせ') ? Date.now() : undefined;
      },
      5_000,
      20,
    );
    // "Within about a second" on every API process, with room for a slow CI machine.
    expect(seen - archivedAt).toBeLessThan(RECHECK_MS + 1000);
  });

  it('shows a message this process archived at once', async () => {
    await titles();
    await message(here, 'n0here', 'このプロセスが書いたお知らせ');
    expect((await titles()).titles).toContain('このプロセスが書いたお知らせ');
  });

  it('serves a CAP file archived after a 404 for it: an unknown file is not kept', async () => {
    const path = `/feeds/cap/${capIdentifier('n0later', 1)}.xml`;
    expect((await app.request(path)).status).toBe(404);
    await message(elsewhere, 'n0later', '後から届いたお知らせ');
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe((await elsewhere.get(capIdentifier('n0later', 1)))?.xml);
    expect((await app.request(path, { headers: { 'If-None-Match': res.headers.get('etag') ?? '' } })).status).toBe(304);
  });

  it('drops a message when its expiry passes, without waiting for the interval', async () => {
    // An interval far longer than the test: only the expiry itself can make the feed change.
    const slow = createFeedRoutes({ capMessages: here, links, city, recheckMs: 60_000 });
    await message(elsewhere, 'n0brief', 'すぐ終わるお知らせ', new Date(Date.now() + 2000));
    // CAP times have whole seconds: the stored expiry is the one that counts.
    const expiresAt = (await elsewhere.get(capIdentifier('n0brief', 1)))?.expiresAt ?? new Date(0);
    const shown = async () => (await (await slow.request('/feeds/cap.atom')).text()).includes('すぐ終わるお知らせ');
    expect(await shown()).toBe(true);
    const gone = await waitUntil(
      'the brief message gone',
      async () => ((await shown()) ? undefined : Date.now()),
      5_000,
      20,
    );
    expect(gone).toBeGreaterThanOrEqual(expiresAt.getTime());
    expect(gone - expiresAt.getTime()).toBeLessThan(1000);
  });
});
