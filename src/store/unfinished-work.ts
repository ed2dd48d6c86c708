import type { ChannelId, Severity } from '../domain/notice.ts';
import type { Db } from './db.ts';
import { fromIsoOrNull, toIso } from './time.ts';

/** A notice's current revision that was let go to the queue but whose dispatch has not finished. */
export interface UndispatchedRevision {
  noticeId: string;
  revision: number;
  severity: Severity;
  scheduledAt: Date | null;
}

/** A batch of a dispatched revision that still has queued rows nobody has touched for a while. */
export interface IdleBatch {
  noticeId: string;
  revision: number;
  channel: ChannelId;
  batch: number;
  severity: Severity;
}

export type UnfinishedWorkRepo = ReturnType<typeof createUnfinishedWorkRepo>;

/**
 * What the store says is still to do, for finding the jobs Redis has lost (a power cut
 * loses the last second of an AOF fsynced every second): the store is the record, a job
 * only the reminder to act on it.
 */
export function createUnfinishedWorkRepo(db: Db) {
  const k = db.kysely;
  return {
    /**
     * Current revisions released to the queue (queued or scheduled) and not yet dispatched,
     * last changed before `before`; and cancellations of notices some earlier revision of
     * which was sent to someone (a cancellation of a notice nobody saw is never sent).
     */
    async undispatched(before: Date): Promise<UndispatchedRevision[]> {
      const rows = await k
        .selectFrom('notices as n')
        .innerJoin('revisions as r', (j) =>
          j.onRef('r.notice_id', '=', 'n.id').onRef('r.revision', '=', 'n.current_revision'),
        )
        .select(['n.id', 'r.revision', 'r.severity', 'r.scheduled_at'])
        .where('r.dispatched_at', 'is', null)
        .where('n.updated_at', '<', toIso(before))
        .where((eb) =>
          eb.or([
            eb('n.status', 'in', ['queued', 'scheduled']),
            eb.and([
              eb('n.status', '=', 'cancelled'),
              eb('r.kind', '=', 'cancel'),
              eb.exists(
                eb
                  .selectFrom('deliveries as d')
                  .select('d.id')
                  .whereRef('d.notice_id', '=', 'n.id')
                  .whereRef('d.revision', '<', 'r.revision'),
              ),
            ]),
          ]),
        )
        .execute();
      return rows.map((r) => ({
        noticeId: r.id,
        revision: r.revision,
        severity: r.severity,
        scheduledAt: fromIsoOrNull(r.scheduled_at),
      }));
    },

    /**
     * Batches with rows still queued and none of them updated since `before`, of revisions
     * dispatched since `since` (a revision still dispatching adds its own jobs; older ones
     * are not searched, so that a sweep stays cheap on a store of years of deliveries).
     */
    async idleBatches(since: Date, before: Date): Promise<IdleBatch[]> {
      const revisions = await k
        .selectFrom('revisions')
        .select(['notice_id', 'revision', 'severity'])
        .where('dispatched_at', 'is not', null)
        .where('dispatched_at', '>=', toIso(since))
        .execute();
      const out: IdleBatch[] = [];
      for (const r of revisions) {
        const batches = await k
          .selectFrom('deliveries')
          .select(['channel', 'batch', (eb) => eb.fn.max('updated_at').as('last')])
          .where('notice_id', '=', r.notice_id)
          .where('revision', '=', r.revision)
          .where('status', '=', 'queued')
          .groupBy(['channel', 'batch'])
          .execute();
        for (const b of batches) {
          if (b.last !== null && b.last >= toIso(before)) continue;
          out.push({
            noticeId: r.notice_id,
            revision: r.revision,
            channel: b.channel,
            batch: b.batch,
            severity: r.severity,
          });
        }
      }
      return out;
    },
  };
}
