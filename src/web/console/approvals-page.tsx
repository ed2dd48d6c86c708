import { Hono } from 'hono';
import { markedTitle } from '../../domain/marks.ts';
import { asApiError } from '../../http/errors.ts';
import type { Notice } from '../../store/notices.ts';
import { JstTime, SeverityBadge } from '../notice-parts.tsx';
import { ConsoleLayout, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import { renderNoticeDetail } from './notice-detail-view.tsx';
import { TableHead } from './notice-parts.tsx';
import { noticePath, noticeRoutes } from './notice-paths.ts';
import { type ConsoleEnv, formField } from './session.ts';

/**
 * The approver's screens: the queue of notices waiting for approval, oldest first (the one
 * waiting longest comes first), and the approve / return actions posted from a notice's page.
 */

/** Notices read from the service a page at a time; a queue longer than MAX_LISTED is a backlog to report, not list. */
const LIST_BATCH = 100;
const MAX_LISTED = 500;

const COLUMNS = [
  { ja: '重要度', en: 'Severity' },
  { ja: '件名', en: 'Title' },
  { ja: '申請者', en: 'Submitted by' },
  { ja: '申請日時', en: 'Submitted' },
  { ja: '承認', en: 'Approvals' },
];

export const createApprovalsPage: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();
  const onNotice = noticeRoutes(app, ctx.guard('approver'));

  app.get('/console/approvals', ctx.guard('approver'), async (c) => {
    const session = c.get('session');
    const staff = c.get('staff');
    const pending: Notice[] = [];
    let cursor: string | undefined;
    let more = false;
    for (;;) {
      const page = await ctx.notices.list({
        limit: LIST_BATCH,
        status: 'pending_approval',
        ...(cursor ? { cursor } : {}),
      });
      pending.push(...page.items);
      if (!page.nextCursor) break;
      if (pending.length >= MAX_LISTED) {
        more = true;
        break;
      }
      cursor = page.nextCursor;
    }
    // The service lists newest first; the queue is worked oldest first.
    pending.reverse();
    // Corrections and cancellations of sent emergencies wait in the same queue.
    const proposals = await ctx.notices.proposals(MAX_LISTED);
    if (proposals.length >= MAX_LISTED) more = true;
    // One at a time: a long queue must not take every database connection at once.
    const rows = [];
    for (const notice of [...pending, ...proposals.map((p) => p.notice)]) {
      const detail = await ctx.notices.get(notice.id);
      const shown = detail.proposal
        ? { ...detail.proposal.input, mode: notice.mode }
        : detail.revisions.find((r) => r.revision === notice.currentRevision);
      rows.push({
        notice,
        current: shown,
        submitted: detail.approval.approvals.findLast((s) => s.decision === 'submitted'),
        approval: detail.approval,
        check: await ctx.notices.checkApproval(notice.id, staff),
      });
    }
    rows.sort((a, b) => (a.submitted?.at.getTime() ?? 0) - (b.submitted?.at.getTime() ?? 0));

    return sendConsolePage(
      c,
      <ConsoleLayout title="承認待ち" session={session} section="approvals">
        <h1>
          承認待ちの通知 <En>/ Waiting for approval</En>
        </h1>
        <p>
          古いものから順に並んでいます。件名を開いて内容を確かめ、承認するか差し戻してください。{' '}
          <En>Oldest first. Open a notice to check it, then approve or return it.</En>
        </p>
        {more ? (
          <p class="flash warn" role="status">
            承認待ちが {MAX_LISTED} 件を超えています。新しいものは表示されていません。{' '}
            <En>More than {MAX_LISTED} notices are waiting; the newest are not shown.</En>
          </p>
        ) : null}
        {rows.length === 0 ? (
          <div class="flash" role="status">
            <p>
              承認待ちの通知はありません。 <En>Nothing is waiting for approval.</En>
            </p>
          </div>
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">
                承認待ちの通知（古い順） / Notices waiting for approval, oldest first
              </caption>
              <TableHead columns={COLUMNS} />
              <tbody>
                {rows.map((r) => (
                  <tr>
                    <td>
                      <SeverityBadge severity={r.notice.severity} english="En" />
                    </td>
                    <td>
                      <a href={noticePath(r.notice.id)}>{r.current ? markedTitle(r.current, 'ja') : r.notice.title}</a>
                      {r.check.ok ? null : (
                        <p class="hint">
                          {r.check.message.ja} <En>{r.check.message.en}</En>
                        </p>
                      )}
                    </td>
                    <td>{r.submitted?.actor ?? r.notice.createdBy}</td>
                    <td>
                      <JstTime at={r.submitted?.at ?? r.notice.createdAt} />
                    </td>
                    <td>
                      {r.approval.received} / {r.approval.required}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </ConsoleLayout>,
    );
  });

  onNotice('post', '/approve', async (c, id) => {
    const comment = await formField(c, 'comment');
    const result = await ctx.notices.approve(id, comment, c.get('staff'));
    if (result.released) return c.redirect(`${noticePath(id)}?done=approved`, 303);
    const more = Math.max(0, result.approval.required - result.approval.received);
    return c.redirect(`${noticePath(id)}?done=approved_waiting&more=${more}`, 303);
  });

  onNotice('post', '/return', async (c, id) => {
    const comment = (await formField(c, 'comment')) ?? '';
    try {
      await ctx.notices.returnForChanges(id, comment, c.get('staff'));
    } catch (err) {
      // A missing comment is the form's to show beside the field, not an error page.
      const reasons = asApiError(err)?.fields?.comment;
      if (!reasons) throw err;
      // No longer waiting: the page would have no form to show the error beside, so say that instead.
      const { status, proposal } = await ctx.notices.get(id);
      if (status !== 'pending_approval' && !proposal) throw err;
      return renderNoticeDetail(c, ctx, id, {
        status: 400,
        approvalForm: { errors: { 'return-comment': reasons }, returnComment: comment },
      });
    }
    return c.redirect(`${noticePath(id)}?done=returned`, 303);
  });

  return app;
};
