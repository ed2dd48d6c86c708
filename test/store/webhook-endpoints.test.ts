import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Severity } from '../../src/domain/notice.ts';
import { type AudienceCriteria, createSubscriberRepo } from '../../src/store/subscribers.ts';
import {
  createWebhookEndpointRepo,
  type WebhookEndpointInput,
  type WebhookEndpointRepo,
  WebhookUrlTakenError,
} from '../../src/store/webhook-endpoints.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

let urlSeq = 0;
const input = (overrides: Partial<WebhookEndpointInput> = {}): WebhookEndpointInput => ({
  name: '市ホームページ CMS',
  url: `https://cms.city.example.jp/hooks/${++urlSeq}`,
  topics: ['disaster'],
  areas: [],
  minSeverity: 'info',
  createdBy: 'staff-admin',
  ...overrides,
});

/** One suite, run against both stores. */
describe.each(STORE_KINDS)('webhook endpoints on %s', (kind) => {
  let db: TestDb;
  let repo: WebhookEndpointRepo;

  beforeAll(async () => {
    db = await createTestDb(kind);
    repo = createWebhookEndpointRepo(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('creates an endpoint with a Standard Webhooks secret, lists and gets it without the secret', async () => {
    const now = new Date('2026-11-26T10:00:00.000Z');
    const { id, secret } = await repo.create(
      input({ url: 'https://tv.example.jp/hibiki', topics: ['weather', 'disaster', 'disaster'], areas: ['432105'] }),
      now,
    );
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);

    const got = await repo.get(id);
    expect(got).toEqual({
      id,
      name: '市ホームページ CMS',
      url: 'https://tv.example.jp/hibiki',
      topics: ['disaster', 'weather'],
      areas: ['432105'],
      minSeverity: 'info',
      active: true,
      deactivatedReason: null,
      createdBy: 'staff-admin',
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    const listed = await repo.list();
    expect(listed.find((e) => e.id === id)).toEqual(got);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(6));
    expect(await repo.secretOf(id)).toBe(secret);
    // Two endpoints never share a secret.
    const other = await repo.create(input());
    expect(other.secret).not.toBe(secret);
  });

  it('refuses a second endpoint with the same URL, on create and on update', async () => {
    const first = await repo.create(input({ url: 'https://dup.example.jp/hook' }));
    await expect(repo.create(input({ url: 'https://dup.example.jp/hook' }))).rejects.toSatisfy(
      (err) => err instanceof WebhookUrlTakenError && err.existingId === first.id,
    );
    const second = await repo.create(input());
    await expect(repo.update(second.id, { url: 'https://dup.example.jp/hook' })).rejects.toBeInstanceOf(
      WebhookUrlTakenError,
    );
    // Its own URL again is no conflict.
    expect(await repo.update(first.id, { url: 'https://dup.example.jp/hook' })).toMatchObject({ id: first.id });
  });

  it('updates only what is given, and switching off records why', async () => {
    const { id, secret } = await repo.create(input({ topics: ['disaster'], areas: ['432105'] }));
    const later = new Date('2026-11-27T00:00:00.000Z');
    const updated = await repo.update(id, { minSeverity: 'warning', topics: [], name: 'テレビ データ放送' }, later);
    expect(updated).toMatchObject({
      id,
      name: 'テレビ データ放送',
      topics: [],
      areas: ['432105'],
      minSeverity: 'warning',
      active: true,
      updatedAt: later.toISOString(),
    });
    expect(await repo.update(id, { active: false })).toMatchObject({
      active: false,
      deactivatedReason: 'switched off by staff',
    });
    expect(await repo.update(id, { active: true, areas: [] })).toMatchObject({
      active: true,
      deactivatedReason: null,
      areas: [],
    });
    expect(await repo.secretOf(id)).toBe(secret);
    expect(await repo.update(999_999, { name: 'x' })).toBeUndefined();
  });

  it('rotates the secret: the new one replaces the old at once', async () => {
    const { id, secret } = await repo.create(input());
    const rotated = await repo.rotateSecret(id);
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    expect(await repo.secretOf(id)).toBe(rotated);
    expect(await repo.rotateSecret(999_999)).toBeUndefined();
  });

  it('removes the endpoint with its contact, choices and secret; a second remove finds nothing', async () => {
    const { id } = await repo.create(input({ topics: ['disaster', 'weather'], areas: ['432105'] }));
    expect(await repo.remove(id)).toBe(true);
    expect(await repo.get(id)).toBeUndefined();
    expect(await repo.secretOf(id)).toBeUndefined();
    expect((await repo.list()).some((e) => e.id === id)).toBe(false);
    const contact = await db.kysely.selectFrom('contacts').select('id').where('id', '=', id).executeTakeFirst();
    expect(contact).toBeUndefined();
    expect(await repo.remove(id)).toBe(false);
  });

  describe('as an audience of the dispatcher', () => {
    let disaster: number;
    let emergencyOnly: number;
    let district: number;
    let off: number;
    const criteria = (severity: Severity, topics: string[], areas: string[] = []): AudienceCriteria => ({
      channel: 'webhook',
      topics,
      areas,
      ignoreTopics: severity === 'emergency',
      severity,
    });

    beforeAll(async () => {
      // A database of its own, so the endpoints of the other tests are not in the audience.
      await db.kysely.deleteFrom('subscribers').execute();
      disaster = (await repo.create(input({ topics: ['disaster'] }))).id;
      emergencyOnly = (await repo.create(input({ topics: ['weather'], minSeverity: 'emergency' }))).id;
      district = (await repo.create(input({ topics: ['disaster'], areas: ['432106'], minSeverity: 'warning' }))).id;
      off = (await repo.create(input({ topics: ['disaster'] }))).id;
      await repo.update(off, { active: false });
    });

    const audience = async (c: AudienceCriteria) => createSubscriberRepo(db).audiencePage(c, 0, 100);

    it('selects endpoints by topic, severity and area; never one switched off', async () => {
      expect(await audience(criteria('info', ['disaster']))).toEqual([disaster]);
      expect(await audience(criteria('warning', ['disaster']))).toEqual([disaster, district]);
      expect(await audience(criteria('warning', ['disaster'], ['432105']))).toEqual([disaster]);
      expect(await audience(criteria('warning', ['weather']))).toEqual([]);
      // An emergency reaches every endpoint whatever its topics, as it reaches every resident.
      expect(await audience(criteria('emergency', ['weather']))).toEqual([disaster, emergencyOnly, district]);
    });

    // Needs audience() in src/store/subscribers.ts to read "no topics" as "every topic" on
    // the webhook channel, as it reads "no areas" as "the whole city" (see the report).
    it('an endpoint without topics receives notices of every topic', async () => {
      const everything = (await repo.create(input({ topics: [] }))).id;
      expect(await audience(criteria('info', ['events']))).toEqual([everything]);
      expect(await audience(criteria('info', ['disaster']))).toEqual([disaster, everything]);
    });
  });
});
