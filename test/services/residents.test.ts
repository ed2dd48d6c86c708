import { readdirSync, readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import { createResidentService, type ResidentService } from '../../src/services/residents.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { exampleCatalogue, linkIn, residentApp } from '../helpers/resident-app.ts';
import { waitForDeliveries } from '../helpers/seed.ts';

const CLIENT = '203.0.113.10';

describe('resident sign-up service over real SMTP and Redis', () => {
  let deps: TestDeps | undefined;
  let sink: SmtpSink | undefined;
  let residents: ResidentService | undefined;
  let workers: RunningWorkers | undefined;
  let catalogue: Catalogue;

  async function setUp(env: Record<string, string> = {}, withSink = true) {
    sink = withSink ? await startSmtpSink() : undefined;
    deps = await createTestDeps({ env: { CHANNELS: 'mail', ...(sink ? { SMTP_URL: sink.url } : {}), ...env } });
    catalogue = await exampleCatalogue(deps);
    residents = createResidentService({ ...deps, catalogue });
    return { deps, sink: sink as SmtpSink, residents };
  }

  afterEach(async () => {
    await workers?.close();
    residents?.close();
    await deps?.dispose();
    await sink?.close();
    workers = residents = deps = sink = undefined;
  });

  const signup = (
    email: string,
    overrides: Partial<{ topics: string[]; areas: string[]; locale: 'ja' | 'en' }> = {},
  ) => ({ email, topics: ['disaster', 'weather'], areas: ['432105-02'], locale: 'ja' as const, ...overrides });

  /** Whether a notice about `topic` for the whole city would reach the address now. */
  async function inAudience(d: TestDeps, address: string, topic = 'disaster'): Promise<boolean> {
    const ids = await d.store.subscribers.audiencePage(
      { channel: 'mail', topics: [topic], areas: [], ignoreTopics: false, severity: 'info' },
      0,
      1000,
    );
    const contact = await d.store.db.kysely
      .selectFrom('contacts')
      .select('id')
      .where('address', '=', address)
      .executeTakeFirst();
    return contact !== undefined && ids.includes(Number(contact.id));
  }

  it('mails a confirmation whose link works once; only then does the address get notices', async () => {
    const { deps, sink, residents } = await setUp();
    const request = residents.normalise({ ...signup(' Hanako@Example.JP '), topics: ['disaster', 'weather'] });
    expect(request.email).toBe('hanako@example.jp');
    expect(await residents.requestSignup(request, CLIENT)).toEqual({ outcome: 'accepted' });

    const [mail] = await sink.waitFor(1);
    expect(mail?.envelope.rcptTo).toEqual(['hanako@example.jp']);
    expect(mail?.parsed.subject).toBe('菊池市 防災・お知らせメール：登録の確認');
    expect(mail?.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail?.parsed.html).toContain('<html lang="ja">');
    const link = linkIn(mail?.parsed.text, 'confirm');
    expect(link.url.startsWith('https://hibiki.example.jp/subscribe/confirm?t=')).toBe(true);
    // The HTML part carries the same link.
    expect(mail?.parsed.html).toContain(`href="${link.url}"`);
    expect(await inAudience(deps, 'hanako@example.jp')).toBe(false);

    // Follow the link through the real pages: GET shows a button and changes nothing, POST confirms.
    const { app } = residentApp(deps, catalogue);
    const page = await app.request(link.path);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('登録を完了する');
    expect(await inAudience(deps, 'hanako@example.jp')).toBe(false);
    const form = /name="form" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const done = await app.request(link.path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ form }).toString(),
    });
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain('登録が完了しました');
    expect(doneHtml).toContain('七城地区');
    expect(doneHtml).toMatch(/href="https:\/\/hibiki\.example\.jp\/manage\?t=\d+\.[A-Za-z0-9_-]{32}"/);
    expect(await inAudience(deps, 'hanako@example.jp')).toBe(true);
    expect(await inAudience(deps, 'hanako@example.jp', 'events')).toBe(false);

    // One use only.
    expect(await residents.confirm(link.token)).toBeUndefined();
    expect((await app.request(link.path)).status).toBe(400);
  });

  it('answers the same for a known address, mails it a manage link instead, and changes nothing', async () => {
    const { deps, sink, residents } = await setUp({ SIGNUP_LIMIT_PER_ADDRESS: '10' });
    await residents.requestSignup(residents.normalise(signup('known@example.jp')), CLIENT);
    const [confirmMail] = await sink.waitFor(1);
    const view = await residents.confirm(linkIn(confirmMail?.parsed.text, 'confirm').token);
    expect(view?.mail?.active).toBe(true);
    sink.reset();

    const again = await residents.requestSignup(
      residents.normalise(signup('known@example.jp', { topics: ['events'], areas: [] })),
      '198.51.100.7',
    );
    const fresh = await residents.requestSignup(residents.normalise(signup('stranger@example.jp')), '198.51.100.8');
    expect(again).toEqual(fresh);
    const messages = await sink.waitFor(2);
    const toKnown = messages.find((m) => m.envelope.rcptTo[0] === 'known@example.jp');
    expect(toKnown?.parsed.subject).toBe('菊池市 防災・お知らせメール：登録内容の確認・変更用リンク');
    const manage = linkIn(toKnown?.parsed.text, 'manage');
    expect(manage.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(toKnown?.parsed.text).not.toContain('/subscribe/confirm');
    // Someone who only knows the address cannot change the choices.
    const subscriberId = await residents.subscriberOf(manage.token);
    expect(subscriberId).toBe(view?.subscriberId);
    expect(await residents.manage(subscriberId as number)).toMatchObject({
      topics: ['disaster', 'weather'],
      areas: ['432105-02'],
    });

    // The page and the public API answer byte for byte the same for both addresses.
    const { app } = residentApp(deps, catalogue);
    const post = (email: string, client: string) =>
      app.request('/subscribe', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
        body: new URLSearchParams({ email, topics: 'disaster', locale: 'ja' }).toString(),
      });
    const [a, b] = [await post('known@example.jp', '192.0.2.1'), await post('nobody@example.jp', '192.0.2.2')];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await a.text()).toBe(await b.text());
    const api = (email: string, client: string) =>
      app.request('/v1/public/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
        body: JSON.stringify({ email, topics: ['disaster'] }),
      });
    const [c, d] = [await api('known@example.jp', '192.0.2.3'), await api('other@example.jp', '192.0.2.4')];
    expect([c.status, d.status]).toEqual([202, 202]);
    expect(await c.text()).toBe(await d.text());
  });

  it('a second request for an unconfirmed address renews its choices and mails a new confirmation', async () => {
    const { deps, sink, residents } = await setUp();
    await residents.requestSignup(residents.normalise(signup('twice@example.jp')), CLIENT);
    await residents.requestSignup(
      residents.normalise(signup('twice@example.jp', { topics: ['health'], areas: [], locale: 'en' })),
      CLIENT,
    );
    const [first, second] = await sink.waitFor(2);
    expect(second?.parsed.subject).toBe('Kikuchi City alerts: please confirm your e-mail address');
    expect(second?.parsed.html).toContain('<html lang="en">');
    const view = await residents.confirm(linkIn(second?.parsed.text, 'confirm').token);
    expect(view).toMatchObject({ topics: ['health'], areas: [], locale: 'en' });
    // The first link still confirms (it is the same person's mailbox) and changes nothing more.
    expect(await residents.confirm(linkIn(first?.parsed.text, 'confirm').token)).toMatchObject({ topics: ['health'] });
    expect(await inAudience(deps, 'twice@example.jp', 'health')).toBe(true);
  });

  it('limits requests per address: over the limit no mail is sent, the page answers the same, the API says 429', async () => {
    const { deps, sink, residents } = await setUp({ SIGNUP_LIMIT_PER_ADDRESS: '2', SIGNUP_LIMIT_PER_CLIENT: '100' });
    const outcomes = [];
    for (const client of ['192.0.2.10', '192.0.2.11', '192.0.2.12']) {
      outcomes.push(await residents.requestSignup(residents.normalise(signup('flood@example.jp')), client));
    }
    expect(outcomes.map((o) => o.outcome)).toEqual(['accepted', 'accepted', 'limited']);
    expect(outcomes[2]).toMatchObject({ retryAfterSeconds: expect.any(Number) });
    // requestSignup returns after the server's 250: what arrived is all that will.
    expect(sink.count).toBe(2);

    const { app } = residentApp(deps, catalogue);
    const form = (email: string) =>
      app.request('/subscribe', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '192.0.2.13' },
        body: new URLSearchParams({ email, locale: 'ja' }).toString(),
      });
    const limited = await form('flood@example.jp');
    const accepted = await form('fine@example.jp');
    expect(await limited.text()).toBe(await accepted.text());
    expect(sink.count).toBe(3);

    const api = await app.request('/v1/public/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.14' },
      body: JSON.stringify({ email: 'flood@example.jp' }),
    });
    expect(api.status).toBe(429);
    expect(Number(api.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(sink.count).toBe(3);
    // Redis holds no address in clear.
    const keys = await deps.redis.keys(`${deps.prefix}:ratelimit:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain('flood');
  });

  it('limits requests per client across addresses', async () => {
    const { sink, residents } = await setUp({ SIGNUP_LIMIT_PER_ADDRESS: '100', SIGNUP_LIMIT_PER_CLIENT: '3' });
    const outcomes = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push((await residents.requestSignup(residents.normalise(signup(`r${i}@example.jp`)), CLIENT)).outcome);
    }
    expect(outcomes).toEqual(['accepted', 'accepted', 'accepted', 'limited', 'limited']);
    expect(sink.count).toBe(3);
    // Another client is not held back by the first.
    expect((await residents.requestSignup(residents.normalise(signup('r9@example.jp')), '192.0.2.99')).outcome).toBe(
      'accepted',
    );
    expect(sink.count).toBe(4);
  });

  it('mails a manage link on request to a confirmed address only, with the same outcome', async () => {
    const { sink, residents } = await setUp();
    await residents.requestSignup(residents.normalise(signup('mine@example.jp')), CLIENT);
    const [confirmMail] = await sink.waitFor(1);
    await residents.confirm(linkIn(confirmMail?.parsed.text, 'confirm').token);
    await residents.requestSignup(residents.normalise(signup('pending@example.jp')), CLIENT);
    await sink.waitFor(2);
    sink.reset();

    const outcomes = [
      await residents.requestManageLink('MINE@example.jp', 'en', CLIENT),
      await residents.requestManageLink('pending@example.jp', 'ja', CLIENT),
      await residents.requestManageLink('unknown@example.jp', 'ja', CLIENT),
    ];
    expect(new Set(outcomes.map((o) => JSON.stringify(o)))).toEqual(new Set([JSON.stringify({ outcome: 'accepted' })]));
    expect(sink.count).toBe(1);
    const [mail] = sink.messages;
    expect(mail?.envelope.rcptTo).toEqual(['mine@example.jp']);
    expect(mail?.parsed.subject).toBe('Kikuchi City alerts: your link to manage your subscription');
    expect(await residents.subscriberOf(linkIn(mail?.parsed.text, 'manage').token)).toEqual(expect.any(Number));
    await expect(residents.requestManageLink('not an address', 'ja', CLIENT)).rejects.toMatchObject({
      kind: 'invalid',
    });
  });

  it('refuses topics and areas outside the catalogue, naming the field', async () => {
    const { residents } = await setUp();
    expect(() => residents.normalise({ email: 'x@example.jp', topics: ['nope'], areas: ['432105-09'] })).toThrow(
      expect.objectContaining({
        kind: 'invalid',
        fields: expect.objectContaining({ topics: expect.any(Array), areas: expect.any(Array) }),
      }),
    );
    expect(() => residents.normalise({ email: 'no-at-sign', topics: [] })).toThrow(
      expect.objectContaining({
        fields: { email: [expect.objectContaining({ en: expect.stringContaining('e-mail') })] },
      }),
    );
    expect(residents.normalise({ email: 'x@example.jp' })).toEqual({
      email: 'x@example.jp',
      topics: [],
      areas: [],
      locale: 'ja',
    });
  });

  it('without SMTP_URL the confirmation goes to the outbox as an .eml file', async () => {
    const { deps, residents } = await setUp({}, false);
    await residents.requestSignup(residents.normalise(signup('outbox@example.jp')), CLIENT);
    const files = readdirSync(deps.config.outboxDir).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(1);
    const parsed = await simpleParser(readFileSync(`${deps.config.outboxDir}/${files[0]}`));
    expect(parsed.subject).toBe('菊池市 防災・お知らせメール：登録の確認');
    expect(linkIn(parsed.text, 'confirm').token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('delete my data: a confirmed resident gets a notice, deletes, and nothing personal is left', async () => {
    const { deps, sink, residents } = await setUp();
    await residents.requestSignup(residents.normalise(signup('leaving@example.jp', { areas: [] })), CLIENT);
    const [confirmMail] = await sink.waitFor(1);
    const view = await residents.confirm(linkIn(confirmMail?.parsed.text, 'confirm').token);
    if (!view?.mail) throw new Error('not confirmed');
    sink.reset();

    workers = startWorkers(deps);
    const noticeId = await postNotice(await staffClient(deps), { channels: ['mail'], topics: ['disaster'] });
    const [notice] = await sink.waitFor(1, 15_000);
    expect(notice?.envelope.rcptTo).toEqual(['leaving@example.jp']);
    // Every notice mail carries a way to change choices beside the unsubscribe link.
    expect(notice?.parsed.text).toContain('登録内容の変更（分野・地域・言語）：https://hibiki.example.jp/manage');
    await waitForDeliveries(deps, noticeId, 1);

    expect(await residents.deleteData(view.subscriberId)).toBe(true);
    expect(await residents.manage(view.subscriberId)).toBeUndefined();
    expect(await residents.deleteData(view.subscriberId)).toBe(false);
    const contacts = await deps.store.db.kysely.selectFrom('contacts').selectAll().execute();
    expect(contacts.filter((c) => c.address === 'leaving@example.jp')).toEqual([]);
    const rows = await deps.store.db.kysely
      .selectFrom('deliveries')
      .selectAll()
      .where('notice_id', '=', noticeId)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'sent', contact_id: null });
    expect(JSON.stringify(rows)).not.toContain('leaving');
    // The signed link from old mails opens nothing now.
    const { app } = residentApp(deps, catalogue);
    expect((await app.request(view.manageUrl.replace('https://hibiki.example.jp', ''))).status).toBe(400);
  });
});
