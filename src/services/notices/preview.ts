import type { Locale } from '../../domain/notice.ts';
import { toNoticeView } from '../../domain/notice-view.ts';
import { capIdentifierFor, type Revision, type RevisionInput } from '../../domain/revision.ts';
import {
  type CorrectionInput,
  checkReferences,
  correctionRevision,
  firstRevision,
  type NoticeInput,
} from '../../domain/revision-input.ts';
import type { NoticeContext } from './context.ts';
import type { PreviewRender, PreviewResult } from './types.ts';

/** Renders notices as each channel would send them; stores and sends nothing. */
export function createPreviews(ctx: NoticeContext) {
  const { deps, config, channels, store, known } = ctx;

  /** A revision as the store would record it, for a preview. */
  function unsaved(noticeId: string, number: number, input: RevisionInput, now: Date): Revision {
    return {
      ...input,
      noticeId,
      revision: number,
      capIdentifier: capIdentifierFor(config.city.code, noticeId, number),
      // As the store will record it: CAP's sent carries whole seconds.
      sentAt: new Date(Math.floor((input.scheduledAt ?? now).getTime() / 1000) * 1000),
      createdBy: 'preview',
      createdAt: now,
    };
  }

  /** Every channel's own render of a revision, in each language its audience reads. */
  function renderPreview(revision: Revision, earlier: Revision[]): PreviewResult {
    const view = toNoticeView(revision, earlier, deps.links, config.city, deps.areas);
    const renders: PreviewRender[] = [];
    for (const channelId of revision.channels) {
      const channel = channels.require(channelId);
      // Subscribers read their own language; a public channel posts once, in Japanese.
      const locales: Locale[] = channel.audience === 'subscribers' ? ['ja', 'en'] : ['ja'];
      for (const locale of locales) {
        try {
          renders.push({ channel: channelId, locale, rendered: channel.render(view, locale) });
        } catch (err) {
          renders.push({ channel: channelId, locale, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return { view, renders };
  }

  return {
    /** Renders an unsaved notice on every enabled channel; stores and sends nothing. */
    preview(input: NoticeInput): PreviewResult {
      checkReferences(input, known);
      const now = new Date();
      return renderPreview(unsaved('n-preview', 1, firstRevision(input, known.channels, now), now), []);
    },

    /**
     * Renders a correction as it would go out (the next revision, marked 【訂正】 and
     * referring to the earlier ones) without storing or sending anything.
     */
    async previewCorrection(noticeId: string, changes: CorrectionInput): Promise<PreviewResult> {
      checkReferences(changes, known);
      const { notice, current } = await ctx.requireNotice(noticeId);
      const earlier = await store.notices.revisions(noticeId);
      const next = correctionRevision(current, changes);
      return renderPreview(unsaved(notice.id, current.revision + 1, next, new Date()), earlier);
    },
  };
}
