import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type ErrorJson, type Harness } from './harness.ts';

interface ImportResult {
  received: number;
  accepted: number;
  errors: { index?: number; line?: number; field: string; reason: string; reason_en: string }[];
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness('sqlite');
});
afterAll(async () => {
  await h.dispose();
});

/** What the store holds for one address: its locale, topics and areas. */
async function stored(email: string) {
  const k = h.deps.store.db.kysely;
  const contact = await k
    .selectFrom('contacts as c')
    .innerJoin('subscribers as s', 's.id', 'c.subscriber_id')
    .select(['c.subscriber_id', 's.locale', 'c.active'])
    .where('c.address', '=', email)
    .executeTakeFirst();
  if (!contact) return undefined;
  const topics = await k
    .selectFrom('subscriber_topics')
    .select('topic')
    .where('subscriber_id', '=', contact.subscriber_id)
    .execute();
  const areas = await k
    .selectFrom('subscriber_areas')
    .select('area')
    .where('subscriber_id', '=', contact.subscriber_id)
    .execute();
  return { locale: contact.locale, topics: topics.map((t) => t.topic).sort(), areas: areas.map((a) => a.area).sort() };
}

// The import is for admins (issue 12, finding 8); test/abuse/subscriber-import.test.ts covers who may and what leaks.
const importJson = (rows: unknown) => h.request('POST', '/v1/subscribers', { json: rows, as: 'admin' });
const importCsv = (csv: string) =>
  h.request('POST', '/v1/subscribers', {
    body: csv,
    headers: { 'content-type': 'text/csv; charset=utf-8' },
    as: 'admin',
  });

describe('POST /v1/subscribers', () => {
  it('imports a JSON array: good rows kept, bad rows reported by index and field, duplicates merged', async () => {
    const res = await importJson([
      { email: 'Hanako@Example.jp', topics: ['disaster'], areas: [], locale: 'ja' },
      { email: 'not-an-email', topics: [] },
      { email: 'ichiro@example.jp', topics: ['fishing'] },
      { email: 'hanako@example.jp', topics: ['weather'], locale: 'en' },
      { email: 'goro@example.jp', phone: '090-0000-0000' },
      { email: 'rokuro@example.jp', topics: ['shelter'], areas: ['432105'] },
      { email: 'nanako@example.jp', locale: 'fr' },
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ImportResult;
    expect(body).toMatchObject({ received: 7, accepted: 3 });
    expect(body.errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'email'],
      [2, 'topics'],
      [4, 'phone'],
      [6, 'locale'],
    ]);
    expect(body.errors[1]?.reason).toContain('fishing');
    expect(body.errors[0]?.reason_en).toMatch(/email/i);
    expect(await stored('hanako@example.jp')).toEqual({ locale: 'en', topics: ['disaster', 'weather'], areas: [] });
    expect(await stored('rokuro@example.jp')).toEqual({ locale: 'ja', topics: ['shelter'], areas: ['432105'] });
    expect(await stored('not-an-email')).toBeUndefined();
    expect(await stored('ichiro@example.jp')).toBeUndefined();
  });

  it('imports CSV: errors by line number (blank and multi-line records counted), duplicates merged', async () => {
    const csv = [
      'email,topics,areas,locale',
      'taro@example.jp,disaster;weather,,ja',
      'bad-address,disaster,,',
      '',
      'jiro@example.jp,"shelter health",432105,en',
      'taro@example.jp,events,,',
      'saburo@example.jp,unknowntopic,,',
      '"multi',
      'line@example.jp",,,',
      'shiro@example.jp,,,ja,extra',
      'kuro@example.jp,health　childcare,999999,',
      '',
    ].join('\r\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ImportResult;
    expect(body).toMatchObject({ received: 8, accepted: 3 });
    expect(body.errors.map((e) => [e.line, e.field])).toEqual([
      [3, 'email'],
      [7, 'topics'],
      [8, 'email'],
      [10, 'csv'],
      [11, 'areas'],
    ]);
    expect(body.errors[4]?.reason).toContain('999999');
    expect(await stored('taro@example.jp')).toEqual({
      locale: 'ja',
      topics: ['disaster', 'events', 'weather'],
      areas: [],
    });
    expect(await stored('jiro@example.jp')).toEqual({ locale: 'en', topics: ['health', 'shelter'], areas: ['432105'] });
  });

  it('writes counts, never addresses, to the audit log', async () => {
    const entries = (await h.deps.store.audit.list({ limit: 100 })).filter((e) => e.action === 'subscribers.import');
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(entries.every((e) => e.actor === 'staff-admin')).toBe(true);
    const csvEntry = entries.find((e) => (e.detail as { format: string }).format === 'csv');
    expect(csvEntry?.detail).toEqual({
      format: 'csv',
      rows: 8,
      accepted: 3,
      addresses: 2,
      invited: 2,
      unchanged: 0,
      unsent: 0,
      errors: 5,
    });
    expect(JSON.stringify(entries)).not.toContain('@');
  });

  it('refuses what is not a list of residents', async () => {
    const notArray = await importJson({ email: 'a@example.jp' });
    expect(notArray.status).toBe(400);
    expect(Object.keys(((await notArray.json()) as ErrorJson).error.fields ?? {})).toEqual(['body']);

    const badJson = await h.request('POST', '/v1/subscribers', {
      body: '[{"email":',
      headers: { 'content-type': 'application/json' },
      as: 'admin',
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as ErrorJson).error.code).toBe('invalid_json');

    const wrongType = await h.request('POST', '/v1/subscribers', {
      body: 'a@example.jp',
      headers: { 'content-type': 'text/plain' },
      as: 'admin',
    });
    expect(wrongType.status).toBe(415);

    const badHeader = await importCsv('mail,topic\na@example.jp,disaster\n');
    expect(badHeader.status).toBe(400);
    const e = (await badHeader.json()) as ErrorJson;
    expect(e.error.code).toBe('invalid_csv');
    expect(e.error.fields?.header?.[0]).toContain('mail');

    const unclosed = await importCsv('email,topics\n"a@example.jp,disaster\n');
    expect(unclosed.status).toBe(400);
    expect(((await unclosed.json()) as ErrorJson).error.code).toBe('invalid_csv');
  });

  it('takes up to 50,000 rows and no more', async () => {
    const rows = Array.from({ length: 50_001 }, (_, i) => ({ email: `r${i}@example.jp` }));
    const res = await importJson(rows);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error.code).toBe('too_many_rows');
    expect(await stored('r0@example.jp')).toBeUndefined();
  });
});
