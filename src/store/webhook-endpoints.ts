import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { SEVERITIES, type Severity } from '../domain/notice.ts';
import type { Db } from './db.ts';
import type { Database } from './schema.ts';
import { insertSubscriberContact, replaceChoices } from './subscriber-choices.ts';
import { SEVERITY_RANK } from './subscribers.ts';
import { toIso } from './time.ts';

/** An outbound webhook endpoint as staff see it; never with its secret. */
export interface WebhookEndpoint {
  /** The id of the endpoint's contact, which its delivery rows name. */
  id: number;
  name: string;
  url: string;
  /** Empty: every topic. */
  topics: string[];
  /** Empty: the whole city. */
  areas: string[];
  /** It receives notices of this severity and above. */
  minSeverity: Severity;
  active: boolean;
  /** Why it was switched off (by staff, or by a receiver answering 410 Gone). */
  deactivatedReason: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookEndpointInput {
  name: string;
  url: string;
  topics: string[];
  areas: string[];
  minSeverity: Severity;
  createdBy: string;
}

export interface WebhookEndpointChanges {
  name?: string;
  url?: string;
  topics?: string[];
  areas?: string[];
  minSeverity?: Severity;
  active?: boolean;
}

/** Another endpoint already has this URL (contacts are unique per channel and address). */
export class WebhookUrlTakenError extends Error {
  override name = 'WebhookUrlTakenError';
  readonly existingId: number | undefined;
  constructor(existingId: number | undefined) {
    super(
      existingId === undefined
        ? 'another webhook endpoint already has this URL'
        : `webhook endpoint ${existingId} already has this URL`,
    );
    this.existingId = existingId;
  }
}

/** Standard Webhooks secret format: `whsec_` and the base64 of the key (32 random bytes, as HMAC-SHA256 wants). */
export const makeWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

const severityOfRank = (rank: number): Severity =>
  SEVERITIES[Math.min(Math.max(rank, 0), SEVERITIES.length - 1)] ?? 'info';

/** better-sqlite3 and pg name a unique violation differently; a race between two creates ends here. */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

export type WebhookEndpointRepo = ReturnType<typeof createWebhookEndpointRepo>;

/**
 * Outbound webhook endpoints. Each is a subscriber of its own with one contact on the
 * 'webhook' channel (address = the URL), so topics and areas select it as they select
 * residents; webhook_endpoints holds the rest (name, secret, minimum severity).
 */
export function createWebhookEndpointRepo(db: Db) {
  const k = db.kysely;

  const base = () =>
    k
      .selectFrom('webhook_endpoints as we')
      .innerJoin('contacts as c', 'c.id', 'we.contact_id')
      .select([
        'we.contact_id',
        'c.subscriber_id',
        'c.address',
        'c.active',
        'c.deactivated_reason',
        'we.name',
        'we.min_severity',
        'we.created_by',
        'we.created_at',
        'we.updated_at',
      ])
      .where('c.channel', '=', 'webhook');

  type Row = Awaited<ReturnType<ReturnType<typeof base>['executeTakeFirstOrThrow']>>;

  async function hydrate(rows: Row[]): Promise<WebhookEndpoint[]> {
    if (rows.length === 0) return [];
    const subscriberIds = rows.map((r) => Number(r.subscriber_id));
    const [topics, areas] = await Promise.all([
      k
        .selectFrom('subscriber_topics')
        .select(['subscriber_id', 'topic'])
        .where('subscriber_id', 'in', subscriberIds)
        .orderBy('topic')
        .execute(),
      k
        .selectFrom('subscriber_areas')
        .select(['subscriber_id', 'area'])
        .where('subscriber_id', 'in', subscriberIds)
        .orderBy('area')
        .execute(),
    ]);
    const group = <T>(items: T[], key: (t: T) => number, value: (t: T) => string) => {
      const map = new Map<number, string[]>();
      for (const item of items) {
        const list = map.get(key(item)) ?? [];
        list.push(value(item));
        map.set(key(item), list);
      }
      return map;
    };
    const topicsOf = group(
      topics,
      (t) => Number(t.subscriber_id),
      (t) => t.topic,
    );
    const areasOf = group(
      areas,
      (a) => Number(a.subscriber_id),
      (a) => a.area,
    );
    return rows.map((r) => ({
      id: Number(r.contact_id),
      name: r.name,
      url: r.address,
      topics: topicsOf.get(Number(r.subscriber_id)) ?? [],
      areas: areasOf.get(Number(r.subscriber_id)) ?? [],
      minSeverity: severityOfRank(r.min_severity),
      active: r.active === 1,
      deactivatedReason: r.deactivated_reason,
      createdBy: r.created_by,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  async function get(id: number): Promise<WebhookEndpoint | undefined> {
    const row = await base().where('we.contact_id', '=', id).executeTakeFirst();
    return row ? (await hydrate([row]))[0] : undefined;
  }

  async function assertUrlFree(tx: Transaction<Database>, url: string, exceptId?: number): Promise<void> {
    let q = tx.selectFrom('contacts').select('id').where('channel', '=', 'webhook').where('address', '=', url);
    if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
    const taken = await q.executeTakeFirst();
    if (taken) throw new WebhookUrlTakenError(Number(taken.id));
  }

  async function withUniqueUrl<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (isUniqueViolation(err)) throw new WebhookUrlTakenError(undefined);
      throw err;
    }
  }

  return {
    /** Returns the secret once, for the admin to give the receiver; it is kept in clear because every request is signed with it. */
    async create(input: WebhookEndpointInput, now = new Date()): Promise<{ id: number; secret: string }> {
      const at = toIso(now);
      const secret = makeWebhookSecret();
      const id = await withUniqueUrl(() =>
        k.transaction().execute(async (tx) => {
          await assertUrlFree(tx, input.url);
          // An admin configured it: there is no one to confirm it.
          const { subscriberId, contactId } = await insertSubscriberContact(tx, {
            locale: 'ja',
            channel: 'webhook',
            address: input.url,
            at,
          });
          await tx
            .insertInto('webhook_endpoints')
            .values({
              contact_id: contactId,
              name: input.name,
              secret,
              min_severity: SEVERITY_RANK[input.minSeverity],
              created_by: input.createdBy,
              created_at: at,
              updated_at: at,
            })
            .execute();
          await replaceChoices(tx, subscriberId, { topics: input.topics, areas: input.areas });
          return contactId;
        }),
      );
      return { id, secret };
    },

    async list(): Promise<WebhookEndpoint[]> {
      return hydrate(await base().orderBy('we.contact_id').execute());
    },

    get,

    /** Changes what is given and returns the endpoint as it now is; undefined when there is no such endpoint. */
    async update(id: number, changes: WebhookEndpointChanges, now = new Date()): Promise<WebhookEndpoint | undefined> {
      const at = toIso(now);
      const found = await withUniqueUrl(() =>
        k.transaction().execute(async (tx) => {
          const row = await tx
            .selectFrom('webhook_endpoints as we')
            .innerJoin('contacts as c', 'c.id', 'we.contact_id')
            .select(['c.subscriber_id', 'c.active'])
            .where('we.contact_id', '=', id)
            .executeTakeFirst();
          if (!row) return false;
          const subscriberId = Number(row.subscriber_id);
          if (changes.url !== undefined) await assertUrlFree(tx, changes.url, id);
          const contact: { updated_at: string; address?: string; active?: number; deactivated_reason?: string | null } =
            { updated_at: at };
          if (changes.url !== undefined) contact.address = changes.url;
          if (changes.active !== undefined) {
            contact.active = changes.active ? 1 : 0;
            contact.deactivated_reason = changes.active ? null : 'switched off by staff';
          }
          await tx.updateTable('contacts').set(contact).where('id', '=', id).execute();
          const endpoint: { updated_at: string; name?: string; min_severity?: number } = { updated_at: at };
          if (changes.name !== undefined) endpoint.name = changes.name;
          if (changes.minSeverity !== undefined) endpoint.min_severity = SEVERITY_RANK[changes.minSeverity];
          await tx.updateTable('webhook_endpoints').set(endpoint).where('contact_id', '=', id).execute();
          await replaceChoices(tx, subscriberId, { topics: changes.topics, areas: changes.areas });
          return true;
        }),
      );
      return found ? get(id) : undefined;
    },

    /** A new secret at once; the old one stops working for every request signed from now on. */
    async rotateSecret(id: number, now = new Date()): Promise<string | undefined> {
      const secret = makeWebhookSecret();
      const result = await k
        .updateTable('webhook_endpoints')
        .set({ secret, updated_at: toIso(now) })
        .where('contact_id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0 ? secret : undefined;
    },

    /**
     * Deletes the endpoint, its contact and its subscriber. Its delivery rows stay (their
     * contact becomes null), and any of them still queued is skipped, not sent.
     */
    async remove(id: number): Promise<boolean> {
      return k.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('webhook_endpoints as we')
          .innerJoin('contacts as c', 'c.id', 'we.contact_id')
          .select('c.subscriber_id')
          .where('we.contact_id', '=', id)
          .executeTakeFirst();
        if (!row) return false;
        // Cascades to the contact, the endpoint row, its topics and areas.
        await tx.deleteFrom('subscribers').where('id', '=', Number(row.subscriber_id)).execute();
        return true;
      });
    },

    /** The signing secret of the endpoint behind a contact; undefined once it is removed. */
    async secretOf(contactId: number): Promise<string | undefined> {
      const row = await k
        .selectFrom('webhook_endpoints')
        .select('secret')
        .where('contact_id', '=', contactId)
        .executeTakeFirst();
      return row?.secret;
    },
  };
}
