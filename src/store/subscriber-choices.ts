import type { Transaction } from 'kysely';
import type { ChannelId, Locale } from '../domain/notice.ts';
import type { Executor } from './db.ts';
import { newManageNonce } from './manage-nonce.ts';
import type { Database } from './schema.ts';

/**
 * What every channel's sign-up shares (LINE, push, the mail pages, webhook endpoints): a
 * contact found by channel and address, and its subscriber's topics and areas.
 */
export function contactOn(q: Executor, channel: ChannelId, address: string) {
  return q
    .selectFrom('contacts as c')
    .innerJoin('subscribers as s', 's.id', 'c.subscriber_id')
    .select(['c.id', 'c.subscriber_id', 'c.active', 's.locale'])
    .where('c.channel', '=', channel)
    .where('c.address', '=', address)
    .executeTakeFirst();
}

/** A contact's subscriber, state and choices, found by channel and address; undefined when unknown. */
export async function contactChoices(q: Executor, channel: ChannelId, address: string) {
  const c = await contactOn(q, channel, address);
  if (!c) return undefined;
  const subscriberId = Number(c.subscriber_id);
  return {
    contactId: Number(c.id),
    subscriberId,
    active: c.active === 1,
    locale: c.locale,
    ...(await choicesOf(q, subscriberId)),
  };
}

export interface NewContact {
  locale: Locale;
  channel: ChannelId;
  address: string;
  /**
   * A confirmed contact is active at once; an unconfirmed one (a mail sign-up) waits,
   * inactive, with this reason until the resident confirms.
   */
  awaiting?: string;
  at: string;
}

/** A new subscriber with its one contact: how every channel's sign-up, import and endpoint begins. */
export async function insertSubscriberContact(
  tx: Transaction<Database>,
  contact: NewContact,
): Promise<{ subscriberId: number; contactId: number }> {
  const subscriber = await tx
    .insertInto('subscribers')
    .values({ locale: contact.locale, manage_nonce: newManageNonce(), created_at: contact.at, updated_at: contact.at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const subscriberId = Number(subscriber.id);
  const confirmed = contact.awaiting === undefined;
  const row = await tx
    .insertInto('contacts')
    .values({
      subscriber_id: subscriberId,
      channel: contact.channel,
      address: contact.address,
      verified: confirmed ? 1 : 0,
      active: confirmed ? 1 : 0,
      deactivated_reason: contact.awaiting ?? null,
      created_at: contact.at,
      updated_at: contact.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { subscriberId, contactId: Number(row.id) };
}

/** A subscriber's topics and areas, sorted; none means every topic / the whole city. */
export async function choicesOf(q: Executor, subscriberId: number): Promise<{ topics: string[]; areas: string[] }> {
  const [topics, areas] = await Promise.all([
    q
      .selectFrom('subscriber_topics')
      .select('topic')
      .where('subscriber_id', '=', subscriberId)
      .orderBy('topic')
      .execute(),
    q.selectFrom('subscriber_areas').select('area').where('subscriber_id', '=', subscriberId).orderBy('area').execute(),
  ]);
  return { topics: topics.map((t) => t.topic), areas: areas.map((a) => a.area) };
}

/** Replaces a subscriber's topics and/or areas with the whole new choice (a list left out is kept). */
export async function replaceChoices(
  tx: Transaction<Database>,
  subscriberId: number,
  choices: { topics?: string[]; areas?: string[] },
): Promise<void> {
  if (choices.topics) {
    await tx.deleteFrom('subscriber_topics').where('subscriber_id', '=', subscriberId).execute();
    const topics = [...new Set(choices.topics)];
    if (topics.length > 0) {
      await tx
        .insertInto('subscriber_topics')
        .values(topics.map((topic) => ({ subscriber_id: subscriberId, topic })))
        .execute();
    }
  }
  if (choices.areas) {
    await tx.deleteFrom('subscriber_areas').where('subscriber_id', '=', subscriberId).execute();
    const areas = [...new Set(choices.areas)];
    if (areas.length > 0) {
      await tx
        .insertInto('subscriber_areas')
        .values(areas.map((area) => ({ subscriber_id: subscriberId, area })))
        .execute();
    }
  }
}
