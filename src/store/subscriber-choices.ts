import type { Transaction } from 'kysely';
import type { ChannelId } from '../domain/notice.ts';
import type { Db } from './db.ts';
import type { Database } from './schema.ts';

/** The store itself or a transaction on it. */
export type Executor = Db['kysely'] | Transaction<Database>;

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
