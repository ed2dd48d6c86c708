import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLineMessages } from '../../channels/line/line-message.ts';
import { DEFAULT_MAIL_TEMPLATES_DIR, loadMailTemplates, renderMail } from '../../channels/mail/render-mail.ts';
import { renderPush } from '../../channels/webpush/push-payload.ts';
import { fitPost } from '../../channels/x/fit-post.ts';
import { aNotice, createHarness, type ErrorJson } from '../api/harness.ts';
import type { SinkMessage } from '../fakes/smtp-sink.ts';
import { postNotice, type StaffClient, staffClient } from '../helpers/api.ts';
import { appSuite } from '../helpers/app-suite.ts';
import { validateCap } from '../helpers/cap-schema.ts';
import { type ConsoleClient, signedInConsole } from '../helpers/console.ts';
import { STORE_KINDS } from '../helpers/db.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';
import { EXAMPLE_CATALOGUE, linkIn } from '../helpers/resident-app.ts';
import { waitForDeliveries } from '../helpers/seed.ts';
import { suiteFixture } from './abuse-fixture.ts';

/**
 * Markup, XML and template syntax typed by staff (title, body, department, link) or
 * written into the catalogue (topic and area names) reach residents as the text it is:
 * escaped in every page, mail and feed, never run as a template, and never breaking a
 * document. The notice goes through the real API, workers, SMTP and CAP feed.
 */

// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the injection attempt under test
const DOLLAR = '${process.env.HOME}';
const ETA_ECHO = '<%= it.title %>';
const ETA_RAW = '<%~ process.exit(1) %>';
const MUSTACHE = '{{areas}}';
/** Not allowed in XML 1.0 even escaped: CAP and Atom must drop them, pages may show them. */
const CONTROL = '\u0001\u0008\u000b\u001b';

const TITLE = `<script>alert("t")</script> ${ETA_ECHO} ${MUSTACHE} ]]> & 'q' "dq"${CONTROL}`;
const BODY = [
  `</p><img src=x onerror=alert(1)> ${ETA_RAW}`,
  `${ETA_ECHO} ${MUSTACHE} ${DOLLAR}`,
  `& < > " ' ]]> <![CDATA[ c ]]> <!-- comment -->${CONTROL}`,
  '',
  '&amp; stays as typed',
].join('\n');
const DEPARTMENT = '"><svg onload=alert(1)>防災課';
const LINK = `https://example.jp/a?b="><script>alert(2)</script>&c='d'`;

const TOPIC_NAME = '<b>防災</b><script>alert(3)</script>';
const TOPIC_NAME_EN = '"><img src=x onerror=alert(4)>';
const AREA_NAME = '菊池<iframe src=//evil.example>';
const AREA_NAME_EN = 'Kikuchi</title><script>alert(5)</script>';

/** Markup that, found raw in a page or mail, would run or show as markup. */
const RAW_MARKUP = [
  '<script>alert',
  '<img src=x',
  '<svg onload',
  '<iframe src=//evil',
  '<b>防災</b>',
  '</p><img',
  '<!-- comment -->',
  '<![CDATA[',
];

/** An HTML document holds every hostile string as text: none raw, and the title visibly there. */
function expectEscapedHtml(html: string, where: string) {
  for (const raw of RAW_MARKUP) expect(html, `${where}: raw ${raw}`).not.toContain(raw);
  // Template syntax stays text: neither run nor dropped.
  expect(html, `${where}: ${ETA_ECHO}`).not.toContain('<%');
}

const EXAMPLE_TOPICS = (JSON.parse(readFileSync(EXAMPLE_CATALOGUE, 'utf8')) as { topics: { id: string }[] }).topics;
const catalogueDir = mkdtempSync(join(tmpdir(), 'hibiki-injection-'));
const CATALOGUE_FILE = join(catalogueDir, 'catalogue.json');
writeFileSync(
  CATALOGUE_FILE,
  JSON.stringify({
    // The shipped catalogue's topics (the notice templates name them), one of them hostile.
    topics: [
      { id: 'disaster', name: TOPIC_NAME, nameEn: TOPIC_NAME_EN },
      ...EXAMPLE_TOPICS.filter((t) => t.id !== 'disaster'),
    ],
    areas: [{ code: '432105-01', name: AREA_NAME, nameEn: AREA_NAME_EN }],
  }),
);
afterAll(() => rmSync(catalogueDir, { recursive: true, force: true }));

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });

/** Well-formed XML, or the parser's error. */
function expectWellFormed(text: string, where: string) {
  expect(XMLValidator.validate(text), where).toBe(true);
  const forbidden = [...text].filter((ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d;
  });
  expect(forbidden, `${where}: characters XML 1.0 forbids`).toEqual([]);
}

