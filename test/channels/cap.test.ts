import { readdirSync, readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCapMessage, formatCapTime, HEADLINE_MAX } from '../../channels/cap/build-cap.ts';
import { createCapChannel } from '../../channels/cap/cap-channel.ts';

import { ChannelError, type Recipient, type RecipientResult, type SendContext } from '../../channels/types.ts';
import type { CapArchive, CapMessage } from '../../src/domain/cap-archive.ts';
import { CATEGORIES, type NoticeView, SEVERITIES } from '../../src/domain/notice.ts';
import { createCapMessageRepo } from '../../src/store/cap-messages.ts';
import {
  CAP_TEST_OPTIONS,
  CAP_TEST_SENT,
  capIdentifier,
  earlierRevisions,
  insertNoticeRow,
  makeCapNotice,
} from '../helpers/cap-notice.ts';
import { CAP_SAMPLES_DIR, validateCap, validateCapAgainst } from '../helpers/cap-schema.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';

const SENDER = CAP_TEST_OPTIONS.sender;
const CAP_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$/;
const KIKUCHI = { code: '432105', name: '菊池市', nameEn: 'Kikuchi City' };
const SHISUI = { code: '432164', name: '菊池市泗水町', nameEn: 'Shisui' };
const SPECIAL = `避難 & <緊急> "確認" 'テスト' 🙏🏽👨‍👩‍👧 ]]> 終わり`;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });

interface ParsedAlert {
  '@_xmlns': string;
  identifier: string;
  sender: string;
  sent: string;
  status: string;
  msgType: string;
  scope: string;
  note?: string;
  references?: string;
  info: {
    language: string;
    category: string | string[];
    event: string;
    responseType?: string;
    urgency: string;
    severity: string;
    certainty: string;
    expires?: string;
    senderName: string;
    headline: string;
    description?: string;
    instruction?: string;
    web: string;
    area: { areaDesc: string; geocode: { valueName: string; value: string } | { valueName: string; value: string }[] };
  };
}

const parse = (message: CapMessage): ParsedAlert => (parser.parse(message.xml) as { alert: ParsedAlert }).alert;
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

const earlier2 = earlierRevisions('n0upd', 2);
const CASES: Record<string, NoticeView> = {
  'alert with areas': makeCapNotice({
    id: 'n0alert',
    severity: 'emergency',
    category: '避難情報',
    title: '【緊急安全確保】菊池川流域',
    areas: [KIKUCHI, SHISUI],
  }),
  'alert without areas (whole city)': makeCapNotice({
    id: 'n0city',
    severity: 'info',
    category: 'お知らせ',
    expiresAt: null,
  }),
  'update with 2 earlier revisions': makeCapNotice({
    id: 'n0upd',
    revision: 3,
    kind: 'update',
    earlier: earlier2,
    areas: [SHISUI],
  }),
  cancel: makeCapNotice({ id: 'n0upd', revision: 4, kind: 'cancel', earlier: earlierRevisions('n0upd', 3), body: '' }),
  exercise: makeCapNotice({ id: 'n0drill', mode: 'exercise', severity: 'advisory', category: '避難所情報' }),
  test: makeCapNotice({ id: 'n0test', mode: 'test', severity: 'warning', category: '被害情報', areas: [KIKUCHI] }),
  'XML-special characters and emoji': makeCapNotice({
    id: 'n0special',
    category: 'イベント情報',
    title: SPECIAL,
    body: `${SPECIAL}\n2行目 </description><status>Actual</status>`,
    pageUrl: 'https://hibiki.city.kikuchi.example/notices/n0special?lang=ja&from=cap',
  }),
};

