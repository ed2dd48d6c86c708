import type { ChannelId } from '../../domain/notice.ts';
import { deriveStatus, emptyCounts, type StatusCounts } from '../../domain/notice-status.ts';
import type { DeliveryStatus, NoticeStatus } from '../../domain/statuses.ts';
import type { Notice } from '../../store/notices.ts';
import type { ProposedRevision } from '../../store/proposed-revisions.ts';
import type { NoticeContext } from './context.ts';
import type { DeliveryPage, NoticeDetail, NoticePage, RevisionDetail } from './types.ts';

/** Delivery errors come from providers and may quote the recipient; the API never shows addresses. */
export function redactAddresses(text: string | null): string | null {
  return text === null ? null : text.replace(/[^\s<>()"',;:@]+@[^\s<>()"',;:@]+\.[^\s<>()"',;:@]+/g, '[address]');
}

/** What staff read of notices: one in detail, pages of them, their deliveries and proposals. */
export function createQueries(ctx: NoticeContext) {
  const { store, requireNotice } = ctx;
  return {
    /** The notice, its revisions with delivery counts per channel, and its status as staff see it. */
    async get(noticeId: string): Promise<NoticeDetail> {
      const { notice, current } = await requireNotice(noticeId);
      const revisions = await store.notices.revisions(noticeId);
      const counts = await store.deliveries.counts(noticeId);
      const details: RevisionDetail[] = revisions.map((r) => {
        const perChannel: Partial<Record<ChannelId, StatusCounts>> = {};
        for (const ch of r.channels) perChannel[ch] = emptyCounts();
        for (const c of counts.filter((x) => x.revision === r.revision)) {
          const entry = perChannel[c.channel] ?? emptyCounts();
          entry[c.status] += c.count;
          perChannel[c.channel] = entry;
        }
        return { ...r, counts: perChannel };
      });
      const currentCounts = details.find((d) => d.revision === current.revision)?.counts ?? {};
      const total = emptyCounts();
      for (const c of Object.values(currentCounts)) {
        for (const s of ['queued', 'sent', 'failed', 'skipped'] as const) total[s] += c[s];
      }
      const steps = await store.approvals.list(noticeId);
      const proposal = (await store.proposedRevisions.get(noticeId)) ?? null;
      return {
        notice,
        status: deriveStatus(notice, current, total, new Date()),
        revisions: details,
        approval: ctx.approvalState(notice, steps, proposal),
        proposal,
      };
    },

    /** Corrections and cancellations waiting for approval, oldest first, with their notices. */
    async proposals(limit: number): Promise<Array<{ notice: Notice; proposal: ProposedRevision }>> {
      const found = [];
      for (const proposal of await store.proposedRevisions.list(limit)) {
        const notice = await store.notices.get(proposal.noticeId);
        if (notice) found.push({ notice, proposal });
      }
      return found;
    },

    /** Newest first; the cursor is the last id of the previous page. */
    async list(options: { limit: number; cursor?: string; status?: NoticeStatus }): Promise<NoticePage> {
      const rows = await store.notices.list({
        limit: options.limit + 1,
        ...(options.cursor ? { before: options.cursor } : {}),
        ...(options.status ? { status: options.status } : {}),
      });
      const items = rows.slice(0, options.limit);
      return { items, nextCursor: rows.length > options.limit ? (items.at(-1)?.id ?? null) : null };
    },

    /** A page of delivery rows; never an address, not even inside a provider's error text. */
    async deliveries(
      noticeId: string,
      filter: { channel?: ChannelId; status?: DeliveryStatus; revision?: number; cursor?: number; limit: number },
    ): Promise<DeliveryPage> {
      await requireNotice(noticeId);
      const rows = await store.deliveries.list(noticeId, {
        limit: filter.limit + 1,
        ...(filter.channel ? { channel: filter.channel } : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.revision ? { revision: filter.revision } : {}),
        ...(filter.cursor ? { after: filter.cursor } : {}),
      });
      const items = rows.slice(0, filter.limit).map((r) => ({ ...r, lastError: redactAddresses(r.lastError) }));
      return { items, nextCursor: rows.length > filter.limit ? (items.at(-1)?.id ?? null) : null };
    },
  };
}
