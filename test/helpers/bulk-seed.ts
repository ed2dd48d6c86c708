import type { Deps } from '../../src/deps.ts';
import type { ChannelId, Locale } from '../../src/domain/notice.ts';

export interface BulkContact {
  /** The e-mail address, LINE user id or push endpoint. */
  address: string;
  locale?: Locale;
  /** Web Push only: the browser's keys. */
  keys?: { p256dh: string; auth: string };
}

/** Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound parameters. */
const CHUNK = 500;

/**
 * Residents as the store's own functions would leave them (subscriber, active verified
 * contact, topics, push keys), written with a few multi-row INSERTs per 500 residents
 * instead of one transaction per resident: 20,000 residents in seconds, for fault and
 * load tests. Each resident has one contact; returns the contact ids in input order.
 */
export async function seedContacts(
  deps: Pick<Deps, 'store'>,
  channel: Extract<ChannelId, 'mail' | 'line' | 'webpush'>,
  contacts: BulkContact[],
  topics: string[] = ['disaster'],
  /** The districts the residents chose; none is the whole city. */
  areas: string[] = [],
): Promise<number[]> {
  const k = deps.store.db.kysely;
  const at = new Date().toISOString();
  const ids: number[] = [];
  for (let i = 0; i < contacts.length; i += CHUNK) {
    const chunk = contacts.slice(i, i + CHUNK);
    await k.transaction().execute(async (tx) => {
      const subscribers = await tx
        .insertInto('subscribers')
        .values(chunk.map((c) => ({ locale: c.locale ?? 'ja', created_at: at, updated_at: at })))
        .returning('id')
        .execute();
      const subscriberIds = subscribers.map((s) => Number(s.id));
      const made = await tx
        .insertInto('contacts')
        .values(
          chunk.map((c, j) => ({
            subscriber_id: subscriberIds[j] as number,
            channel,
            address: c.address,
            verified: 1,
            active: 1,
            deactivated_reason: null,
            created_at: at,
            updated_at: at,
          })),
        )
        .returning(['id', 'subscriber_id'])
        .execute();
      // RETURNING order is not promised by either store: match contacts back by subscriber.
      const contactOf = new Map(made.map((m) => [Number(m.subscriber_id), Number(m.id)]));
      const contactIds = subscriberIds.map((s) => contactOf.get(s) as number);
      if (topics.length > 0) {
        await tx
          .insertInto('subscriber_topics')
          .values(subscriberIds.flatMap((subscriber_id) => topics.map((topic) => ({ subscriber_id, topic }))))
          .execute();
      }
      if (areas.length > 0) {
        await tx
          .insertInto('subscriber_areas')
          .values(subscriberIds.flatMap((subscriber_id) => areas.map((area) => ({ subscriber_id, area }))))
          .execute();
      }
      if (channel === 'webpush') {
        await tx
          .insertInto('push_subscriptions')
          .values(
            chunk.map((c, j) => {
              if (!c.keys) throw new Error(`push contact ${c.address} needs keys`);
              return { contact_id: contactIds[j] as number, p256dh: c.keys.p256dh, auth: c.keys.auth, created_at: at };
            }),
          )
          .execute();
      }
      ids.push(...contactIds);
    });
  }
  return ids;
}
