import type { Revision } from './revision.ts';

import type { NoticeStatus } from './statuses.ts';
/** A notice in these states has not been approved: nobody outside city hall may read it yet. */
export const UNAPPROVED_STATUSES = ['pending_approval', 'returned'] as const satisfies readonly NoticeStatus[];

/** A scheduled revision is not public before its time: residents must not read it first on the web. */
export const isDue = (revision: Revision, now: Date): boolean =>
  revision.scheduledAt === null || revision.scheduledAt <= now;

/**
 * The revisions residents may read now, oldest first; empty when none ever reached them.
 * A scheduled revision withdrawn before its time was never sent (its cancellation is
 * silent), so it stays hidden even after that time passes, and a cancellation of nothing
 * residents saw is no news either.
 */
export function publicRevisions(revisions: Revision[], now: Date): Revision[] {
  const cancel = revisions.find((r) => r.kind === 'cancel');
  const shown = revisions.filter(
    (r) =>
      isDue(r, now) &&
      (cancel === undefined || r === cancel || r.scheduledAt === null || r.scheduledAt <= cancel.createdAt),
  );
  return shown.some((r) => r.kind !== 'cancel') ? shown : [];
}
