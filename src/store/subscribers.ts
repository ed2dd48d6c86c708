import type { ChannelId, Locale, Severity } from '../domain/notice.ts';
import type { Db } from './db.ts';
import { rotateManageNonce } from './manage-nonce.ts';
import { insertSubscriberContact } from './subscriber-choices.ts';
import { toIso } from './time.ts';

export interface SubscriberImport {
  email: string;
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
  locale: Locale;
}

export interface ImportOutcome {
  created: number;
  updated: number;
  /** Contacts that unsubscribed earlier: an old list must not sign them up again. */
  skippedUnsubscribed: number[];
}

export interface AudienceCriteria {
  channel: ChannelId;
  topics: string[];
  areas: string[];
  /** An emergency reaches every active contact in its areas, whatever topics were chosen. */
  ignoreTopics: boolean;
  /** The notice's severity: a webhook endpoint takes only notices at or above its minimum. */
  severity: Severity;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, advisory: 1, warning: 2, emergency: 3 };

export interface ContactRecipient {
  contactId: number;
  address: string;
  locale: Locale;
  active: boolean;
}

/** A mail subscriber as an export lists them: what the resident gave, nothing else. */
export interface MailListRow {
  contactId: number;
  email: string;
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
  locale: Locale;
}

export type SubscriberRepo = ReturnType<typeof createSubscriberRepo>;

