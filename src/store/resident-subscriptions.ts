import type { Transaction } from 'kysely';
import type { ChannelId, Locale } from '../domain/notice.ts';
import type { Db } from './db.ts';
import { manageNonceOf } from './manage-nonce.ts';
import type { Database } from './schema.ts';
import { insertSubscriberContact, replaceChoices } from './subscriber-choices.ts';
import { toIso } from './time.ts';

/**
 * Residents who sign themselves up. Each address is a contact on a subscriber of its own
 * (as each LINE user and each push subscription is), so what a resident chooses for mail
 * never changes what the same person gets on LINE or on a phone.
 */

export interface ResidentChoices {
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
  locale: Locale;
}

export interface ResidentContact {
  contactId: number;
  channel: ChannelId;
  /** The mailbox (or other channel address), to mail a fresh confirmation to. */
  address: string;
  verified: boolean;
  active: boolean;
  deactivatedReason: string | null;
}

export interface ResidentSubscription extends ResidentChoices {
  subscriberId: number;
  /** Signed into the subscriber's manage links (src/store/manage-nonce.ts). */
  manageNonce: string;
  contacts: ResidentContact[];
}

export interface MailContact {
  contactId: number;
  subscriberId: number;
  verified: boolean;
  active: boolean;
}

/** Why a contact signed up on the page does not get notices yet. */
export const AWAITING_CONFIRMATION = 'awaiting confirmation';

export type ResidentSubscriptionRepo = ReturnType<typeof createResidentSubscriptionRepo>;

type Q = Db['kysely'] | Transaction<Database>;

async function saveChoices(tx: Transaction<Database>, subscriberId: number, choices: ResidentChoices, at: string) {
  await replaceChoices(tx, subscriberId, { topics: choices.topics, areas: choices.areas });
  await tx
    .updateTable('subscribers')
    .set({ locale: choices.locale, updated_at: at })
    .where('id', '=', subscriberId)
    .execute();
}

async function mailContactIn(q: Q, address: string): Promise<MailContact | undefined> {
  const row = await q
    .selectFrom('contacts')
    .select(['id', 'subscriber_id', 'verified', 'active'])
    .where('channel', '=', 'mail')
    .where('address', '=', address)
    .executeTakeFirst();
  return row
    ? {
        contactId: Number(row.id),
        subscriberId: Number(row.subscriber_id),
        verified: row.verified === 1,
        active: row.active === 1,
      }
    : undefined;
}

export function createResidentSubscriptionRepo(db: Db) {
  const k = db.kysely;

  return {
    /** The mail contact for an address (already normalised by the caller), if any. */
    mailContact: (address: string) => mailContactIn(k, address),

    /**
     * A new resident from the sign-up page: a subscriber with the choices and an unverified,
     * inactive mail contact, which gets nothing until confirmed. If the address arrived
     * meanwhile (two requests at once), returns that contact instead and creates nothing.
     */
    async createPendingMail(
      address: string,
      choices: ResidentChoices,
      now = new Date(),
    ): Promise<MailContact & { created: boolean }> {
      const at = toIso(now);
      try {
        return await k.transaction().execute(async (tx) => {
          const { subscriberId, contactId } = await insertSubscriberContact(tx, {
            locale: choices.locale,
            channel: 'mail',
            address,
            awaiting: AWAITING_CONFIRMATION,
            at,
          });
          await saveChoices(tx, subscriberId, choices, at);
          return { contactId, subscriberId, verified: false, active: false, created: true };
        });
      } catch (err) {
        // The unique (channel, address) lost a race: the other request's row stands.
        const existing = await mailContactIn(k, address);
        if (!existing) throw err;
        return { ...existing, created: false };
      }
    },

    /** The nonce a subscriber's manage links are signed over; undefined when the subscriber is gone. */
    manageNonce: (subscriberId: number) => manageNonceOf(k, subscriberId),

    /** Replaces a subscriber's topics, areas and language; false when the subscriber is gone. */
    async setChoices(subscriberId: number, choices: ResidentChoices, now = new Date()): Promise<boolean> {
      return k.transaction().execute(async (tx) => {
        const exists = await tx
          .selectFrom('subscribers')
          .select('id')
          .where('id', '=', subscriberId)
          .executeTakeFirst();
        if (!exists) return false;
        await saveChoices(tx, subscriberId, choices, toIso(now));
        return true;
      });
    },

    async get(subscriberId: number): Promise<ResidentSubscription | undefined> {
      const subscriber = await k
        .selectFrom('subscribers')
        .select(['id', 'locale', 'manage_nonce'])
        .where('id', '=', subscriberId)
        .executeTakeFirst();
      if (!subscriber) return undefined;
      const [topics, areas, contacts] = await Promise.all([
        k
          .selectFrom('subscriber_topics')
          .select('topic')
          .where('subscriber_id', '=', subscriberId)
          .orderBy('topic')
          .execute(),
        k
          .selectFrom('subscriber_areas')
          .select('area')
          .where('subscriber_id', '=', subscriberId)
          .orderBy('area')
          .execute(),
        k
          .selectFrom('contacts')
          .select(['id', 'channel', 'address', 'verified', 'active', 'deactivated_reason'])
          .where('subscriber_id', '=', subscriberId)
          .orderBy('id')
          .execute(),
      ]);
      return {
        subscriberId,
        manageNonce: subscriber.manage_nonce,
        locale: subscriber.locale,
        topics: topics.map((t) => t.topic),
        areas: areas.map((a) => a.area),
        contacts: contacts.map((c) => ({
          contactId: Number(c.id),
          channel: c.channel,
          address: c.address,
          verified: c.verified === 1,
          active: c.active === 1,
          deactivatedReason: c.deactivated_reason,
        })),
      };
    },

    /** Confirmed by the resident (or resumed from the manage page): the contact gets notices. */
    async activate(contactId: number, now = new Date()): Promise<boolean> {
      const result = await k
        .updateTable('contacts')
        .set({ verified: 1, active: 1, deactivated_reason: null, updated_at: toIso(now) })
        .where('id', '=', contactId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Deletes the subscriber; the database cascades to its contacts, topics, areas, tokens
     * and push keys. Delivery rows keep only the former contact id and their status
     * (contact_id becomes null): no address, no choice, nothing that names the resident.
     */
    async delete(subscriberId: number): Promise<boolean> {
      const result = await k.deleteFrom('subscribers').where('id', '=', subscriberId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /**
     * Deletes residents who signed up but never confirmed, untouched since `before`: an
     * address someone else typed in must not stay stored for ever. Returns how many.
     */
    async purgeUnconfirmed(before: Date): Promise<number> {
      const cutoff = toIso(before);
      const result = await k
        .deleteFrom('subscribers')
        .where((eb) =>
          eb.and([
            eb.exists(
              eb
                .selectFrom('contacts as c')
                .select('c.id')
                .whereRef('c.subscriber_id', '=', 'subscribers.id')
                .where('c.deactivated_reason', '=', AWAITING_CONFIRMATION),
            ),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('contacts as c2')
                  .select('c2.id')
                  .whereRef('c2.subscriber_id', '=', 'subscribers.id')
                  .where('c2.verified', '=', 1),
              ),
            ),
            // A new request for the same address renews the choices and so updated_at.
            eb('subscribers.updated_at', '<', cutoff),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
