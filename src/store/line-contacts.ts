import type { Transaction } from 'kysely';
import type { Locale } from '../domain/notice.ts';
import type { Db, Executor } from './db.ts';
import type { Database } from './schema.ts';
import { contactChoices, contactOn, insertSubscriberContact } from './subscriber-choices.ts';
import { toIso } from './time.ts';

/**
 * Residents who signed up by adding the city's LINE account as a friend. Each LINE user
 * id is a contact (channel 'line', address = user id) on a subscriber of its own, so the
 * topics and areas chosen in LINE never change what the same person gets by mail.
 */

/** What a LINE resident has chosen. */
export interface LineChoices {
  contactId: number;
  subscriberId: number;
  /** False after unfollow (block) or 停止. */
  active: boolean;
  locale: Locale;
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
}

export interface FollowOutcome {
  choices: LineChoices;
  created: boolean;
  /** An inactive contact (unfollowed or stopped before) was made active again. */
  reactivated: boolean;
}

export const LINE_UNFOLLOWED = 'unfollowed or blocked the account on LINE';
export const LINE_STOPPED = 'asked to stop on LINE (停止)';

export type LineContactRepo = ReturnType<typeof createLineContactRepo>;

export function createLineContactRepo(db: Db) {
  const k = db.kysely;

  const contactOf = (q: Executor, userId: string) => contactOn(q, 'line', userId);
  const choicesIn = (q: Executor, userId: string): Promise<LineChoices | undefined> =>
    contactChoices(q, 'line', userId);

  async function followOnce(userId: string, topics: string[], locale: Locale, now: Date): Promise<FollowOutcome> {
    const at = toIso(now);
    return k.transaction().execute(async (tx) => {
      const existing = await contactOf(tx, userId);
      if (existing) {
        const subscriberId = Number(existing.subscriber_id);
        const reactivated = existing.active !== 1;
        if (reactivated) {
          await tx
            .updateTable('contacts')
            .set({ active: 1, deactivated_reason: null, updated_at: at })
            .where('id', '=', existing.id)
            .execute();
          // A resident who comes back keeps the choices made before; one who never chose gets the defaults.
          const hasTopics = await tx
            .selectFrom('subscriber_topics')
            .select('topic')
            .where('subscriber_id', '=', subscriberId)
            .executeTakeFirst();
          if (!hasTopics) await addTopics(tx, subscriberId, topics);
        }
        const choices = await choicesIn(tx, userId);
        return { choices: choices as LineChoices, created: false, reactivated };
      }
      // Adding the account as a friend is the resident's own act: nothing to verify.
      const { subscriberId } = await insertSubscriberContact(tx, { locale, channel: 'line', address: userId, at });
      await addTopics(tx, subscriberId, topics);
      const choices = await choicesIn(tx, userId);
      return { choices: choices as LineChoices, created: true, reactivated: false };
    });
  }

  async function setActive(userId: string, active: boolean, reason: string | null, now: Date): Promise<boolean> {
    const result = await k
      .updateTable('contacts')
      .set({ active: active ? 1 : 0, deactivated_reason: reason, updated_at: toIso(now) })
      .where('channel', '=', 'line')
      .where('address', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Runs a change on the resident's own subscriber; undefined when the user id is unknown. */
  async function change(
    userId: string,
    now: Date,
    apply: (tx: Transaction<Database>, subscriberId: number) => Promise<void>,
  ): Promise<LineChoices | undefined> {
    return k.transaction().execute(async (tx) => {
      const c = await contactOf(tx, userId);
      if (!c) return undefined;
      const subscriberId = Number(c.subscriber_id);
      await apply(tx, subscriberId);
      await tx
        .updateTable('subscribers')
        .set({ updated_at: toIso(now) })
        .where('id', '=', subscriberId)
        .execute();
      return choicesIn(tx, userId);
    });
  }

  return {
    /**
     * A follow event: creates the resident with the default topics, or makes a returning
     * one active again. Idempotent, as LINE may deliver a webhook event twice.
     */
    async follow(
      userId: string,
      topics: string[],
      options: { locale?: Locale; now?: Date } = {},
    ): Promise<FollowOutcome> {
      const locale = options.locale ?? 'ja';
      const now = options.now ?? new Date();
      try {
        return await followOnce(userId, topics, locale, now);
      } catch (err) {
        // Two deliveries of the same follow at once: the loser's insert hits the unique
        // (channel, address); the second try finds the winner's row.
        if (!(await contactOf(k, userId))) throw err;
        return followOnce(userId, topics, locale, now);
      }
    },

    /** An unfollow event (the resident blocked or removed the account): no more messages. */
    async unfollow(userId: string, now = new Date()): Promise<boolean> {
      return setActive(userId, false, LINE_UNFOLLOWED, now);
    },

    /** The resident wrote 停止: no more messages while they stay a friend. */
    async stop(userId: string, now = new Date()): Promise<boolean> {
      return setActive(userId, false, LINE_STOPPED, now);
    },

    /** The resident wrote 再開 after 停止. */
    async resume(userId: string, now = new Date()): Promise<LineChoices | undefined> {
      await setActive(userId, true, null, now);
      return choicesIn(k, userId);
    },

    async choices(userId: string): Promise<LineChoices | undefined> {
      return choicesIn(k, userId);
    },

    async setTopic(userId: string, topic: string, on: boolean, now = new Date()): Promise<LineChoices | undefined> {
      return change(userId, now, async (tx, subscriberId) => {
        if (on) await addTopics(tx, subscriberId, [topic]);
        else
          await tx
            .deleteFrom('subscriber_topics')
            .where('subscriber_id', '=', subscriberId)
            .where('topic', '=', topic)
            .execute();
      });
    },

    /** One area (a JIS X 0402 code) instead of any chosen before, or null for the whole city. */
    async setArea(userId: string, area: string | null, now = new Date()): Promise<LineChoices | undefined> {
      return change(userId, now, async (tx, subscriberId) => {
        await tx.deleteFrom('subscriber_areas').where('subscriber_id', '=', subscriberId).execute();
        if (area !== null)
          await tx.insertInto('subscriber_areas').values({ subscriber_id: subscriberId, area }).execute();
      });
    },

    async setLocale(userId: string, locale: Locale, now = new Date()): Promise<LineChoices | undefined> {
      return change(userId, now, async (tx, subscriberId) => {
        await tx.updateTable('subscribers').set({ locale }).where('id', '=', subscriberId).execute();
      });
    },
  };
}

async function addTopics(tx: Transaction<Database>, subscriberId: number, topics: string[]): Promise<void> {
  const unique = [...new Set(topics)];
  if (unique.length === 0) return;
  await tx
    .insertInto('subscriber_topics')
    .values(unique.map((topic) => ({ subscriber_id: subscriberId, topic })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}