describe('the CAP validator (both schemas)', () => {
  const samples = readdirSync(CAP_SAMPLES_DIR).filter((f) => f.endsWith('.xml'));

  it('has the public samples to check itself against', () => {
    expect(samples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(samples)('accepts the published sample %s', async (file) => {
    const result = await validateCap(readFileSync(new URL(file, CAP_SAMPLES_DIR), 'utf8'));
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('rejects a message with a status outside CAP 1.2, under both schemas', async () => {
    const sample = readFileSync(new URL('01-alert-amber-multilang-oasis-example.cap.xml', CAP_SAMPLES_DIR), 'utf8');
    const bad = sample.replace('<status>Actual</status>', '<status>Real</status>');
    expect(bad).not.toBe(sample);
    const result = await validateCap(bad);
    expect(result.valid).toBe(false);
    expect(result.errors.some((e) => e.startsWith('[CAP-v1.2.xsd]') && e.includes("'Real'"))).toBe(true);
    expect(result.errors.some((e) => e.startsWith('[cap12-extended.xsd]') && e.includes("'Real'"))).toBe(true);
  });

  it('needs the extended schema: an identifier with a space passes OASIS but not cap12-extended', async () => {
    const sample = readFileSync(new URL('03-alert-uk-environment-agency-flood.cap.xml', CAP_SAMPLES_DIR), 'utf8');
    const bad = sample.replace('<identifier>50385fcb', '<identifier>50385 fcb');
    expect((await validateCapAgainst(bad, 'CAP-v1.2.xsd')).valid).toBe(true);
    const extended = await validateCapAgainst(bad, 'cap12-extended.xsd');
    expect(extended.valid).toBe(false);
    expect(extended.errors.join('\n')).toContain('identifier');
    expect((await validateCap(bad)).valid).toBe(false);
  });

  it('rejects XML that is not well-formed instead of throwing', async () => {
    const result = await validateCap(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</alert>`);
    expect(result.valid).toBe(false);
    expect(result.errors.length).toBeGreaterThan(0);
  });
});

describe('buildCapMessage', () => {
  const built = Object.fromEntries(
    Object.entries(CASES).map(([name, notice]) => [name, buildCapMessage(notice, CAP_TEST_OPTIONS)]),
  ) as Record<keyof typeof CASES, CapMessage>;
  const get = (name: string): CapMessage => {
    const message = built[name];
    if (!message) throw new Error(`no case ${name}`);
    return message;
  };

  it.each(Object.keys(CASES))('%s passes CAP-v1.2.xsd and cap12-extended.xsd', async (name) => {
    const result = await validateCap(get(name).xml);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('starts with a UTF-8 XML declaration and puts everything in the CAP 1.2 namespace', () => {
    for (const message of Object.values(built)) {
      expect(message.xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<alert ')).toBe(true);
      expect(parse(message)['@_xmlns']).toBe('urn:oasis:names:tc:emergency:cap:1.2');
    }
  });

  it('writes sent and expires in JST with +09:00 and whole seconds', () => {
    const message = buildCapMessage(
      makeCapNotice({
        sentAt: new Date('2026-11-26T10:39:00.987Z'),
        expiresAt: new Date('2026-11-26T16:00:00.5Z'),
      }),
      CAP_TEST_OPTIONS,
    );
    const alert = parse(message);
    expect(alert.sent).toBe('2026-11-26T19:39:00+09:00');
    expect(alert.info.expires).toBe('2026-11-27T01:00:00+09:00');
    expect(message.sentAt.toISOString()).toBe('2026-11-26T10:39:00.000Z');
    expect(message.expiresAt?.toISOString()).toBe('2026-11-26T16:00:00.000Z');
    for (const m of Object.values(built)) {
      const a = parse(m);
      expect(a.sent).toMatch(CAP_TIME);
      if (a.info.expires !== undefined) expect(a.info.expires).toMatch(CAP_TIME);
    }
  });

  it('formats times across the JST date line', () => {
    expect(formatCapTime(new Date('2026-12-31T15:00:00Z'))).toBe('2027-01-01T00:00:00+09:00');
    expect(formatCapTime(new Date('2026-12-31T14:59:59.999Z'))).toBe('2026-12-31T23:59:59+09:00');
  });

  it('omits expires when the notice does not expire', () => {
    const message = get('alert without areas (whole city)');
    expect(message.expiresAt).toBeNull();
    expect(message.xml).not.toContain('<expires>');
  });

  it('maps the revision kind to msgType and lists every earlier revision in references', () => {
    const alert = parse(get('alert with areas'));
    expect(alert.msgType).toBe('Alert');
    expect(alert.references).toBeUndefined();

    const update = parse(get('update with 2 earlier revisions'));
    expect(update.msgType).toBe('Update');
    expect(update.references).toBe(
      `${SENDER},${capIdentifier('n0upd', 1)},2026-11-26T19:19:00+09:00 ` +
        `${SENDER},${capIdentifier('n0upd', 2)},2026-11-26T19:29:00+09:00`,
    );

    const cancel = parse(get('cancel'));
    expect(cancel.msgType).toBe('Cancel');
    const refs = (cancel.references ?? '').split(' ');
    expect(refs).toHaveLength(3);
    for (const [i, ref] of refs.entries()) {
      const [sender, identifier, sent] = ref.split(',');
      expect(sender).toBe(SENDER);
      expect(identifier).toBe(capIdentifier('n0upd', i + 1));
      expect(sent).toMatch(CAP_TIME);
    }
  });

  it('refers to each earlier message by the very sent value that message carried', () => {
    const first = makeCapNotice({ id: 'n0chain', sentAt: new Date('2026-11-26T10:00:00.750Z') });
    const firstMessage = parse(buildCapMessage(first, CAP_TEST_OPTIONS));
    const second = makeCapNotice({
      id: 'n0chain',
      revision: 2,
      kind: 'update',
      earlier: [{ revision: 1, capIdentifier: first.capIdentifier, sentAt: first.sentAt }],
    });
    expect(parse(buildCapMessage(second, CAP_TEST_OPTIONS)).references).toBe(
      `${SENDER},${first.capIdentifier},${firstMessage.sent}`,
    );
  });

  it('never sends an exercise or a test as Actual', () => {
    expect(parse(get('exercise')).status).toBe('Exercise');
    expect(parse(get('test')).status).toBe('Test');
    expect(parse(get('alert with areas')).status).toBe('Actual');
    for (const kind of ['alert', 'update', 'cancel'] as const) {
      for (const mode of ['exercise', 'test'] as const) {
        const message = buildCapMessage(
          makeCapNotice({ kind, mode, revision: 2, earlier: earlierRevisions('n0test', 1) }),
          CAP_TEST_OPTIONS,
        );
        const alert = parse(message);
        expect(alert.status).not.toBe('Actual');
        expect(alert.status).toBe(mode === 'exercise' ? 'Exercise' : 'Test');
        expect(alert.info.headline.startsWith('【訓練】')).toBe(true);
        expect(alert.note).toBeTruthy();
      }
    }
  });

  it('uses the revision identifier, distinct for every revision', () => {
    const ids = Object.values(CASES).map((n) => buildCapMessage(n, CAP_TEST_OPTIONS).identifier);
    expect(ids).toEqual(Object.values(CASES).map((n) => n.capIdentifier));
    expect(new Set(ids).size).toBe(ids.length);
    const revisions = [1, 2, 3].map(
      (revision) =>
        buildCapMessage(
          makeCapNotice({
            revision,
            kind: revision === 1 ? 'alert' : 'update',
            earlier: earlierRevisions('n0test', revision - 1),
          }),
          CAP_TEST_OPTIONS,
        ).identifier,
    );
    expect(new Set(revisions).size).toBe(3);
  });

  it('is Public, in Japanese, from the city, linking to the notice page', () => {
    const alert = parse(get('alert with areas'));
    expect(alert.scope).toBe('Public');
    expect(alert.sender).toBe(SENDER);
    expect(alert.info.language).toBe('ja-JP');
    expect(alert.info.senderName).toBe('菊池市');
    expect(alert.info.event).toBe('避難情報');
    expect(alert.info.web).toBe(CASES['alert with areas']?.pageUrl);
  });

  it('maps every category to CAP categories and every severity to urgency/severity/certainty', () => {
    const expectedCategory = {
      避難情報: ['Safety'],
      避難所情報: ['Safety'],
      被害情報: ['Infra', 'Safety'],
      気象情報: ['Met'],
      お知らせ: ['Other'],
      イベント情報: ['Other'],
    };
    for (const category of CATEGORIES) {
      const alert = parse(buildCapMessage(makeCapNotice({ category }), CAP_TEST_OPTIONS));
      expect(asArray(alert.info.category)).toEqual(expectedCategory[category]);
      expect(alert.info.event).toBe(category);
    }
    const expectedGrading = {
      emergency: ['Immediate', 'Extreme', 'Observed'],
      warning: ['Expected', 'Severe', 'Likely'],
      advisory: ['Future', 'Moderate', 'Possible'],
      info: ['Unknown', 'Minor', 'Unknown'],
    };
    for (const severity of SEVERITIES) {
      const { info } = parse(buildCapMessage(makeCapNotice({ severity }), CAP_TEST_OPTIONS));
      expect([info.urgency, info.severity, info.certainty]).toEqual(expectedGrading[severity]);
    }
  });

  it('calls for evacuation only in 避難情報', () => {
    expect(parse(get('alert with areas')).info.responseType).toBe('Evacuate');
    expect(
      parse(buildCapMessage(makeCapNotice({ category: '避難情報', severity: 'advisory' }), CAP_TEST_OPTIONS)).info
        .responseType,
    ).toBe('Prepare');
    expect(parse(get('update with 2 earlier revisions')).info.responseType).toBeUndefined();
  });

  it('sends a cancel as an all clear that stays until the notice would have expired', () => {
    const message = get('cancel');
    const alert = parse(message);
    expect(alert.info.responseType).toBe('AllClear');
    expect([alert.info.urgency, alert.info.severity, alert.info.certainty]).toEqual(['Past', 'Minor', 'Observed']);
    expect(alert.info.headline.startsWith('【取消】')).toBe(true);
    expect(alert.info.instruction).toContain('取り消されました');
    expect(alert.info.description).toBeUndefined();
    expect(message.expiresAt).toEqual(CASES.cancel?.expiresAt);
  });

  it('keeps a cancel of a notice without expiry in the feed for a day', () => {
    const message = buildCapMessage(
      makeCapNotice({ kind: 'cancel', revision: 2, earlier: earlierRevisions('n0test', 1), expiresAt: null }),
      CAP_TEST_OPTIONS,
    );
    expect(message.expiresAt?.getTime()).toBe(CAP_TEST_SENT.getTime() + 24 * 3600_000);
    expect(parse(message).info.expires).toBe('2026-11-27T19:39:00+09:00');
  });

  it('describes the area by its names with one JIS X 0402 geocode each', () => {
    const { area } = parse(get('alert with areas')).info;
    expect(area.areaDesc).toBe('菊池市 菊池市泗水町');
    expect(asArray(area.geocode)).toEqual([
      { valueName: 'JISX0402', value: '432105' },
      { valueName: 'JISX0402', value: '432164' },
    ]);
  });

  it('describes a whole-city notice by the city name and code', () => {
    const { area } = parse(get('alert without areas (whole city)')).info;
    expect(area.areaDesc).toBe('菊池市');
    expect(asArray(area.geocode)).toEqual([{ valueName: 'JISX0402', value: '432105' }]);
  });

  it('escapes XML-special characters and keeps emoji intact', () => {
    const message = get('XML-special characters and emoji');
    const alert = parse(message);
    expect(alert.info.headline).toBe(SPECIAL);
    expect(alert.info.description).toBe(`${SPECIAL}\n2行目 </description><status>Actual</status>`);
    expect(alert.info.web).toBe('https://hibiki.city.kikuchi.example/notices/n0special?lang=ja&from=cap');
    expect(message.xml).toContain('&amp; &lt;緊急&gt; &quot;確認&quot;');
    expect(message.xml.match(/<status>/g)).toHaveLength(1);
  });

  it('puts the headline on one line and keeps ideographic spaces', () => {
    const alert = parse(
      buildCapMessage(makeCapNotice({ title: '菊池市\u3000避難指示\n  旭志地区\t発令' }), CAP_TEST_OPTIONS),
    );
    expect(alert.info.headline).toBe('菊池市\u3000避難指示 旭志地区 発令');
  });

  it('drops characters XML 1.0 cannot carry', async () => {
    const message = buildCapMessage(
      makeCapNotice({ title: 'ベル\u0007付き', body: '制御\u0000文字\uFFFE' }),
      CAP_TEST_OPTIONS,
    );
    const alert = parse(message);
    expect(alert.info.headline).toBe('ベル付き');
    expect(alert.info.description).toBe('制御文字');
    expect((await validateCap(message.xml)).valid).toBe(true);
  });

  it('trims a long headline at a grapheme boundary and keeps the whole body', async () => {
    const title = `${'警'.repeat(HEADLINE_MAX - 2)}👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧`;
    const body = 'あ'.repeat(5000);
    const message = buildCapMessage(makeCapNotice({ title, body }), CAP_TEST_OPTIONS);
    const { headline, description } = parse(message).info;
    const graphemes = Array.from(new Intl.Segmenter('ja', { granularity: 'grapheme' }).segment(headline));
    expect(graphemes).toHaveLength(HEADLINE_MAX);
    expect(headline.endsWith('👨‍👩‍👧…')).toBe(true);
    expect(description).toBe(body);
    expect((await validateCap(message.xml)).valid).toBe(true);
  });

  it('refuses a sender or identifier that CAP forbids, naming it', () => {
    expect(() => buildCapMessage(makeCapNotice(), { ...CAP_TEST_OPTIONS, sender: 'city of kikuchi' })).toThrow(
      /sender \(CAP_SENDER\) "city of kikuchi"/,
    );
    expect(() => buildCapMessage(makeCapNotice({ capIdentifier: 'a,b' }), CAP_TEST_OPTIONS)).toThrow(
      /identifier of notice n0test revision 1 "a,b"/,
    );
  });

  it('refuses an update or cancel with nothing to reference, and a reused identifier', () => {
    for (const kind of ['update', 'cancel'] as const) {
      expect(() => buildCapMessage(makeCapNotice({ kind, revision: 2 }), CAP_TEST_OPTIONS)).toThrow(
        `notice n0test revision 2 is an ${kind} but lists no earlier revision`,
      );
    }
    const reused = makeCapNotice({
      kind: 'update',
      revision: 2,
      capIdentifier: capIdentifier('n0test', 1),
      earlier: earlierRevisions('n0test', 1),
    });
    expect(() => buildCapMessage(reused, CAP_TEST_OPTIONS)).toThrow(/reuses revision 1/);
  });

  it('is pure: the same notice gives the same bytes', () => {
    const notice = CASES['update with 2 earlier revisions'];
    if (!notice) throw new Error('missing case');
    expect(buildCapMessage(notice, CAP_TEST_OPTIONS).xml).toBe(buildCapMessage(notice, CAP_TEST_OPTIONS).xml);
  });
});

describe('createCapChannel', () => {
  let db: TestDb;

  beforeAll(async () => {
    db = await createTestDb('sqlite');
    await insertNoticeRow(db, 'n0chan');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const recipient: Recipient = { deliveryId: 41, contactId: null, address: '*', locale: 'ja' };
  const context = (notice: NoticeView, results: RecipientResult[] = []): SendContext => ({
    deliveryKey: `d-${notice.id}-r${notice.revision}-cap-0`,
    attempt: 1,
    signal: new AbortController().signal,
    notice,
    onResult: (r) => results.push(r),
  });

  it('is a public channel posting one message per send', () => {
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: createCapMessageRepo(db) });
    expect(channel.id).toBe('cap');
    expect(channel.audience).toBe('public');
    expect(channel.maxBatch).toBe(1);
  });

  it('renders the CAP message whatever the locale', () => {
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: createCapMessageRepo(db) });
    const notice = makeCapNotice({ id: 'n0chan' });
    expect(channel.render(notice, 'en')).toEqual(buildCapMessage(notice, CAP_TEST_OPTIONS));
  });

  it('archives the message and reports the recipient sent, also when retried', async () => {
    const repo = createCapMessageRepo(db);
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: repo });
    const notice = makeCapNotice({ id: 'n0chan' });
    const message = channel.render(notice, 'ja');
    const reported: RecipientResult[] = [];

    const results = await channel.send(message, [recipient], context(notice, reported));
    expect(results).toEqual([{ deliveryId: 41, status: 'sent', providerId: notice.capIdentifier }]);
    expect(reported).toEqual(results);
    const stored = await repo.get(notice.capIdentifier);
    expect(stored?.xml).toBe(message.xml);
    expect(stored?.msgType).toBe('Alert');
    expect(stored?.noticeId).toBe('n0chan');
    expect(stored?.revision).toBe(1);

    // A retry after a crash between archive and delivery row puts it again: harmless.
    await expect(channel.send(message, [recipient], context(notice))).resolves.toHaveLength(1);
  });

  it('turns a render failure into a permanent ChannelError naming the notice', () => {
    const channel = createCapChannel(
      { ...CAP_TEST_OPTIONS, sender: 'bad sender' },
      { archive: createCapMessageRepo(db) },
    );
    const notice = makeCapNotice({ id: 'n0chan' });
    try {
      channel.render(notice, 'ja');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ChannelError);
      expect((err as ChannelError).kind).toBe('permanent');
      expect((err as ChannelError).message).toContain('n0chan');
    }
  });

  it('turns an identifier reused by another notice into a permanent ChannelError', async () => {
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: createCapMessageRepo(db) });
    const earlier = earlierRevisions('n0chan', 1);
    const first = makeCapNotice({ id: 'n0chan', revision: 2, kind: 'update', capIdentifier: 'shared-id', earlier });
    await channel.send(channel.render(first, 'ja'), [recipient], context(first));
    const other = makeCapNotice({ id: 'n0chan', revision: 3, kind: 'update', capIdentifier: 'shared-id', earlier });
    await expect(channel.send(channel.render(other, 'ja'), [recipient], context(other))).rejects.toMatchObject({
      name: 'ChannelError',
      channel: 'cap',
      kind: 'permanent',
    });
  });

  it('throws a retryable ChannelError when the store fails', async () => {
    const broken = await createTestDb('sqlite');
    await broken.drop(); // the connection is closed: every query now fails
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: createCapMessageRepo(broken) });
    const notice = makeCapNotice({ id: 'n0chan', revision: 9, capIdentifier: 'never-stored' });
    const error = await channel.send(channel.render(notice, 'ja'), [recipient], context(notice)).catch((e) => e);
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).kind).toBe('retryable');
    expect((error as ChannelError).message).toContain('never-stored');
  });

  it('passes the store error through as the cause', async () => {
    const failing: CapArchive = {
      put: async () => {
        throw new Error('disk full');
      },
    };
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: failing });
    const notice = makeCapNotice({ id: 'n0chan' });
    const error = (await channel
      .send(channel.render(notice, 'ja'), [recipient], context(notice))
      .catch((e) => e)) as ChannelError;
    expect(error.kind).toBe('retryable');
    expect((error.cause as Error).message).toBe('disk full');
  });
});
