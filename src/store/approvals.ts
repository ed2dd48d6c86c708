import type { Selectable } from 'kysely';
import type { StaffIdentity } from '../domain/staff.ts';
import type { ApprovalDecision } from '../domain/statuses.ts';
import type { Db } from './db.ts';
import type { NoticeApprovalsTable } from './schema.ts';
import { fromIso, toIso } from './time.ts';
/** One step of a notice's approval: a submission, an approval, or a return for changes. */
export interface ApprovalStep {
  id: number;
  noticeId: string;
  decision: ApprovalDecision;
  /** The staff token's name, as in the audit log. */
  actor: string;
  actorTokenId: number;
  comment: string | null;
  at: Date;
}

function toStep(row: Selectable<NoticeApprovalsTable>): ApprovalStep {
  return {
    // PostgreSQL returns bigint columns as strings.
    id: Number(row.id),
    noticeId: row.notice_id,
    decision: row.decision,
    actor: row.actor,
    actorTokenId: Number(row.actor_token_id),
    comment: row.comment,
    at: fromIso(row.at),
  };
}

export type ApprovalRepo = ReturnType<typeof createApprovalRepo>;

/** The approval history of notices, append-only: the rules that read it live in the notice service. */
export function createApprovalRepo(db: Db) {
  const k = db.kysely;
  return {
    async record(
      noticeId: string,
      decision: ApprovalDecision,
      actor: Pick<StaffIdentity, 'name' | 'tokenId'>,
      comment: string | null = null,
      now = new Date(),
    ): Promise<ApprovalStep> {
      const row = await k
        .insertInto('notice_approvals')
        .values({
          notice_id: noticeId,
          decision,
          actor: actor.name,
          actor_token_id: actor.tokenId,
          comment,
          at: toIso(now),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toStep(row);
    },

    /** Every step of one notice, oldest first. */
    async list(noticeId: string): Promise<ApprovalStep[]> {
      const rows = await k
        .selectFrom('notice_approvals')
        .selectAll()
        .where('notice_id', '=', noticeId)
        .orderBy('id', 'asc')
        .execute();
      return rows.map(toStep);
    },
  };
}
