import type { Locale } from '../domain/notice.ts';
import type { Db, Executor } from './db.ts';
import { contactChoices, contactOn, insertSubscriberContact, replaceChoices } from './subscriber-choices.ts';
import { toIso } from './time.ts';

/**
 * Browsers subscribed to Web Push from the public page. Each push subscription is a
 * contact on channel 'webpush' (address = the endpoint URL) of a subscriber of its own,
 * so the topics and areas chosen on one phone never change what the same person gets by
 * mail or LINE. Subscribing is the resident's own act in their browser (the permission
 * prompt), so the contact is verified from the start.
 */

export interface PushSubscriptionInput {
  endpoint: string;
  /** The browser's P-256 public key and auth secret, base64url (PushSubscription.toJSON().keys). */
  p256dh: string;
  auth: string;
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
  locale: Locale;
}

export interface PushChoices {
  contactId: number;
  subscriberId: number;
  /** False after the push service answered 404/410 (the subscription is gone). */
  active: boolean;
  locale: Locale;
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
}

export type PushSubscriptionRepo = ReturnType<typeof createPushSubscriptionRepo>;

export function createPushSubscriptionRepo(db: Db) {
  const k = db.kysely;

  const contactOf = (q: Executor, endpoint: string) => contactOn(q, 'webpush', endpoint);
  const choicesIn = (q: Executor, endpoint: string): Promise<PushChoices | undefined> =>
    contactChoices(q, 'webpush', endpoint);

  async function subscribeOnce(input: PushSubscriptionInput, now: Date): Promise<number> {
    const at = toIso(now);
    return k.transaction().execute(async (tx) => {
      const existing = await contactOf(tx, input.endpoint);
      if (existing) {
        const contactId = Number(existing.id);
        const subscriberId = Number(existing.subscriber_id);
        // The same browser again (new choices, or back after its subscription was switched off).
        await tx
          .updateTable('contacts')
          .set({ active: 1, verified: 1, deactivated_reason: null, updated_at: at })
          .where('id', '=', contactId)
          .execute();
        await tx
          .updateTable('subscribers')
          .set({ locale: input.locale, updated_at: at })
          .where('id', '=', subscriberId)
          .execute();
        await tx
          .insertInto('push_subscriptions')
          .values({ contact_id: contactId, p256dh: input.p256dh, auth: input.auth, created_at: at })
          .onConflict((oc) => oc.column('contact_id').doUpdateSet({ p256dh: input.p256dh, auth: input.auth }))
          .execute();
        await replaceChoices(tx, subscriberId, { topics: input.topics, areas: input.areas });
        return contactId;
      }
      const { subscriberId, contactId } = await insertSubscriberContact(tx, {
        locale: input.locale,
        channel: 'webpush',
        address: input.endpoint,
        at,
      });
      await tx
        .insertInto('push_subscriptions')
        .values({ contact_id: contactId, p256dh: input.p256dh, auth: input.auth, created_at: at })
        .execute();
      await replaceChoices(tx, subscriberId, { topics: input.topics, areas: input.areas });
      return contactId;
    });
  }

  return {
    /**
     * Creates the subscriber, its active verified 'webpush' contact, the keys and the
     * choices; for an endpoint already known, updates them (and makes it active again).
     * Returns the contact id.
     */
    async subscribe(input: PushSubscriptionInput, now = new Date()): Promise<number> {
      try {
        return await subscribeOnce(input, now);
      } catch (err) {
        // The same browser posting twice at once: the loser's insert hits the unique
        // (channel, address); the second try updates the winner's row.
        if (!(await contactOf(k, input.endpoint))) throw err;
        return subscribeOnce(input, now);
      }
    },

    /**
     * The resident pressed stop (or the browser dropped the subscription): the subscriber,
     * contact, keys and choices are deleted, as nothing is left to send to. Deliveries
     * still queued for it are skipped by the worker. False when the endpoint was unknown.
     */
    async unsubscribe(endpoint: string): Promise<boolean> {
      return k.transaction().execute(async (tx) => {
        const c = await contactOf(tx, endpoint);
        if (!c) return false;
        await tx.deleteFrom('push_subscriptions').where('contact_id', '=', Number(c.id)).execute();
        await tx.deleteFrom('contacts').where('id', '=', Number(c.id)).execute();
        const others = await tx
          .selectFrom('contacts')
          .select('id')
          .where('subscriber_id', '=', Number(c.subscriber_id))
          .executeTakeFirst();
        if (!others) await tx.deleteFrom('subscribers').where('id', '=', Number(c.subscriber_id)).execute();
        return true;
      });
    },

    /** The keys to encrypt for an active subscription; undefined once it is gone or switched off. */
    async keysOf(contactId: number): Promise<{ p256dh: string; auth: string } | undefined> {
      const row = await k
        .selectFrom('push_subscriptions as p')
        .innerJoin('contacts as c', 'c.id', 'p.contact_id')
        .select(['p.p256dh', 'p.auth'])
        .where('p.contact_id', '=', contactId)
        .where('c.active', '=', 1)
        .executeTakeFirst();
      return row ? { p256dh: row.p256dh, auth: row.auth } : undefined;
    },

    /** keysOf for a whole batch in one query: the channel asks once per send() instead of once per recipient. */
    async keysOfMany(contactIds: number[]): Promise<Map<number, { p256dh: string; auth: string }>> {
      const found = new Map<number, { p256dh: string; auth: string }>();
      // Chunks stay well under SQLite's limit on bound parameters.
      for (let i = 0; i < contactIds.length; i += 500) {
        const rows = await k
          .selectFrom('push_subscriptions as p')
          .innerJoin('contacts as c', 'c.id', 'p.contact_id')
          .select(['p.contact_id', 'p.p256dh', 'p.auth'])
          .where('p.contact_id', 'in', contactIds.slice(i, i + 500))
          .where('c.active', '=', 1)
          .execute();
        for (const r of rows) found.set(Number(r.contact_id), { p256dh: r.p256dh, auth: r.auth });
      }
      return found;
    },

    /** What a browser's subscription has chosen; undefined when the endpoint is unknown. */
    async choices(endpoint: string): Promise<PushChoices | undefined> {
      return choicesIn(k, endpoint);
    },

    async countActive(): Promise<number> {
      const row = await k
        .selectFrom('contacts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('channel', '=', 'webpush')
        .where('active', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
