import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createResidentSubscriptionRepo,
  type ResidentSubscriptionRepo,
} from '../../src/store/resident-subscriptions.ts';
import { createResidentTokenRepo, type ResidentTokenRepo } from '../../src/store/resident-tokens.ts';
import { hashToken } from '../../src/store/tokens.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

const HOUR = 60 * 60 * 1000;

describe.each(STORE_KINDS)('resident tokens and sign-ups on %s', (kind) => {
  let db: TestDb;
  let tokens: ResidentTokenRepo;
  let subs: ResidentSubscriptionRepo;

  beforeAll(async () => {
    db = await createTestDb(kind);
    tokens = createResidentTokenRepo(db);
    subs = createResidentSubscriptionRepo(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  const pending = (address: string) =>
    subs.createPendingMail(address, { topics: ['disaster'], areas: [], locale: 'ja' });

  describe('tokens', () => {
    it('issues a 32-byte base64url secret once and stores only its sha256', async () => {
      const { subscriberId, contactId } = await pending('token-1@example.jp');
      const secret = await tokens.issue(subscriberId, 'confirm', contactId);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
      const rows = await db.kysely.selectFrom('subscriber_tokens').selectAll().execute();
      const row = rows.find((r) => Number(r.subscriber_id) === subscriberId);
      expect(row?.token_hash).toBe(hashToken(secret));
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect(await tokens.find(secret, 'confirm')).toEqual({ subscriberId, contactId });
    });

    it('finds a secret only for its own purpose, and never a wrong or malformed one', async () => {
      const { subscriberId } = await pending('token-2@example.jp');
      const secret = await tokens.issue(subscriberId, 'manage');
      expect(await tokens.find(secret, 'manage')).toEqual({ subscriberId, contactId: null });
      expect(await tokens.find(secret, 'confirm')).toBeUndefined();
      // One character changed (never to itself: a secret may well end in A already).
      const changed = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      expect(await tokens.find(changed, 'manage')).toBeUndefined();
      expect(await tokens.find('short', 'manage')).toBeUndefined();
      expect(await tokens.find(`${secret}x`, 'manage')).toBeUndefined();
    });

    it('an expired secret is not found, one with no expiry always is, and purgeExpired removes only the expired', async () => {
      const { subscriberId } = await pending('token-3@example.jp');
      const t0 = new Date('2026-11-26T00:00:00Z');
      const short = await tokens.issue(subscriberId, 'confirm', null, HOUR, t0);
      const forever = await tokens.issue(subscriberId, 'manage', null, null, t0);
      expect(await tokens.find(short, 'confirm', new Date(t0.getTime() + HOUR - 1))).toBeDefined();
      expect(await tokens.find(short, 'confirm', new Date(t0.getTime() + HOUR))).toBeUndefined();
      const later = new Date('2036-01-01T00:00:00Z');
      expect(await tokens.find(forever, 'manage', later)).toBeDefined();
      expect(await tokens.purgeExpired(later)).toBeGreaterThanOrEqual(1);
      expect(await tokens.find(forever, 'manage', later)).toBeDefined();
      expect(await tokens.revoke(short)).toBe(false);
    });

    it('revoke makes one secret unusable; revokeAll every secret of a subscriber', async () => {
      const { subscriberId, contactId } = await pending('token-4@example.jp');
      const a = await tokens.issue(subscriberId, 'confirm', contactId);
      const b = await tokens.issue(subscriberId, 'manage', contactId);
      const c = await tokens.issue(subscriberId, 'manage', contactId);
      expect(await tokens.revoke(a)).toBe(true);
      expect(await tokens.revoke(a)).toBe(false);
      expect(await tokens.find(a, 'confirm')).toBeUndefined();
      expect(await tokens.revokeAll(subscriberId, 'manage')).toBe(2);
      expect(await tokens.find(b, 'manage')).toBeUndefined();
      expect(await tokens.find(c, 'manage')).toBeUndefined();
    });
  });

  describe('sign-ups', () => {
    it('a new address is an unverified, inactive contact with its choices; a second create returns it', async () => {
      const made = await subs.createPendingMail('new@example.jp', {
        topics: ['disaster', 'weather', 'disaster'],
        areas: ['432105-01'],
        locale: 'en',
      });
      expect(made).toMatchObject({ created: true, verified: false, active: false });
      expect(await subs.get(made.subscriberId)).toMatchObject({
        topics: ['disaster', 'weather'],
        areas: ['432105-01'],
        locale: 'en',
        contacts: [{ contactId: made.contactId, channel: 'mail', verified: false, active: false }],
      });
      const again = await subs.createPendingMail('new@example.jp', { topics: [], areas: [], locale: 'ja' });
      expect(again).toMatchObject({ created: false, subscriberId: made.subscriberId, contactId: made.contactId });
      expect((await subs.get(made.subscriberId))?.topics).toEqual(['disaster', 'weather']);
    });

    it('activate confirms; setChoices replaces topics, areas and language', async () => {
      const made = await pending('confirm@example.jp');
      expect(await subs.activate(made.contactId)).toBe(true);
      expect(await subs.mailContact('confirm@example.jp')).toMatchObject({ verified: true, active: true });
      expect(await subs.setChoices(made.subscriberId, { topics: ['health'], areas: ['432105-02'], locale: 'en' })).toBe(
        true,
      );
      expect(await subs.get(made.subscriberId)).toMatchObject({
        topics: ['health'],
        areas: ['432105-02'],
        locale: 'en',
      });
      expect(await subs.setChoices(made.subscriberId, { topics: [], areas: [], locale: 'ja' })).toBe(true);
      expect(await subs.get(made.subscriberId)).toMatchObject({ topics: [], areas: [], locale: 'ja' });
      expect(await subs.setChoices(999_999, { topics: [], areas: [], locale: 'ja' })).toBe(false);
    });

    it('delete removes the subscriber, contacts, choices and tokens, and leaves delivery rows without the contact', async () => {
      const made = await pending('delete-me@example.jp');
      await subs.activate(made.contactId);
      const secret = await tokens.issue(made.subscriberId, 'manage', made.contactId);
      const at = new Date().toISOString();
      await db.kysely
        .insertInto('notices')
        .values({
          id: 'n-delete-test',
          status: 'dispatched',
          current_revision: 1,
          severity: 'info',
          mode: 'actual',
          title: 't',
          created_by: 'test',
          created_at: at,
          updated_at: at,
          idempotency_key: null,
          idempotency_hash: null,
        })
        .execute();
      await db.kysely
        .insertInto('deliveries')
        .values({
          notice_id: 'n-delete-test',
          revision: 1,
          channel: 'mail',
          recipient: String(made.contactId),
          contact_id: made.contactId,
          batch: 0,
          status: 'sent',
          last_error: null,
          provider_id: '<n-delete-test-r1-mail-0.1@city.example.jp>',
          created_at: at,
          updated_at: at,
        })
        .execute();

      expect(await subs.delete(made.subscriberId)).toBe(true);
      expect(await subs.get(made.subscriberId)).toBeUndefined();
      expect(await subs.mailContact('delete-me@example.jp')).toBeUndefined();
      expect(await tokens.find(secret, 'manage')).toBeUndefined();
      const left = {
        topics: await db.kysely
          .selectFrom('subscriber_topics')
          .selectAll()
          .where('subscriber_id', '=', made.subscriberId)
          .execute(),
        areas: await db.kysely
          .selectFrom('subscriber_areas')
          .selectAll()
          .where('subscriber_id', '=', made.subscriberId)
          .execute(),
        tokens: await db.kysely
          .selectFrom('subscriber_tokens')
          .selectAll()
          .where('subscriber_id', '=', made.subscriberId)
          .execute(),
      };
      expect(left).toEqual({ topics: [], areas: [], tokens: [] });
      const delivery = await db.kysely
        .selectFrom('deliveries')
        .selectAll()
        .where('notice_id', '=', 'n-delete-test')
        .executeTakeFirstOrThrow();
      expect(delivery.contact_id).toBeNull();
      expect(delivery.status).toBe('sent');
      // Nothing in the row names the resident.
      expect(JSON.stringify(delivery)).not.toContain('delete-me');
      expect(await subs.delete(made.subscriberId)).toBe(false);
    });

    it('purgeUnconfirmed removes old unconfirmed sign-ups only', async () => {
      const t0 = new Date('2020-01-01T00:00:00Z');
      const old = await subs.createPendingMail('old-pending@example.jp', { topics: [], areas: [], locale: 'ja' }, t0);
      const oldConfirmed = await subs.createPendingMail(
        'old-confirmed@example.jp',
        { topics: [], areas: [], locale: 'ja' },
        t0,
      );
      await subs.activate(oldConfirmed.contactId);
      const fresh = await pending('fresh-pending@example.jp');
      const removed = await subs.purgeUnconfirmed(new Date('2021-01-01T00:00:00Z'));
      expect(removed).toBe(1);
      expect(await subs.get(old.subscriberId)).toBeUndefined();
      expect(await subs.get(oldConfirmed.subscriberId)).toBeDefined();
      expect(await subs.get(fresh.subscriberId)).toBeDefined();
    });
  });
});
