import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveVapidKeys, VAPID_SETTING } from '../../channels/webpush/vapid.ts';
import { createPushSubscriptionRepo, type PushSubscriptionRepo } from '../../src/store/push-subscriptions.ts';
import { createSettingsRepo } from '../../src/store/settings.ts';
import { createStore, type Store } from '../../src/store/store.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

let seq = 0;
/** What a browser's PushSubscription.toJSON() holds, on a push service of the list. */
function browser() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  seq++;
  return {
    endpoint: `https://fcm.googleapis.com/fcm/send/test-${process.pid}-${seq}-${randomBytes(6).toString('hex')}`,
    p256dh: ecdh.getPublicKey('base64url'),
    auth: randomBytes(16).toString('base64url'),
  };
}

const audience = (topics: string[], areas: string[], ignoreTopics = false) => ({
  channel: 'webpush' as const,
  topics,
  areas,
  ignoreTopics,
  severity: ignoreTopics ? ('emergency' as const) : ('info' as const),
});

describe.each(STORE_KINDS)('push subscriptions on %s', (kind) => {
  let db: TestDb;
  let store: Store;
  let repo: PushSubscriptionRepo;

  beforeAll(async () => {
    db = await createTestDb(kind);
    store = createStore(db, '432105');
    repo = createPushSubscriptionRepo(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('subscribes a browser as an active, verified webpush contact of its own subscriber', async () => {
    const b = browser();
    const contactId = await repo.subscribe({ ...b, topics: ['weather', 'disaster'], areas: ['432105'], locale: 'en' });
    expect(await repo.keysOf(contactId)).toEqual({ p256dh: b.p256dh, auth: b.auth });
    expect(await repo.choices(b.endpoint)).toEqual({
      contactId,
      subscriberId: expect.any(Number),
      active: true,
      locale: 'en',
      topics: ['disaster', 'weather'],
      areas: ['432105'],
    });
    expect(await store.subscribers.contact(contactId)).toEqual({
      contactId,
      address: b.endpoint,
      locale: 'en',
      active: true,
    });
    const row = await db.kysely
      .selectFrom('contacts')
      .selectAll()
      .where('id', '=', contactId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ channel: 'webpush', verified: 1, active: 1 });
  });

  it('keysOfMany reads the keys of active subscriptions only, for a batch of any size', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) {
      const b = browser();
      made.push({ id: await repo.subscribe({ ...b, topics: [], areas: [], locale: 'ja' }), b });
    }
    const [a, off, c] = made as [(typeof made)[number], (typeof made)[number], (typeof made)[number]];
    await store.subscribers.deactivateContacts([off.id], 'gone');
    const found = await repo.keysOfMany([
      a.id,
      off.id,
      c.id,
      999_999,
      ...Array.from({ length: 1_200 }, (_, i) => 2_000_000 + i),
    ]);
    expect([...found.keys()].sort((x, y) => x - y)).toEqual([a.id, c.id].sort((x, y) => x - y));
    expect(found.get(c.id)).toEqual({ p256dh: c.b.p256dh, auth: c.b.auth });
  });

  it('the same endpoint again replaces the choices and keys, and makes a switched-off subscription active again', async () => {
    const b = browser();
    const first = await repo.subscribe({ ...b, topics: ['disaster', 'events'], areas: ['432105'], locale: 'ja' });
    await store.subscribers.deactivateContacts([first], 'address rejected by provider');
    expect(await repo.keysOf(first)).toBeUndefined();
    const renewed = browser();
    const again = await repo.subscribe({
      endpoint: b.endpoint,
      p256dh: renewed.p256dh,
      auth: renewed.auth,
      topics: ['health'],
      areas: [],
      locale: 'en',
    });
    expect(again).toBe(first);
    expect(await repo.choices(b.endpoint)).toMatchObject({ active: true, topics: ['health'], areas: [], locale: 'en' });
    expect(await repo.keysOf(first)).toEqual({ p256dh: renewed.p256dh, auth: renewed.auth });
  });

  it('two posts of one endpoint at once make one contact', async () => {
    const b = browser();
    const ids = await Promise.all([
      repo.subscribe({ ...b, topics: ['disaster'], areas: [], locale: 'ja' }),
      repo.subscribe({ ...b, topics: ['disaster'], areas: [], locale: 'ja' }),
    ]);
    expect(ids[0]).toBe(ids[1]);
    const rows = await db.kysely.selectFrom('contacts').select('id').where('address', '=', b.endpoint).execute();
    expect(rows).toHaveLength(1);
  });

  it('a notice reaches exactly the push subscriptions its topics and areas select; an emergency ignores topics', async () => {
    const district = '432105-01';
    const wholeCityDisaster = await repo.subscribe({ ...browser(), topics: ['disaster'], areas: [], locale: 'ja' });
    const districtDisaster = await repo.subscribe({
      ...browser(),
      topics: ['disaster'],
      areas: [district],
      locale: 'ja',
    });
    const otherDistrictDisaster = await repo.subscribe({
      ...browser(),
      topics: ['disaster'],
      areas: ['432105-02'],
      locale: 'ja',
    });
    const eventsOnly = await repo.subscribe({ ...browser(), topics: ['events'], areas: [], locale: 'ja' });
    const emergencyOnly = await repo.subscribe({ ...browser(), topics: [], areas: [district], locale: 'ja' });
    const mine = new Set([wholeCityDisaster, districtDisaster, otherDistrictDisaster, eventsOnly, emergencyOnly]);
    const reached = async (criteria: ReturnType<typeof audience>) =>
      (await store.subscribers.audiencePage(criteria, 0, 1_000)).filter((id) => mine.has(id)).sort((a, b) => a - b);
    const sorted = (...ids: number[]) => ids.sort((a, b) => a - b);

    expect(await reached(audience(['disaster'], []))).toEqual(
      sorted(wholeCityDisaster, districtDisaster, otherDistrictDisaster),
    );
    expect(await reached(audience(['disaster'], [district]))).toEqual(sorted(wholeCityDisaster, districtDisaster));
    expect(await reached(audience(['events'], [district]))).toEqual(sorted(eventsOnly));
    expect(await reached(audience(['weather'], [district], true))).toEqual(
      sorted(wholeCityDisaster, districtDisaster, eventsOnly, emergencyOnly),
    );
    // Mail audiences never see push contacts.
    const mail = await store.subscribers.audiencePage({ ...audience([], [], true), channel: 'mail' }, 0, 1_000);
    expect(mail.filter((id) => mine.has(id))).toEqual([]);
  });

  it('unsubscribe deletes the subscriber, contact, keys and choices; an unknown endpoint is false', async () => {
    const b = browser();
    const contactId = await repo.subscribe({ ...b, topics: ['disaster'], areas: ['432105'], locale: 'ja' });
    const { subscriberId } = (await repo.choices(b.endpoint)) ?? { subscriberId: -1 };
    expect(await repo.unsubscribe(b.endpoint)).toBe(true);
    expect(await repo.choices(b.endpoint)).toBeUndefined();
    expect(await repo.keysOf(contactId)).toBeUndefined();
    expect(await store.subscribers.contact(contactId)).toBeUndefined();
    for (const table of ['subscriber_topics', 'subscriber_areas'] as const) {
      const left = await db.kysely.selectFrom(table).selectAll().where('subscriber_id', '=', subscriberId).execute();
      expect(left, table).toEqual([]);
    }
    const subscriber = await db.kysely.selectFrom('subscribers').selectAll().where('id', '=', subscriberId).execute();
    expect(subscriber).toEqual([]);
    expect(await repo.unsubscribe(b.endpoint)).toBe(false);
  });

  it('counts active push subscriptions', async () => {
    const before = await repo.countActive();
    const id = await repo.subscribe({ ...browser(), topics: [], areas: [], locale: 'ja' });
    expect(await repo.countActive()).toBe(before + 1);
    await store.subscribers.deactivateContacts([id], 'gone');
    expect(await repo.countActive()).toBe(before);
  });

  describe('VAPID keys', () => {
    it('uses the configured pair as it is, storing nothing', async () => {
      const configured = { publicKey: 'B'.repeat(87), privateKey: 'p'.repeat(43) };
      const settings = createSettingsRepo(db);
      expect(await resolveVapidKeys({ vapid: configured }, settings)).toBe(configured);
      expect(await settings.get(VAPID_SETTING)).toBeUndefined();
    });

    it('makes a pair once and keeps it: every later start, and every process at once, gets the same', async () => {
      const settings = createSettingsRepo(db);
      const all = await Promise.all([1, 2, 3].map(() => resolveVapidKeys({}, settings)));
      const first = all[0];
      expect(Buffer.from(first?.publicKey ?? '', 'base64url')).toHaveLength(65);
      expect(Buffer.from(first?.privateKey ?? '', 'base64url')).toHaveLength(32);
      for (const keys of all) expect(keys).toEqual(first);
      expect(await resolveVapidKeys({}, createSettingsRepo(db))).toEqual(first);
      expect(JSON.parse((await settings.get(VAPID_SETTING)) ?? '{}')).toEqual(first);
    });

    it('a damaged stored pair stops start-up with what to do', async () => {
      await db.kysely
        .updateTable('settings')
        .set({ value: '{"publicKey":"x"}' })
        .where('key', '=', VAPID_SETTING)
        .execute();
      await expect(resolveVapidKeys({}, createSettingsRepo(db))).rejects.toThrow(/VAPID_PUBLIC_KEY/);
    });
  });
});
