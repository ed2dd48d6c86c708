import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual } from '../../domain/bilingual.ts';
import { STATUS_WORD } from '../../domain/labels.ts';
import type { ChannelId } from '../../domain/notice.ts';
import type { DerivedStatus, NoticeDetail, NoticeService, RevisionDetail } from '../../services/notices/index.ts';
import type { ChannelTiming, DeliveryRepo } from '../../store/deliveries.ts';
/**
 * A notice's delivery progress per channel of its current revision, worded once here for
 * both the detail page and its live updates (progress.js only copies these texts in).
 */

export interface ChannelProgress {
  channel: ChannelId;
  name: Bilingual;
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  total: number;
  /** sent + failed + skipped: rows nobody will send again unless retried. */
  done: number;
  /** 送信済み 120 / 失敗 3 / 待機 77 / 合計 200 */
  counts: Bilingual;
  /** From the revision's issue time to its first and last delivery on this channel. */
  timing: Bilingual;
}

export interface NoticeProgress {
  noticeId: string;
  revision: number;
  status: DerivedStatus;
  statusWord: Bilingual;
  /** Still moving: worth watching (queued or sending). */
  live: boolean;
  channels: ChannelProgress[];
  /** All channels in one sentence, for the live region. */
  summary: Bilingual;
}

/** States in which counts can still change without anyone acting. */
const LIVE: DerivedStatus[] = ['queued', 'sending'];

export function currentRevisionOf(detail: NoticeDetail): RevisionDetail {
  const current = detail.revisions.find((r) => r.revision === detail.notice.currentRevision) ?? detail.revisions.at(-1);
  if (!current) throw new Error(`notice ${detail.notice.id} has no revisions`);
  return current;
}

function countsText(c: { sent: number; failed: number; queued: number; skipped: number; total: number }): Bilingual {
  const ja = [`送信済み ${c.sent}`, `失敗 ${c.failed}`, `待機 ${c.queued}`];
  const en = [`sent ${c.sent}`, `failed ${c.failed}`, `waiting ${c.queued}`];
  if (c.skipped > 0) {
    ja.push(`見送り ${c.skipped}`);
    en.push(`skipped ${c.skipped}`);
  }
  ja.push(`合計 ${c.total}`);
  en.push(`total ${c.total}`);
  return { ja: ja.join(' / '), en: en.join(' / ') };
}

/** 12秒 / 3分4秒 / 1時間2分: how long residents waited, in words a screen reader reads well. */
export function formatDuration(ms: number): Bilingual {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return { ja: `${h}時間${m}分`, en: `${h} h ${m} min` };
  if (m > 0) return { ja: `${m}分${s}秒`, en: `${m} min ${s} s` };
  // Not 0秒: the delivery did take time, only less than the unit shown.
  if (total === 0) return { ja: '1秒未満', en: 'under 1 s' };
  return { ja: `${s}秒`, en: `${s} s` };
}

function timingText(issuedAt: Date, timing: ChannelTiming | undefined, total: number, live: boolean): Bilingual {
  if (total === 0 && !live) {
    return { ja: 'この配信先には受け取る人がいませんでした', en: 'No recipients on this channel' };
  }
  if (!timing?.firstSentAt || !timing.lastSentAt) {
    return { ja: 'まだ1件も届けていません', en: 'Nothing delivered yet' };
  }
  const first = formatDuration(timing.firstSentAt.getTime() - issuedAt.getTime());
  const last = formatDuration(timing.lastSentAt.getTime() - issuedAt.getTime());
  return {
    ja: `発表から最初の配信まで ${first.ja}、最後の配信まで ${last.ja}`,
    en: `First delivery ${first.en} after issue, last ${last.en}`,
  };
}

export function toProgress(detail: NoticeDetail, timings: ChannelTiming[]): NoticeProgress {
  const current = currentRevisionOf(detail);
  const channels: ChannelProgress[] = current.channels.map((channel) => {
    const c = current.counts[channel] ?? { queued: 0, sent: 0, failed: 0, skipped: 0 };
    const total = c.queued + c.sent + c.failed + c.skipped;
    const row = { ...c, total };
    return {
      channel,
      name: CHANNEL_WORD[channel],
      ...row,
      done: c.sent + c.failed + c.skipped,
      counts: countsText(row),
      timing: timingText(
        current.sentAt,
        timings.find((t) => t.channel === channel),
        total,
        LIVE.includes(detail.status),
      ),
    };
  });
  const all = channels.reduce(
    (sum, c) => ({
      sent: sum.sent + c.sent,
      failed: sum.failed + c.failed,
      queued: sum.queued + c.queued,
      skipped: sum.skipped + c.skipped,
      total: sum.total + c.total,
    }),
    { sent: 0, failed: 0, queued: 0, skipped: 0, total: 0 },
  );
  const statusWord = STATUS_WORD[detail.status];
  const words = countsText(all);
  return {
    noticeId: detail.notice.id,
    revision: current.revision,
    status: detail.status,
    statusWord,
    live: LIVE.includes(detail.status),
    channels,
    summary: { ja: `${statusWord.ja}: 全チャネルで ${words.ja}`, en: `${statusWord.en}: all channels, ${words.en}` },
  };
}

/** The notice and its progress now; throws the service's 404 for an unknown id. */
export async function loadProgress(
  notices: Pick<NoticeService, 'get'>,
  deliveries: Pick<DeliveryRepo, 'timing'>,
  noticeId: string,
): Promise<{ detail: NoticeDetail; progress: NoticeProgress }> {
  const detail = await notices.get(noticeId);
  const timings = await deliveries.timing(noticeId, detail.notice.currentRevision);
  return { detail, progress: toProgress(detail, timings) };
}
