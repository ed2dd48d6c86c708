import type { Selectable } from 'kysely';
import type { Mode, Severity } from '../domain/notice.ts';
import { capIdentifierFor, type Revision, type RevisionInput } from '../domain/revision.ts';
import type { NoticeStatus } from '../domain/statuses.ts';
import type { Db } from './db.ts';
import type { NoticesTable, RevisionsTable } from './schema.ts';
import { fromIso, fromIsoOrNull, toIso } from './time.ts';

export type { RevisionInput };

export interface Notice {
  id: string;
  status: NoticeStatus;
  currentRevision: number;
  severity: Severity;
  mode: Mode;
  title: string;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface DispatchState {
  /** Per channel: the last contact id written and the next batch number. */
  [channel: string]: { after: number; nextBatch: number; done: boolean };
}

export function toRevision(row: Selectable<RevisionsTable>): Revision {
  return {
    noticeId: row.notice_id,
    revision: row.revision,
    kind: row.kind,
    title: row.title,
    body: row.body,
    severity: row.severity,
    category: row.category,
    mode: row.mode,
    topics: JSON.parse(row.topics),
    areas: JSON.parse(row.areas),
    channels: JSON.parse(row.channels),
    link: row.link,
    department: row.department ?? null,
    capIdentifier: row.cap_identifier,
    sentAt: fromIso(row.sent_at),
    expiresAt: fromIsoOrNull(row.expires_at),
    scheduledAt: fromIsoOrNull(row.scheduled_at),
    createdBy: row.created_by,
    createdAt: fromIso(row.created_at),
  };
}

function toNotice(row: Selectable<NoticesTable>): Notice {
  return {
    id: row.id,
    status: row.status,
    currentRevision: row.current_revision,
    severity: row.severity,
    mode: row.mode,
    title: row.title,
    createdBy: row.created_by,
    createdAt: fromIso(row.created_at),
    updatedAt: fromIso(row.updated_at),
  };
}

export type NoticeRepo = ReturnType<typeof createNoticeRepo>;

export function createNoticeRepo(db: Db, cityCode: string) {
  const k = db.kysely;

  const revisionRow = (noticeId: string, revision: number, input: RevisionInput, actor: string, now: Date) => ({
    notice_id: noticeId,
    revision,
    kind: input.kind,
    title: input.title,
    body: input.body,
    severity: input.severity,
    category: input.category,
    mode: input.mode,
    topics: JSON.stringify(input.topics),
    areas: JSON.stringify(input.areas),
    channels: JSON.stringify(input.channels),
    link: input.link,
    department: input.department,
    cap_identifier: capIdentifierFor(cityCode, noticeId, revision),
    // CAP `sent` carries whole seconds only; store what the message will say.
    sent_at: toIso(new Date(Math.floor((input.scheduledAt ?? now).getTime() / 1000) * 1000)),
    expires_at: input.expiresAt ? toIso(input.expiresAt) : null,
    scheduled_at: input.scheduledAt ? toIso(input.scheduledAt) : null,
    created_by: actor,
    created_at: toIso(now),
    dispatch_state: null,
    dispatched_at: null,
  });

  return {
    async create(
      id: string,
      input: RevisionInput,
      actor: string,
      idempotency: { key: string; hash: string } | null,
      now = new Date(),
      /** Given: the notice waits in that status (for approval) instead of going to the queue. */
      initialStatus?: NoticeStatus,
    ): Promise<{ notice: Notice; revision: Revision }> {
      const status: NoticeStatus =
        initialStatus ?? (input.scheduledAt && input.scheduledAt > now ? 'scheduled' : 'queued');
      await k.transaction().execute(async (tx) => {
        await tx
          .insertInto('notices')
          .values({
            id,
            status,
            current_revision: 1,
            severity: input.severity,
            mode: input.mode,
            title: input.title,
            created_by: actor,
            created_at: toIso(now),
            updated_at: toIso(now),
            idempotency_key: idempotency?.key ?? null,
            idempotency_hash: idempotency?.hash ?? null,
          })
          .execute();
        await tx
          .insertInto('revisions')
          .values(revisionRow(id, 1, input, actor, now))
          .execute();
      });
      const created = await this.get(id);
      const revision = await this.getRevision(id, 1);
      if (!created || !revision) throw new Error(`notice ${id} vanished after insert`);
      return { notice: created, revision };
    },

    /** Adds a correction or a cancellation as the next revision. */
    async addRevision(noticeId: string, input: RevisionInput, actor: string, now = new Date()): Promise<Revision> {
      const next = await k.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('notices')
          .select(['current_revision'])
          .where('id', '=', noticeId)
          .executeTakeFirstOrThrow();
        const n = row.current_revision + 1;
        await tx
          .insertInto('revisions')
          .values(revisionRow(noticeId, n, input, actor, now))
          .execute();
        await tx
          .updateTable('notices')
          .set({
            current_revision: n,
            severity: input.severity,
            title: input.title,
            updated_at: toIso(now),
            status: input.kind === 'cancel' ? 'cancelled' : 'queued',
          })
          .where('id', '=', noticeId)
          .execute();
        return n;
      });
      const revision = await this.getRevision(noticeId, next);
      if (!revision) throw new Error(`revision ${next} of ${noticeId} vanished after insert`);
      return revision;
    },

    async get(id: string): Promise<Notice | undefined> {
      const row = await k.selectFrom('notices').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toNotice(row) : undefined;
    },

