import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../api/harness.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { linkIn, residentApp } from '../helpers/resident-app.ts';

/**
 * Issue 12 finding 8: the subscriber import told any author whether an address was
 * subscribed, unsubscribed or unknown (created / updated / "unsubscribed earlier"), signed
 * unknown addresses up with no confirmation, and overwrote a resident's language and areas.
 */

let h: Harness;
let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink();
  h = await createHarness('sqlite', { SMTP_URL: sink.url });
});
afterAll(async () => {
  await h?.dispose();
  await sink?.close();
});
beforeEach(() => sink.reset());

const importRows = (rows: unknown, as: 'author' | 'approver' | 'admin' = 'admin') =>
  h.request('POST', '/v1/subscribers', { json: rows, as });

/** What the store holds for an address: state, language, topics and areas. */
async function stored(email: string) {
  const k = h.deps.store.db.kysely;
  const c = await k
    .selectFrom('contacts as c')
    .innerJoin('subscribers as s', 's.id', 'c.subscriber_id')
    .select(['c.subscriber_id', 'c.active', 'c.verified', 's.locale'])
    .where('c.channel', '=', 'mail')
    .where('c.address', '=', email)
    .executeTakeFirst();
  if (!c) return undefined;
  const id = c.subscriber_id;
  const topics = await k.selectFrom('subscriber_topics').select('topic').where('subscriber_id', '=', id).execute();
  const areas = await k.selectFrom('subscriber_areas').select('area').where('subscriber_id', '=', id).execute();
  return {
    active: c.active,
    verified: c.verified,
    locale: c.locale,
    topics: topics.map((t) => t.topic).sort(),
    areas: areas.map((a) => a.area).sort(),
  };
}

/** A resident who signed up on the page and confirmed, with these choices. */
async function confirmedResident(email: string, choices: { topics: string[]; areas: string[]; locale: 'ja' | 'en' }) {
  const { residents } = residentApp(h.deps);
  await residents.requestSignup(residents.normalise({ email, ...choices }), '203.0.113.44');
  const [mail] = await sink.waitFor(1);
  await residents.confirm(linkIn(mail?.parsed.text, 'confirm').token);
  residents.close();
  sink.reset();
}

