import type { Selectable } from 'kysely';
import {
  type CapArchive,
  type CapArchiveRecord,
  CapIdentifierConflictError,
  type CapMsgType,
} from '../domain/cap-archive.ts';
import type { Db } from './db.ts';
import type { CapMessagesTable } from './schema.ts';
export interface CapMessageRecord extends CapArchiveRecord {
  /** When the message was archived (entered the feed). */
  createdAt: Date;
}

export interface CapMessageRepo extends CapArchive {
  get(identifier: string): Promise<CapMessageRecord | null>;
  /**
   * The feed: the latest message of each notice unless it has expired (a null expiry
   * never expires), newest sent first. A Cancel is a notice's latest message, so it
   * stays until its own expiry and aggregators polling the feed learn of it.
   */
  listActive(now: Date, limit?: number): Promise<CapMessageRecord[]>;
  /** The identifiers listActive would return, without the XML: for cheap ETags. */
  listActiveIdentifiers(now: Date, limit?: number): Promise<string[]>;
  /**
   * When the feed last changed as of `now`: the latest archiving or the latest expiry
   * already passed, whichever is later; null for an empty archive.
   */
  lastModified(now: Date): Promise<Date | null>;
  /**
   * Everything the feed's content depends on as of `now`, for a cache of the feed to know
   * whether it still holds: lastModified, the active identifiers, and the next expiry still
   * ahead (of any message, since any expiry moves lastModified), after which it may differ.
   */
  feedVersion(now: Date, limit?: number): Promise<FeedVersion>;
  /**
   * How many messages this repo object has archived so far. A cache of the feed in the
   * same process (`hibiki all`) drops itself at once when this moves; writes of other
   * processes it still has to find in the store.
   */
  localWrites(): number;
}

export interface FeedVersion {
  lastModified: Date | null;
  identifiers: string[];
  nextExpiry: Date | null;
}

/** Enough for every notice active at once in a city; the feed shows the newest. */
export const FEED_LIMIT = 200;

function toRecord(row: Selectable<CapMessagesTable>): CapMessageRecord {
  return {
    identifier: row.identifier,
    noticeId: row.notice_id,
    revision: row.revision,
    msgType: row.msg_type as CapMsgType,
    sentAt: new Date(row.sent_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    xml: row.xml,
    createdAt: new Date(row.created_at),
  };
}

/**
 * The append-only archive of CAP messages behind the public feed. A message is immutable
 * once stored (its URL is served as immutable), so a second put of one identifier does
 * nothing. Times are ISO-8601 UTC text of one fixed width, so text comparison is time
 * comparison in both SQLite and PostgreSQL.
 */
export function createCapMessageRepo(db: Db, options: { clock?: () => Date } = {}): CapMessageRepo {
  const clock = options.clock ?? (() => new Date());
  const k = db.kysely;
  let writes = 0;

  // The latest revision of each notice that has not expired; NOT EXISTS uses the
  // (notice_id, revision) index.
  const active = (now: Date) =>
    k
      .selectFrom('cap_messages as m')
      .where(({ eb, exists, not, selectFrom }) =>
        not(
          exists(
            selectFrom('cap_messages as later')
              .select('later.identifier')
              .whereRef('later.notice_id', '=', 'm.notice_id')
              .whereRef('later.revision', '>', 'm.revision'),
          ),
        ).and(eb.or([eb('m.expires_at', 'is', null), eb('m.expires_at', '>', now.toISOString())])),
      )
      .orderBy('m.sent_at', 'desc')
      .orderBy('m.identifier', 'desc');

  const activeIdentifiers = async (now: Date, limit = FEED_LIMIT): Promise<string[]> => {
    const rows = await active(now).select('m.identifier').limit(limit).execute();
    return rows.map((r) => r.identifier);
  };

  /** The feed's last change as of `now` (see lastModified) and the first expiry after `now`. */
  async function times(now: Date): Promise<{ lastModified: Date | null; nextExpiry: Date | null }> {
    const iso = now.toISOString();
    const row = await k
      .selectFrom('cap_messages')
      .select((eb) => [
        eb.fn.max('created_at').as('archived'),
        eb.fn.max(eb.case().when('expires_at', '<=', iso).then(eb.ref('expires_at')).else(null).end()).as('expired'),
        eb.fn.min(eb.case().when('expires_at', '>', iso).then(eb.ref('expires_at')).else(null).end()).as('next'),
      ])
      .executeTakeFirst();
    const last = [row?.archived, row?.expired]
      .filter((t): t is string => typeof t === 'string')
      .map((t) => Date.parse(t));
    return {
      lastModified: last.length === 0 ? null : new Date(Math.max(...last)),
      nextExpiry: typeof row?.next === 'string' ? new Date(row.next) : null,
    };
  }

  return {
    async put(record) {
      const inserted = await k
        .insertInto('cap_messages')
        .values({
          identifier: record.identifier,
          notice_id: record.noticeId,
          revision: record.revision,
          msg_type: record.msgType,
          sent_at: record.sentAt.toISOString(),
          expires_at: record.expiresAt === null ? null : record.expiresAt.toISOString(),
          xml: record.xml,
          created_at: clock().toISOString(),
        })
        .onConflict((oc) => oc.column('identifier').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
        writes++;
        return;
      }
      const existing = await k
        .selectFrom('cap_messages')
        .select(['notice_id', 'revision'])
        .where('identifier', '=', record.identifier)
        .executeTakeFirst();
      if (existing && (existing.notice_id !== record.noticeId || existing.revision !== record.revision)) {
        throw new CapIdentifierConflictError(record.identifier, {
          noticeId: existing.notice_id,
          revision: existing.revision,
        });
      }
    },

    async get(identifier) {
      const row = await k
        .selectFrom('cap_messages')
        .selectAll()
        .where('identifier', '=', identifier)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async listActive(now, limit = FEED_LIMIT) {
      const rows = await active(now).selectAll('m').limit(limit).execute();
      return rows.map(toRecord);
    },

    listActiveIdentifiers: activeIdentifiers,

    lastModified: async (now) => (await times(now)).lastModified,

    async feedVersion(now, limit = FEED_LIMIT) {
      const [{ lastModified, nextExpiry }, identifiers] = await Promise.all([
        times(now),
        activeIdentifiers(now, limit),
      ]);
      return { lastModified, identifiers, nextExpiry };
    },

    localWrites: () => writes,
  };
}