    /**
     * The notice as residents may see it: never one still waiting for approval or returned,
     * nor one withdrawn before approval. The service withdraws with no revision (so a
     * cancelled notice whose current revision is not a cancellation was never sent); a
     * notice submitted for approval that no approver ever approved was never sent either.
     */
    async getPublished(id: string): Promise<Notice | undefined> {
      const row = await k
        .selectFrom('notices as n')
        .innerJoin('revisions as r', (j) =>
          j.onRef('r.notice_id', '=', 'n.id').onRef('r.revision', '=', 'n.current_revision'),
        )
        .selectAll('n')
        .where('n.id', '=', id)
        .where('n.status', 'not in', ['pending_approval', 'returned'])
        .where((eb) => eb.or([eb('n.status', '!=', 'cancelled'), eb('r.kind', '=', 'cancel')]))
        .where((eb) => {
          const step = (decision: 'submitted' | 'approved') =>
            eb.exists(
              eb
                .selectFrom('notice_approvals as a')
                .select('a.id')
                .whereRef('a.notice_id', '=', 'n.id')
                .where('a.decision', '=', decision),
            );
          return eb.or([eb.not(step('submitted')), step('approved')]);
        })
        .executeTakeFirst();
      return row ? toNotice(row) : undefined;
    },

    /**
     * Rewrites revision 1 of a notice nobody has been sent yet (its content, schedule and CAP
     * sent time) and moves its status, only while it is still in one of `from`: a concurrent
     * approval, return or withdrawal makes this return undefined instead of overwriting it.
     */
    async rewriteUnsent(
      noticeId: string,
      input: RevisionInput,
      move: { from: NoticeStatus[]; to: NoticeStatus },
      now = new Date(),
    ): Promise<{ notice: Notice; revision: Revision } | undefined> {
      const moved = await k.transaction().execute(async (tx) => {
        const result = await tx
          .updateTable('notices')
          .set({
            status: move.to,
            severity: input.severity,
            mode: input.mode,
            title: input.title,
            updated_at: toIso(now),
          })
          .where('id', '=', noticeId)
          .where('current_revision', '=', 1)
          .where('status', 'in', move.from)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        const {
          created_by: _by,
          created_at: _at,
          notice_id: _n,
          revision: _r,
          ...content
        } = revisionRow(noticeId, 1, input, '', now);
        await tx
          .updateTable('revisions')
          .set(content)
          .where('notice_id', '=', noticeId)
          .where('revision', '=', 1)
          .execute();
        return true;
      });
      if (!moved) return undefined;
      const notice = await this.get(noticeId);
      const revision = await this.getRevision(noticeId, 1);
      if (!notice || !revision) throw new Error(`notice ${noticeId} vanished after rewrite`);
      return { notice, revision };
    },

    /** Moves the status only while it is one of `from`; false when something else moved it first. */
    async moveStatus(id: string, from: NoticeStatus[], to: NoticeStatus, now = new Date()): Promise<boolean> {
      const result = await k
        .updateTable('notices')
        .set({ status: to, updated_at: toIso(now) })
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async findByIdempotencyKey(key: string): Promise<{ notice: Notice; hash: string | null } | undefined> {
      const row = await k.selectFrom('notices').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
      return row ? { notice: toNotice(row), hash: row.idempotency_hash } : undefined;
    },

    /** Newest first; the cursor is the last id of the previous page. */
    async list(options: { limit: number; before?: string; status?: NoticeStatus }): Promise<Notice[]> {
      let q = k
        .selectFrom('notices')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(options.limit);
      if (options.status) q = q.where('status', '=', options.status);
      if (options.before) {
        const cursor = await k
          .selectFrom('notices')
          .select(['created_at', 'id'])
          .where('id', '=', options.before)
          .executeTakeFirst();
        if (cursor) {
          q = q.where((eb) =>
            eb.or([
              eb('created_at', '<', cursor.created_at),
              eb.and([eb('created_at', '=', cursor.created_at), eb('id', '<', cursor.id)]),
            ]),
          );
        }
      }
      return (await q.execute()).map(toNotice);
    },

    async getRevision(noticeId: string, revision: number): Promise<Revision | undefined> {
      const row = await k
        .selectFrom('revisions')
        .selectAll()
        .where('notice_id', '=', noticeId)
        .where('revision', '=', revision)
        .executeTakeFirst();
      return row ? toRevision(row) : undefined;
    },

    async revisions(noticeId: string): Promise<Revision[]> {
      const rows = await k
        .selectFrom('revisions')
        .selectAll()
        .where('notice_id', '=', noticeId)
        .orderBy('revision', 'asc')
        .execute();
      return rows.map(toRevision);
    },

    async setStatus(id: string, status: NoticeStatus, now = new Date()): Promise<void> {
      await k
        .updateTable('notices')
        .set({ status, updated_at: toIso(now) })
        .where('id', '=', id)
        .execute();
    },

    async dispatchState(noticeId: string, revision: number): Promise<DispatchState> {
      const row = await k
        .selectFrom('revisions')
        .select(['dispatch_state'])
        .where('notice_id', '=', noticeId)
        .where('revision', '=', revision)
        .executeTakeFirst();
      return row?.dispatch_state ? JSON.parse(row.dispatch_state) : {};
    },

    async saveDispatchState(noticeId: string, revision: number, state: DispatchState, finished = false): Promise<void> {
      await k
        .updateTable('revisions')
        .set({ dispatch_state: JSON.stringify(state), ...(finished ? { dispatched_at: toIso(new Date()) } : {}) })
        .where('notice_id', '=', noticeId)
        .where('revision', '=', revision)
        .execute();
    },
  };
}