describe('markup, XML and template syntax in a notice and the catalogue', () => {
  const RESIDENT = 'injection-resident@example.jp';
  const hibiki = appSuite({ mailTo: [RESIDENT], env: { CATALOGUE_FILE } });
  let api: StaffClient;
  let id: string;
  let approver: ConsoleClient & { tokenId: number; token: string };
  /** The resident's copy, kept: the suite empties the sink after each test. */
  let mail: SinkMessage;

  beforeAll(async () => {
    api = await staffClient(hibiki.deps, 'approver', '防災課 <script>alert(6)</script>');
    id = await postNotice(api, {
      title: TITLE,
      body: BODY,
      department: DEPARTMENT,
      link: LINK,
      severity: 'warning',
      category: '避難情報',
      topics: ['disaster'],
      areas: ['432105-01'],
      channels: ['mail', 'cap'],
    });
    await waitForDeliveries(hibiki.deps, id, 2);
    const received = hibiki.sink.messages.find((m) => m.envelope.rcptTo.includes(RESIDENT));
    if (!received) throw new Error('no mail reached the resident');
    mail = received;
    approver = await signedInConsole(
      hibiki.app,
      hibiki.deps.store.tokens,
      'approver',
      '係長 "><script>alert(7)</script>',
    );
  });

  it('are escaped in the HTML mail and kept literally in the text mail, with the link attribute intact', async () => {
    const html = mail.parsed.html || '';
    expectEscapedHtml(html, 'mail HTML');
    expect(html).toContain('&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;%~ process.exit(1) %&gt;');
    expect(html).toContain(MUSTACHE);
    expect(html).toContain(DOLLAR);
    expect(html).toContain('&amp;amp; stays as typed');
    expect(html).toContain('菊池&lt;iframe src=//evil.example&gt;');
    // The link's quote cannot close its href: the attribute holds all of it.
    expect(html).toContain(
      `href="https://example.jp/a?b=&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;&amp;c=&#39;d&#39;"`,
    );

    const text = mail.parsed.text ?? '';
    for (const literal of [
      ETA_ECHO,
      ETA_RAW,
      MUSTACHE,
      DOLLAR,
      '<script>alert("t")</script>',
      '&amp; stays as typed',
    ]) {
      expect(text).toContain(literal);
    }
    expect(mail.parsed.subject).toContain('<script>alert("t")</script>');
    expect(mail.parsed.subject).toContain(ETA_ECHO);
  });

  it('leave the CAP message well-formed and valid against both CAP schemas, with the text intact', async () => {
    const feedRes = await hibiki.app.request('/feeds/cap.atom');
    expect(feedRes.status).toBe(200);
    const feedText = await feedRes.text();
    expectWellFormed(feedText, '/feeds/cap.atom');
    const hrefs = [...feedText.matchAll(/href="([^"]+\/feeds\/cap\/[^"]+\.xml)"/g)].map((m) => m[1] as string);
    expect(hrefs).toHaveLength(1);
    const capRes = await hibiki.app.request(new URL(hrefs[0] as string).pathname);
    expect(capRes.status).toBe(200);
    const cap = await capRes.text();
    expectWellFormed(cap, 'CAP message');
    const validation = await validateCap(cap);
    expect(validation.errors).toEqual([]);

    const alert = xml.parse(cap) as {
      alert: { info: { headline: string; description: string; web: string; area: { areaDesc: string } } };
    };
    const info = alert.alert.info;
    expect(info.headline).toContain('<script>alert("t")</script>');
    expect(info.headline).toContain(`]]> & 'q' "dq"`);
    expect(info.description).toContain(ETA_RAW);
    expect(info.description).toContain(`& < > " ' ]]> <![CDATA[ c ]]> <!-- comment -->`);
    expect(info.description).toContain('&amp; stays as typed');
    expect(info.area.areaDesc).toContain(AREA_NAME);
  });

  it('leave the residents’ Atom feed well-formed, with the title as text', async () => {
    const res = await hibiki.app.request('/notices.atom');
    expect(res.status).toBe(200);
    const text = await res.text();
    expectWellFormed(text, '/notices.atom');
    const feed = xml.parse(text) as { feed: { entry: { title: string; author: { name: string } } } };
    expect(feed.feed.entry.title).toContain('<script>alert("t")</script>');
    expect(feed.feed.entry.title).toContain(`]]> & 'q' "dq"`);
    expect(feed.feed.entry.author.name).toBe(DEPARTMENT);
  });

  it('are escaped in the public pages: the list, the notice, sign-up and manage', async () => {
    const pages: Record<string, string> = {};
    for (const path of ['/notices', `/notices/${id}`, '/subscribe']) {
      const res = await hibiki.app.request(path);
      expect(res.status, path).toBe(200);
      pages[path] = await res.text();
    }
    const manage = linkIn(mail.parsed.text, 'manage');
    const res = await hibiki.app.request(manage.path);
    expect(res.status).toBe(200);
    pages['/manage'] = await res.text();

    for (const [path, html] of Object.entries(pages)) expectEscapedHtml(html, path);
    expect(pages['/notices']).toContain('&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;');
    const notice = pages[`/notices/${id}`] ?? '';
    expect(notice).toContain('&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(notice).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;防災課');
    // Topic and area names from the catalogue are text where residents choose them.
    expect(pages['/subscribe']).toContain('&lt;b&gt;防災&lt;/b&gt;');
    expect(pages['/manage']).toContain('&lt;b&gt;防災&lt;/b&gt;');
    expect(pages['/subscribe']).toContain('菊池&lt;iframe src=//evil.example&gt;');
  });

  it('are escaped in the console: the list, the detail and the compose preview', async () => {
    const list = await approver.page('/console/notices');
    const detail = await approver.page(`/console/notices/${id}`);
    const compose = await approver.page('/console/notices/new');
    const previewRes = await approver.post(
      '/console/notices/preview',
      {
        nonce: 'nonce-injection-0123456789',
        title: TITLE,
        body: BODY,
        severity: 'warning',
        category: '避難情報',
        topics: ['disaster'],
        areas: ['432105-01'],
        channels: ['mail', 'cap'],
        mode: 'actual',
        scheduledAt: '',
        expiresAt: '',
        department: DEPARTMENT,
        link: LINK,
      },
      { 'x-csrf-token': approver.csrf ?? '' },
    );
    expect(previewRes.status).toBe(200);
    const preview = await previewRes.text();
    for (const [where, html] of Object.entries({ list, detail, compose, preview })) expectEscapedHtml(html, where);
    expect(list).toContain('&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;');
    expect(detail).toContain('&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(detail).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;防災課');
    expect(compose).toContain('&lt;b&gt;防災&lt;/b&gt;');
    expect(preview).toContain('&lt;%~ process.exit(1) %&gt;');
    // Staff names (from tokens) are text too, in the header and the detail's history.
    expect(detail).not.toContain('<script>alert(6)');
    expect(detail).not.toContain('<script>alert(7)');
  });
});

