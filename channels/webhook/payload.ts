import { markedTitle } from '../../src/domain/marks.ts';
import type { Category, Mode, NoticeView, RevisionKind, Severity } from '../../src/domain/notice.ts';

/** Standard Webhooks event types: full-stop delimited, one per kind of revision. */
export type WebhookEventType = 'notice.published' | 'notice.updated' | 'notice.cancelled';

const EVENT_TYPE: Record<RevisionKind, WebhookEventType> = {
  alert: 'notice.published',
  update: 'notice.updated',
  cancel: 'notice.cancelled',
};

/**
 * The JSON body of every webhook request, in the Standard Webhooks shape
 * `{ type, timestamp, data }`. Times are ISO 8601 in JST with +09:00, as people in the
 * city read them; `id` + `revision` identify the revision a receiver may already have.
 */
export interface WebhookEvent {
  type: WebhookEventType;
  /** When the revision was issued (its CAP sent time). */
  timestamp: string;
  data: {
    notice: {
      id: string;
      revision: number;
      kind: RevisionKind;
      title: string;
      /** The title with the marks every channel shows: 【訓練】【緊急】【訂正】【取消】 / [DRILL] … */
      markedTitle: { ja: string; en: string };
      body: string;
      severity: Severity;
      category: Category;
      /** actual, or exercise/test: a drill that must never be shown as real. */
      mode: Mode;
      topics: string[];
      /** Empty: the whole city. */
      areas: { code: string; name: string; nameEn: string }[];
      /** A link staff attached to the notice, if any. */
      link: string | null;
      sentAt: string;
      expiresAt: string | null;
      capIdentifier: string;
      /** Earlier revisions of this notice, oldest first (empty for revision 1). */
      earlier: { revision: number; capIdentifier: string; sentAt: string }[];
      sender: { name: string; nameEn: string };
    };
    links: {
      /** The public notice page. */
      page: string;
      /** This revision's CAP 1.2 message. */
      cap: string;
    };
  };
}

/** What the channel renders once per batch: the exact bytes to sign and send. */
export interface WebhookPayload {
  type: WebhookEventType;
  body: string;
}

/** An instant in JST with an explicit +09:00 offset, whole seconds. */
export function jstIso(d: Date): string {
  const local = new Date(d.getTime() + 9 * 60 * 60 * 1000);
  return `${local.toISOString().slice(0, 19)}+09:00`;
}

export function toWebhookEvent(notice: NoticeView): WebhookEvent {
  const sentAt = jstIso(notice.sentAt);
  return {
    type: EVENT_TYPE[notice.kind],
    timestamp: sentAt,
    data: {
      notice: {
        id: notice.id,
        revision: notice.revision,
        kind: notice.kind,
        title: notice.title,
        markedTitle: { ja: markedTitle(notice, 'ja'), en: markedTitle(notice, 'en') },
        body: notice.body,
        severity: notice.severity,
        category: notice.category,
        mode: notice.mode,
        topics: [...notice.topics],
        areas: notice.areas.map((a) => ({ code: a.code, name: a.name, nameEn: a.nameEn })),
        link: notice.link,
        sentAt,
        expiresAt: notice.expiresAt ? jstIso(notice.expiresAt) : null,
        capIdentifier: notice.capIdentifier,
        earlier: notice.earlier.map((e) => ({
          revision: e.revision,
          capIdentifier: e.capIdentifier,
          sentAt: jstIso(e.sentAt),
        })),
        sender: { name: notice.sender.name, nameEn: notice.sender.nameEn },
      },
      links: { page: notice.pageUrl, cap: notice.capUrl },
    },
  };
}

/** Pure: the same revision gives the same bytes, so every endpoint and every retry gets one body. */
export function renderWebhook(notice: NoticeView): WebhookPayload {
  const event = toWebhookEvent(notice);
  return { type: event.type, body: JSON.stringify(event) };
}