describe('POST /v1/subscribers (the import)', () => {
  it('is for admins: an author or approver gets 403 and nothing is stored or mailed', async () => {
    for (const role of ['author', 'approver'] as const) {
      const res = await importRows([{ email: `by-${role}@example.jp`, topics: ['disaster'] }], role);
      expect(res.status, role).toBe(403);
      expect(await stored(`by-${role}@example.jp`)).toBeUndefined();
    }
    expect(sink.count).toBe(0);
  });

  it('answers the same for a subscribed, an unsubscribed and an unknown address', async () => {
    await confirmedResident('subscribed@example.jp', { topics: ['disaster'], areas: [], locale: 'ja' });
    await confirmedResident('left@example.jp', { topics: ['disaster'], areas: [], locale: 'ja' });
    const k = h.deps.store.db.kysely;
    const left = await k
      .selectFrom('contacts')
      .select('id')
      .where('address', '=', 'left@example.jp')
      .executeTakeFirstOrThrow();
    await h.deps.store.subscribers.deactivateContacts([Number(left.id)], 'unsubscribed');

    const answers: string[] = [];
    for (const email of ['subscribed@example.jp', 'left@example.jp', 'never-seen@example.jp']) {
      const res = await importRows([{ email, topics: ['weather'], areas: [], locale: 'en' }]);
      expect(res.status).toBe(200);
      answers.push(await res.text());
    }
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse(answers[0] as string)).toEqual({ received: 1, accepted: 1, errors: [] });

    // The same three in one file: one answer naming no row.
    const together = await importRows([
      { email: 'subscribed@example.jp' },
      { email: 'left@example.jp' },
      { email: 'also-new@example.jp' },
    ]);
    expect(await together.json()).toEqual({ received: 3, accepted: 3, errors: [] });
  });

  it('mails an unknown address a confirmation and sends it nothing until it is used', async () => {
    const res = await importRows([
      { email: 'Paper@Example.jp', topics: ['disaster'], areas: ['432105'], locale: 'en' },
    ]);
    expect(res.status).toBe(200);
    expect(await stored('paper@example.jp')).toEqual({
      active: 0,
      verified: 0,
      locale: 'en',
      topics: ['disaster'],
      areas: ['432105'],
    });
    const [mail] = await sink.waitFor(1);
    expect(mail?.envelope.rcptTo).toEqual(['paper@example.jp']);
    expect(mail?.parsed.subject).toContain('please confirm your e-mail address');
    const audience = await h.deps.store.subscribers.countAudience({
      channel: 'mail',
      topics: ['disaster'],
      areas: [],
      ignoreTopics: false,
      severity: 'info',
    });
    const { residents } = residentApp(h.deps);
    const before = audience;
    const view = await residents.confirm(linkIn(mail?.parsed.text, 'confirm').token);
    residents.close();
    expect(view?.mail?.active).toBe(true);
    expect(
      await h.deps.store.subscribers.countAudience({
        channel: 'mail',
        topics: ['disaster'],
        areas: [],
        ignoreTopics: false,
        severity: 'info',
      }),
    ).toBe(before + 1);
  });

  it('never changes a resident’s language, areas or topics, and never signs up again one who unsubscribed', async () => {
    await confirmedResident('keeps@example.jp', { topics: ['events'], areas: ['432105'], locale: 'en' });
    await confirmedResident('gone@example.jp', { topics: ['events'], areas: [], locale: 'ja' });
    const k = h.deps.store.db.kysely;
    const gone = await k
      .selectFrom('contacts')
      .select('id')
      .where('address', '=', 'gone@example.jp')
      .executeTakeFirstOrThrow();
    await h.deps.store.subscribers.deactivateContacts([Number(gone.id)], 'unsubscribed');
    const keepsBefore = await stored('keeps@example.jp');
    const goneBefore = await stored('gone@example.jp');

    const res = await importRows([
      { email: 'keeps@example.jp', topics: ['disaster', 'weather'], areas: [], locale: 'ja' },
      { email: 'GONE@example.jp', topics: ['disaster'], areas: [], locale: 'en' },
    ]);
    expect(res.status).toBe(200);
    expect(await stored('keeps@example.jp')).toEqual(keepsBefore);
    expect(await stored('gone@example.jp')).toEqual({ ...goneBefore, active: 0 });
    // Neither is mailed: a known address hears nothing from an import.
    expect(sink.count).toBe(0);
  });

  it('reports malformed rows by place, the rest by count only', async () => {
    const res = await importRows([
      { email: 'fine@example.jp' },
      { email: 'not-an-address' },
      { email: 'x@example.jp', topics: ['fishing'] },
      { email: 'fine@example.jp', topics: ['weather'] },
    ]);
    const body = (await res.json()) as {
      received: number;
      accepted: number;
      errors: { index: number; field: string }[];
    };
    expect(body.received).toBe(4);
    expect(body.accepted).toBe(2);
    expect(body.errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'email'],
      [2, 'topics'],
    ]);
    expect(Object.keys(body).sort()).toEqual(['accepted', 'errors', 'received']);
  });

  it('keeps no address whose confirmation the relay refused, says so, and imports it when the file comes again', async () => {
    sink.failNext(1, 554, '5.7.1 relay refused for now');
    const rows = [{ email: 'relay-down@example.jp', topics: ['disaster'] }];
    const refused = await importRows(rows);
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as { error: { code: string; message_en: string } };
    expect(body.error.code).toBe('confirmation_mail_failed');
    expect(body.error.message_en).toContain('import the same file again');
    expect(await stored('relay-down@example.jp')).toBeUndefined();

    const again = await importRows(rows);
    expect(again.status).toBe(200);
    expect(await stored('relay-down@example.jp')).toMatchObject({ active: 0, verified: 0 });
    const [mail] = await sink.waitFor(1);
    expect(mail?.envelope.rcptTo).toEqual(['relay-down@example.jp']);
  });

  it('records who imported how much in the audit log, never an address', async () => {
    const entries = (await h.deps.store.audit.list({ limit: 200, action: 'subscribers.import' })).filter(
      (e) => e.action === 'subscribers.import',
    );
    expect(entries.length).toBeGreaterThanOrEqual(5);
    expect(entries.every((e) => e.actor === 'staff-admin')).toBe(true);
    expect(entries.find((e) => (e.detail as { rows: number }).rows === 4)?.detail).toEqual({
      format: 'json',
      rows: 4,
      accepted: 2,
      addresses: 1,
      invited: 1,
      unchanged: 0,
      unsent: 0,
      errors: 2,
    });
    expect(JSON.stringify(entries)).not.toContain('@');
  });
});