describe('the mail templates', () => {
  const dir = DEFAULT_MAIL_TEMPLATES_DIR;
  const htmlTemplates = readdirSync(dir).filter((f) => f.endsWith('.html.eta'));
  const hostile = makeNoticeView({ title: TITLE, body: BODY, link: LINK });

  it('escape every output in HTML: no raw <%~ in any HTML template', () => {
    expect(htmlTemplates.length).toBeGreaterThanOrEqual(6);
    for (const file of htmlTemplates) expect(readFileSync(join(dir, file), 'utf8'), file).not.toContain('<%~');
  });

  it('would be caught by this suite if one printed the title raw', () => {
    const copy = mkdtempSync(join(tmpdir(), 'hibiki-raw-template-'));
    try {
      for (const file of readdirSync(dir)) {
        const text = readFileSync(join(dir, file), 'utf8');
        writeFileSync(
          join(copy, file),
          file === 'notice.ja.html.eta' ? text.replace('<%= it.title %>', '<%~ it.title %>') : text,
        );
      }
      const raw = renderMail(hostile, 'ja', loadMailTemplates(copy));
      expect(() => expectEscapedHtml(raw.html, 'raw copy')).toThrow(/raw <script>alert/);
      expect(() => expectEscapedHtml(renderMail(hostile, 'ja', loadMailTemplates()).html, 'shipped')).not.toThrow();
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('template syntax in a notice reaches every channel as text', () => {
  const notice = makeNoticeView({ title: `${ETA_ECHO} ${MUSTACHE}`, body: `${ETA_RAW}\n${ETA_ECHO} ${DOLLAR}` });

  it('in the mail templates (text and HTML), which are the only templates a notice is rendered through', () => {
    const mail = renderMail(notice, 'ja', loadMailTemplates());
    expect(mail.subject).toContain(ETA_ECHO);
    expect(mail.text).toContain(ETA_RAW);
    expect(mail.text).toContain(`${ETA_ECHO} ${DOLLAR}`);
    expect(mail.html).toContain('&lt;%~ process.exit(1) %&gt;');
    expect(mail.html).toContain(DOLLAR);
  });

  it('in LINE, X and push messages', () => {
    const line = JSON.stringify(renderLineMessages(notice, 'ja'));
    expect(line).toContain(ETA_RAW);
    expect(line).toContain(MUSTACHE);
    expect(line).toContain(DOLLAR);
    const x = fitPost(notice, 'ja', { longText: 'thread', threadMax: 4 });
    expect(JSON.stringify(x)).toContain(ETA_ECHO);
    expect(JSON.stringify(x)).toContain(MUSTACHE);
    const push = JSON.stringify(renderPush(notice, 'ja', 3_600));
    expect(push).toContain(ETA_ECHO);
    expect(push).toContain(MUSTACHE);
  });
});

describe.each(STORE_KINDS)('a NUL character in a notice (%s)', (store) => {
  const h = suiteFixture(() => createHarness(store));

  // PostgreSQL refuses U+0000 in text: without a check the insert failed with a 500.
  it.each(['title', 'body', 'department'])(
    'in %s is refused with a 400 naming the field, on every store',
    async (field) => {
      const res = await h().request('POST', '/v1/notices', {
        as: 'approver',
        json: aNotice({ [field]: 'before\u0000after', channels: ['cap'] }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as ErrorJson;
      expect(body.error.code).toBe('validation_failed');
      expect(Object.keys(body.error.fields ?? {})).toEqual([field]);
    },
  );
});
