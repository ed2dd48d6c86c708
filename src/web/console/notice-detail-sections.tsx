import { KIND_WORD } from '../../domain/labels.ts';
import type { NoticeDetail } from '../../services/notices/index.ts';
import { JstTime } from '../notice-parts.tsx';
import { En } from './console-layout.tsx';
import { Words } from './notice-parts.tsx';
import type { NoticeProgress } from './notice-progress.ts';

/** The notice page's lower sections: live per-channel progress and the revision history. */

export const ProgressSection = ({ progress, base }: { progress: NoticeProgress; base: string }) => (
  <section aria-labelledby="progress-title" id="progress" data-progress-url={`${base}/events`}>
    <h2 id="progress-title">
      配信状況 <En>Delivery progress</En>
    </h2>
    <p>
      <a href={`${base}#progress`}>最新の状態に更新 / Reload</a>
      {progress.live ? (
        <span class="hint"> （スクリプトが使えるときは自動で更新されます / updates live where scripts run）</span>
      ) : null}
    </p>
    <p class="visually-hidden" id="progress-live" aria-live="polite" />
    {progress.channels.map((ch) => (
      <div class="channel-progress" data-channel={ch.channel}>
        <h3 id={`progress-${ch.channel}`}>
          {ch.name.ja} <En>{ch.name.en}</En>
        </h3>
        <progress
          max={Math.max(ch.total, 1)}
          value={ch.done}
          aria-labelledby={`progress-${ch.channel}`}
          aria-describedby={`progress-${ch.channel}-counts`}
        >
          {ch.done} / {ch.total}
        </progress>
        <p id={`progress-${ch.channel}-counts`} data-field="counts">
          <Words text={ch.counts} />
        </p>
        <p class="hint" data-field="timing">
          <Words text={ch.timing} />
        </p>
      </div>
    ))}
  </section>
);

/** unsent: what to say instead of an issue time for a notice never released (set when approved). */
export const RevisionHistory = ({ detail, unsent }: { detail: NoticeDetail; unsent: string | undefined }) => (
  <section aria-labelledby="revisions-title">
    <h2 id="revisions-title">
      版の履歴 <En>Revisions</En>
    </h2>
    <div class="table-wrap">
      <table aria-labelledby="revisions-title">
        <thead>
          <tr>
            <th scope="col">版</th>
            <th scope="col">種別</th>
            <th scope="col">件名</th>
            <th scope="col">発表日時</th>
            <th scope="col">作成者</th>
            <th scope="col">配信（送信済み / 失敗 / 合計）</th>
          </tr>
        </thead>
        <tbody>
          {detail.revisions.map((r) => {
            const all = Object.values(r.counts).reduce(
              (sum, c) => ({
                sent: sum.sent + c.sent,
                failed: sum.failed + c.failed,
                total: sum.total + c.sent + c.failed + c.queued + c.skipped,
              }),
              { sent: 0, failed: 0, total: 0 },
            );
            return (
              <tr>
                <td>第{r.revision}版</td>
                <td>{KIND_WORD[r.kind].ja}</td>
                <td>{r.title}</td>
                <td>{unsent ? <span class="muted">{unsent}</span> : <JstTime at={r.sentAt} />}</td>
                <td>{r.createdBy}</td>
                <td data-field={r.revision === detail.notice.currentRevision ? 'revision-totals' : undefined}>
                  {all.sent} / {all.failed} / {all.total}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  </section>
);