export function createSubscriberRepo(db: Db) {
  const k = db.kysely;

  /** The active, verified contacts on a channel that a notice with these topics and areas reaches. */
  const audience = (criteria: AudienceCriteria) => {
    let q = k
      .selectFrom('contacts as c')
      .where('c.channel', '=', criteria.channel)
      .where('c.active', '=', 1)
      .where('c.verified', '=', 1);
    if (criteria.channel === 'webhook') {
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('webhook_endpoints as we')
            .select('we.contact_id')
            .whereRef('we.contact_id', '=', 'c.id')
            .where('we.min_severity', '<=', SEVERITY_RANK[criteria.severity]),
        ),
      );
    }
    if (!criteria.ignoreTopics && criteria.topics.length > 0) {
      q = q.where((eb) => {
        const chosen = eb.exists(
          eb
            .selectFrom('subscriber_topics as st')
            .select('st.topic')
            .whereRef('st.subscriber_id', '=', 'c.subscriber_id')
            .where('st.topic', 'in', criteria.topics),
        );
        if (criteria.channel !== 'webhook') return chosen;
        // A webhook endpoint without topics takes every topic, as one without areas takes the whole city.
        return eb.or([
          eb.not(
            eb.exists(
              eb
                .selectFrom('subscriber_topics as st0')
                .select('st0.topic')
                .whereRef('st0.subscriber_id', '=', 'c.subscriber_id'),
            ),
          ),
          chosen,
        ]);
      });
    }
    if (criteria.areas.length > 0) {
      // A subscriber without areas chose the whole city.
      q = q.where((eb) =>
        eb.or([
          eb.not(
            eb.exists(
              eb
                .selectFrom('subscriber_areas as sa')
                .select('sa.area')
                .whereRef('sa.subscriber_id', '=', 'c.subscriber_id'),
            ),
          ),
          eb.exists(
            eb
              .selectFrom('subscriber_areas as sa2')
              .select('sa2.area')
              .whereRef('sa2.subscriber_id', '=', 'c.subscriber_id')
              .where('sa2.area', 'in', criteria.areas),
          ),
        ]),
      );
    }
    return q;
  };

  return {
    /**
     * Adds residents as confirmed contacts at once, for seeding a store (tests, the bench).
     * Not for a list of unknown consent: the staff import (POST /v1/subscribers) goes through
     * the residents service, which mails a confirmation and changes no known resident.
     * A resident already known by address gets the union of old and new choices; `areas: []`
     * (the whole city) wins over any district. Returns the index of each row skipped because
     * that contact unsubscribed.
     */
    async importMail(rows: SubscriberImport[], now = new Date()): Promise<ImportOutcome> {
      const outcome: ImportOutcome = { created: 0, updated: 0, skippedUnsubscribed: [] };
      const at = toIso(now);
      await k.transaction().execute(async (tx) => {
        for (const [index, row] of rows.entries()) {
          const existing = await tx
            .selectFrom('contacts')
            .select(['id', 'subscriber_id', 'active', 'deactivated_reason'])
            .where('channel', '=', 'mail')
            .where('address', '=', row.email)
            .executeTakeFirst();
          let subscriberId: number;
          let areas = row.areas;
          if (existing) {
            if (!existing.active) {
              outcome.skippedUnsubscribed.push(index);
              continue;
            }
            subscriberId = existing.subscriber_id;
            await tx
              .updateTable('subscribers')
              .set({ locale: row.locale, updated_at: at })
              .where('id', '=', subscriberId)
              .execute();
            const hadAreas = await tx
              .selectFrom('subscriber_areas')
              .select('area')
              .where('subscriber_id', '=', subscriberId)
              .executeTakeFirst();
            // Whole city before or now stays whole city.
            if (!hadAreas || row.areas.length === 0) {
              await tx.deleteFrom('subscriber_areas').where('subscriber_id', '=', subscriberId).execute();
              areas = [];
            }
            outcome.updated++;
          } else {
            // Staff import what residents signed on paper: consent is already given.
            ({ subscriberId } = await insertSubscriberContact(tx, {
              locale: row.locale,
              channel: 'mail',
              address: row.email,
              at,
            }));
            outcome.created++;
          }
          if (row.topics.length > 0) {
            await tx
              .insertInto('subscriber_topics')
              .values(row.topics.map((topic) => ({ subscriber_id: subscriberId, topic })))
              .onConflict((oc) => oc.doNothing())
              .execute();
          }
          if (areas.length > 0) {
            await tx
              .insertInto('subscriber_areas')
              .values(areas.map((area) => ({ subscriber_id: subscriberId, area })))
              .onConflict((oc) => oc.doNothing())
              .execute();
          }
        }
      });
      return outcome;
    },

    /**
     * One page of a notice's audience on a channel, in contact id order, so the dispatcher
     * streams any number of subscribers with constant memory and can resume after a crash.
     */
    async audiencePage(criteria: AudienceCriteria, afterContactId: number, limit: number): Promise<number[]> {
      const rows = await audience(criteria)
        .select('c.id')
        .where('c.id', '>', afterContactId)
        .orderBy('c.id', 'asc')
        .limit(limit)
        .execute();
      return rows.map((r) => Number(r.id));
    },

    async countAudience(criteria: AudienceCriteria): Promise<number> {
      const row = await audience(criteria)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async contact(id: number): Promise<ContactRecipient | undefined> {
      const row = await k
        .selectFrom('contacts as c')
        .innerJoin('subscribers as s', 's.id', 'c.subscriber_id')
        .select(['c.id', 'c.address', 'c.active', 's.locale'])
        .where('c.id', '=', id)
        .executeTakeFirst();
      return row
        ? { contactId: Number(row.id), address: row.address, locale: row.locale, active: row.active === 1 }
        : undefined;
    },

    /**
     * A resident's own unsubscribe: the contact stops, and every link the subscriber holds
     * dies with it (manage links by a new nonce, mailed secrets by deletion), so an old mail
     * cannot open the subscription again. False when there is no such contact.
     */
    async unsubscribeContact(contactId: number, now = new Date()): Promise<boolean> {
      const at = toIso(now);
      return k.transaction().execute(async (tx) => {
        const contact = await tx
          .selectFrom('contacts')
          .select('subscriber_id')
          .where('id', '=', contactId)
          .executeTakeFirst();
        if (!contact) return false;
        await tx
          .updateTable('contacts')
          .set({ active: 0, deactivated_reason: 'unsubscribed', updated_at: at })
          .where('id', '=', contactId)
          .execute();
        const subscriberId = Number(contact.subscriber_id);
        await rotateManageNonce(tx, subscriberId, at);
        await tx.deleteFrom('subscriber_tokens').where('subscriber_id', '=', subscriberId).execute();
        return true;
      });
    },

    async deactivateContacts(ids: number[], reason: string, now = new Date()): Promise<void> {
      if (ids.length === 0) return;
      await k
        .updateTable('contacts')
        .set({ active: 0, deactivated_reason: reason, updated_at: toIso(now) })
        .where('id', 'in', ids)
        .execute();
    },

    /**
     * One page of the mail list as residents gave it (address, topics, areas, language), in
     * contact id order, for an export that streams any number of rows with constant memory.
     * Only active, confirmed addresses: an unsubscribed or unconfirmed one is not on the list.
     */
    async exportMailPage(afterContactId: number, limit: number): Promise<MailListRow[]> {
      const contacts = await k
        .selectFrom('contacts as c')
        .innerJoin('subscribers as s', 's.id', 'c.subscriber_id')
        .select(['c.id', 'c.address', 'c.subscriber_id', 's.locale'])
        .where('c.channel', '=', 'mail')
        .where('c.active', '=', 1)
        .where('c.verified', '=', 1)
        .where('c.id', '>', afterContactId)
        .orderBy('c.id', 'asc')
        .limit(limit)
        .execute();
      if (contacts.length === 0) return [];
      const ids = [...new Set(contacts.map((c) => c.subscriber_id))];
      const [topics, areas] = await Promise.all([
        k
          .selectFrom('subscriber_topics')
          .select(['subscriber_id', 'topic'])
          .where('subscriber_id', 'in', ids)
          .execute(),
        k.selectFrom('subscriber_areas').select(['subscriber_id', 'area']).where('subscriber_id', 'in', ids).execute(),
      ]);
      const topicsOf = new Map<number, string[]>();
      for (const r of topics)
        topicsOf.set(Number(r.subscriber_id), [...(topicsOf.get(Number(r.subscriber_id)) ?? []), r.topic]);
      const areasOf = new Map<number, string[]>();
      for (const r of areas)
        areasOf.set(Number(r.subscriber_id), [...(areasOf.get(Number(r.subscriber_id)) ?? []), r.area]);
      return contacts.map((c) => ({
        contactId: Number(c.id),
        email: c.address,
        topics: (topicsOf.get(Number(c.subscriber_id)) ?? []).sort(),
        areas: (areasOf.get(Number(c.subscriber_id)) ?? []).sort(),
        locale: c.locale,
      }));
    },

    async countActive(channel: ChannelId): Promise<number> {
      const row = await k
        .selectFrom('contacts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('channel', '=', channel)
        .where('active', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
