import type { Selectable } from 'kysely';
import type { StaffIdentity } from '../domain/staff.ts';
import type { Db } from './db.ts';
import type { RevisionInput } from './notices.ts';
import type { ProposedRevisionsTable } from './schema.ts';
import { fromIso, fromIsoOrNull, toIso } from './time.ts';
/**
 * A correction or cancellation of a notice that went out, held until approvers let it go.
 * It is kept apart from the revisions table on purpose: every row there was sent (or is
 * being sent), so feeds, pages and CAP never see a revision nobody approved.
 */
export interface ProposedRevision {
  noticeId: string;
  /** The revision it will become (the notice's current revision + 1 when proposed). */
  revision: number;
  input: RevisionInput;
  proposedBy: string;
  proposedByTokenId: number;
  proposedAt: Date;
}

/** The revision content as JSON text, its times as ISO strings. */
function serialise(input: RevisionInput): string {
  return JSON.stringify({
    ...input,
    expiresAt: input.expiresAt ? toIso(input.expiresAt) : null,
    scheduledAt: input.scheduledAt ? toIso(input.scheduledAt) : null,
  });
}

function deserialise(text: string): RevisionInput {
  const raw = JSON.parse(text) as RevisionInput & { expiresAt: string | null; scheduledAt: string | null };
  return { ...raw, expiresAt: fromIsoOrNull(raw.expiresAt), scheduledAt: fromIsoOrNull(raw.scheduledAt) };
}

function toProposal(row: Selectable<ProposedRevisionsTable>): ProposedRevision {
  return {
    noticeId: row.notice_id,
    revision: row.revision,
    input: deserialise(row.content),
    proposedBy: row.proposed_by,
    proposedByTokenId: Number(row.proposed_token_id),
    proposedAt: fromIso(row.proposed_at),
  };
}

export type ProposedRevisionRepo = ReturnType<typeof createProposedRevisionRepo>;

/** At most one proposal per notice: a later one from its proposer or an approver replaces it. */
export function createProposedRevisionRepo(db: Db) {
  const k = db.kysely;
  return {
    async put(
      noticeId: string,
      revision: number,
      input: RevisionInput,
      actor: Pick<StaffIdentity, 'name' | 'tokenId'>,
      now = new Date(),
    ): Promise<ProposedRevision> {
      const row = {
        notice_id: noticeId,
        revision,
        content: serialise(input),
        proposed_by: actor.name,
        proposed_token_id: actor.tokenId,
        proposed_at: toIso(now),
      };
      await k.transaction().execute(async (tx) => {
        await tx.deleteFrom('proposed_revisions').where('notice_id', '=', noticeId).execute();
        await tx.insertInto('proposed_revisions').values(row).execute();
      });
      return toProposal(row);
    },

    async get(noticeId: string): Promise<ProposedRevision | undefined> {
      const row = await k
        .selectFrom('proposed_revisions')
        .selectAll()
        .where('notice_id', '=', noticeId)
        .executeTakeFirst();
      return row ? toProposal(row) : undefined;
    },

    /**
     * Takes the proposal away; true only for the one caller that did, so two approvals
     * arriving together release it once.
     */
    async take(noticeId: string, revision: number): Promise<boolean> {
      const result = await k
        .deleteFrom('proposed_revisions')
        .where('notice_id', '=', noticeId)
        .where('revision', '=', revision)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Oldest first: the approver's queue is worked in the order things were asked. */
    async list(limit: number): Promise<ProposedRevision[]> {
      const rows = await k
        .selectFrom('proposed_revisions')
        .selectAll()
        .orderBy('proposed_at', 'asc')
        .orderBy('notice_id', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toProposal);
    },
  };
}
