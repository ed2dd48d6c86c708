import type { ExpressionBuilder } from 'kysely';
import { publicRevisions, UNAPPROVED_STATUSES } from '../domain/public-revisions.ts';
import type { Revision } from '../domain/revision.ts';
import type { ApprovalDecision } from '../domain/statuses.ts';
import { toRevision } from './notices.ts';
import type { Database } from './schema.ts';
import type { Store } from './store.ts';
import { fromIso } from './time.ts';
/**
 * What the residents' public pages and the notices feed read: only what residents may see
 * (approved, due, not withdrawn before its time). Times are ISO-8601 UTC text of one width
 * in both stores, so text comparison is time comparison.
 */

/** How long an ended notice stays in "recently ended" and its revisions in the feed. */
export const RECENT_DAYS = 7;
const RECENT_MS = RECENT_DAYS * 24 * 60 * 60 * 1000;

export interface ActiveNotice {
  /** The current revision. */
  current: Revision;
  /** When revision 1 was issued. */
  firstSentAt: Date;
}

export interface EndedNotice {
  /** The cancellation, or the revision that expired. */
  current: Revision;
  how: 'cancelled' | 'expired';
  endedAt: Date;
}

type Eb = ExpressionBuilder<Database & { n: Database['notices']; r: Database['revisions'] }, 'n' | 'r'>;

/**
 * Approved: not waiting for or sent back by an approver, and not a notice submitted for
 * approval that no approver ever approved (one cancelled while it waited was never sent).
 */
const approved = (eb: Eb) => {
  const hasStep = (decision: ApprovalDecision) =>
    eb.exists(
      eb
        .selectFrom('notice_approvals as a')
        .select('a.id')
        .whereRef('a.notice_id', '=', 'n.id')
        .where('a.decision', '=', decision),
    );
  return eb.and([
    eb('n.status', 'not in', [...UNAPPROVED_STATUSES]),
    eb.or([eb.not(hasStep('submitted')), hasStep('approved')]),
  ]);
};

const due = (eb: Eb, nowIso: string) => eb.or([eb('r.scheduled_at', 'is', null), eb('r.scheduled_at', '<=', nowIso)]);

/** Released to residents (approved and due) and not cancelled: in force unless it has expired. */
const releasedNotCancelled = (eb: Eb, nowIso: string) => [
  approved(eb),
  eb('n.status', '<>', 'cancelled'),
  eb('r.kind', '<>', 'cancel'),
  due(eb, nowIso),
];

/** Most severe first; the word order of SEVERITIES is not the column's text order. */
const severityRank = (eb: Eb) =>
  eb.case('r.severity').when('emergency').then(3).when('warning').then(2).when('advisory').then(1).else(0).end();

export type PublicNoticeQuery = ReturnType<typeof createPublicNoticeQuery>;

export function createPublicNoticeQuery(store: Pick<Store, 'db' | 'notices'>) {
  const k = store.db.kysely;

  /** Each notice with its current revision. */
  const current = () =>
    k
      .selectFrom('notices as n')
      .innerJoin('revisions as r', (join) =>
        join.onRef('r.notice_id', '=', 'n.id').onRef('r.revision', '=', 'n.current_revision'),
      );

  /** A cancellation is news only when something it withdraws reached residents before it. */
  const withdrawsSomethingSent = (eb: Eb) =>
    eb.exists(
      eb
        .selectFrom('revisions as p')
        .select('p.revision')
        .whereRef('p.notice_id', '=', 'r.notice_id')
        .where('p.kind', '<>', 'cancel')
        .where((w) => w.or([w('p.scheduled_at', 'is', null), w('p.scheduled_at', '<=', w.ref('r.created_at'))])),
    );

  return {
    /** Notices in force now, most severe first, then the most recently issued or corrected. */
    async active(now: Date, limit: number): Promise<ActiveNotice[]> {
      const nowIso = now.toISOString();
      const rows = await current()
        .innerJoin('revisions as f', (join) => join.onRef('f.notice_id', '=', 'n.id').on('f.revision', '=', 1))
        .selectAll('r')
        .select('f.sent_at as first_sent_at')
        .where((eb) =>
          eb.and([
            ...releasedNotCancelled(eb, nowIso),
            eb.or([eb('r.expires_at', 'is', null), eb('r.expires_at', '>', nowIso)]),
          ]),
        )
        .orderBy(severityRank, 'desc')
        .orderBy('r.sent_at', 'desc')
        .orderBy('n.id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ current: toRevision(row), firstSentAt: fromIso(row.first_sent_at) }));
    },

    /** Notices cancelled or expired within RECENT_DAYS, the latest ended first. */
    async recentlyEnded(now: Date, limit: number): Promise<EndedNotice[]> {
      const nowIso = now.toISOString();
      const sinceIso = new Date(now.getTime() - RECENT_MS).toISOString();
      const [cancelled, expired] = await Promise.all([
        current()
          .selectAll('r')
          .where((eb) =>
            eb.and([
              approved(eb),
              eb('r.kind', '=', 'cancel'),
              eb('r.sent_at', '>=', sinceIso),
              eb('r.sent_at', '<=', nowIso),
              withdrawsSomethingSent(eb),
            ]),
          )
          .orderBy('r.sent_at', 'desc')
          .limit(limit)
          .execute(),
        current()
          .selectAll('r')
          .where((eb) =>
            eb.and([
              ...releasedNotCancelled(eb, nowIso),
              eb('r.expires_at', '>', sinceIso),
              eb('r.expires_at', '<=', nowIso),
            ]),
          )
          .orderBy('r.expires_at', 'desc')
          .limit(limit)
          .execute(),
      ]);
      const ended: EndedNotice[] = [
        ...cancelled.map((row) => {
          const revision = toRevision(row);
          return { current: revision, how: 'cancelled' as const, endedAt: revision.sentAt };
        }),
        ...expired.map((row) => {
          const revision = toRevision(row);
          return { current: revision, how: 'expired' as const, endedAt: revision.expiresAt ?? revision.sentAt };
        }),
      ];
      return ended.sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime()).slice(0, limit);
    },

    /** Public revisions issued within RECENT_DAYS of the given notices, for the feed. */
    async recentRevisions(noticeIds: string[], now: Date): Promise<Revision[]> {
      if (noticeIds.length === 0) return [];
      const rows = await k
        .selectFrom('revisions as r')
        .selectAll('r')
        .where('r.notice_id', 'in', noticeIds)
        .where('r.sent_at', '>=', new Date(now.getTime() - RECENT_MS).toISOString())
        .where('r.sent_at', '<=', now.toISOString())
        .where((eb) => eb.or([eb('r.scheduled_at', 'is', null), eb('r.scheduled_at', '<=', now.toISOString())]))
        .execute();
      return rows.map(toRevision);
    },

    /**
     * The latest instant, up to `now`, at which anything public may have changed: a notice
     * written or approved, a scheduled revision falling due, a notice expiring, a revision
     * leaving the RECENT_DAYS window. Never earlier than the truth, so a 304 is never stale.
     */
    async lastChange(now: Date): Promise<Date | null> {
      const nowIso = now.toISOString();
      const windowIso = new Date(now.getTime() - RECENT_MS).toISOString();
      const [revisions, notices] = await Promise.all([
        k
          .selectFrom('revisions')
          .select((eb) => [
            eb.fn
              .max(eb.case().when('scheduled_at', '<=', nowIso).then(eb.ref('scheduled_at')).else(null).end())
              .as('due'),
            eb.fn
              .max(eb.case().when('expires_at', '<=', nowIso).then(eb.ref('expires_at')).else(null).end())
              .as('expired'),
            eb.fn.max(eb.case().when('sent_at', '<=', windowIso).then(eb.ref('sent_at')).else(null).end()).as('aged'),
          ])
          .executeTakeFirst(),
        k
          .selectFrom('notices')
          .select((eb) =>
            eb.fn
              .max(eb.case().when('updated_at', '<=', nowIso).then(eb.ref('updated_at')).else(null).end())
              .as('updated'),
          )
          .executeTakeFirst(),
      ]);
      const times = [revisions?.due, revisions?.expired, notices?.updated]
        .filter((t): t is string => typeof t === 'string')
        .map((t) => Date.parse(t));
      if (typeof revisions?.aged === 'string') times.push(Date.parse(revisions.aged) + RECENT_MS);
      return times.length === 0 ? null : new Date(Math.max(...times));
    },

    /** A notice's public revisions, oldest first; undefined for an unknown or unapproved notice. */
    async noticeRevisions(id: string, now: Date): Promise<Revision[] | undefined> {
      // Never one waiting for or returned by an approver, nor one withdrawn before it was sent.
      if (!(await store.notices.getPublished(id))) return undefined;
      const revisions = publicRevisions(await store.notices.revisions(id), now);
      return revisions.length === 0 ? undefined : revisions;
    },
  };
}
