import { createHash } from 'node:crypto';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Locale, NoticeView, RevisionKind, Severity } from '../../src/domain/notice.ts';

/**
 * Web Push limits. A push service must accept 4,096 bytes of encrypted body (RFC 8030
 * §7.2); aes128gcm adds an 86-byte header (salt 16, record size 4, key id length 1, the
 * sender's public key 65), a 16-byte tag and at least one padding delimiter byte (RFC
 * 8188, RFC 8291 §4). What is left for the JSON is the plaintext limit.
 */
export const PUSH_LIMITS = {
  encryptedBytes: 4_096,
  overheadBytes: 86 + 16 + 1,
  plaintextBytes: 4_096 - (86 + 16 + 1),
  /** Base64url characters in a Topic header (RFC 8030 §5.4). */
  topicChars: 32,
} as const;

/**
 * What a phone shows: a notification is a title and two to four lines, so the body is
 * cut well below the byte limit; the whole notice is one tap away on its public page.
 */
export const TITLE_GRAPHEMES = 80;
export const BODY_GRAPHEMES = 140;

export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

/** The JSON the service worker (GET /sw.js) reads in its 'push' event. */
export interface PushNotification {
  title: string;
  body: string;
  severity: Severity;
  /** The notice's public page, opened when the notification is tapped. */
  url: string;
  /** One per notice: a correction or cancellation replaces the earlier notification. */
  tag: string;
  /** Alert again when replacing (emergencies); otherwise a correction replaces silently. */
  renotify: boolean;
  /** Emergencies stay on screen until the resident acts on them. */
  requireInteraction: boolean;
  icon: string;
  badge: string;
  lang: Locale;
  noticeId: string;
  revision: number;
  kind: RevisionKind;
  /** When the revision was issued, ms since the epoch (Notification.timestamp). */
  timestamp: number;
}

/** One rendered push message: what is encrypted, and the headers that go with it. */
export interface PushPayload {
  notification: PushNotification;
  /** The exact UTF-8 JSON that is encrypted and sent; ≤ PUSH_LIMITS.plaintextBytes. */
  json: string;
  /** RFC 8030 Topic: the same for every revision of a notice, so the push service keeps only the newest. */
  topic: string;
  urgency: PushUrgency;
  /** Seconds the push service keeps the message for a phone that is off. */
  ttlSeconds: number;
}

/**
 * RFC 8030 §5.3: 'high' wakes the device at once, even on battery. Emergencies and
 * warnings are time-critical; routine notices still arrive promptly with 'normal' (a
 * 'low' message may wait until the phone is on power or Wi-Fi, which can be hours).
 */
export const URGENCY: Record<Severity, PushUrgency> = {
  emergency: 'high',
  warning: 'high',
  advisory: 'normal',
  info: 'normal',
};

/** An emergency is kept for a phone that is off for at least this long. */
export const EMERGENCY_MIN_TTL_SECONDS = 24 * 60 * 60;

/**
 * The Topic of a notice: a hash of its id, so it is always 32 base64url characters
 * whatever the id looks like, and the same for every revision.
 */
export function pushTopic(noticeId: string): string {
  return createHash('sha256').update(`hibiki-notice:${noticeId}`).digest('base64url').slice(0, PUSH_LIMITS.topicChars);
}

export function pushTag(noticeId: string): string {
  return `hibiki-${noticeId}`;
}

const segmenter = new Intl.Segmenter('ja', { granularity: 'grapheme' });
const SENTENCE_END = /[。！？!?.．\n]/;

/** Spaces a line may start or end with: ASCII space, tab and the ideographic space. */
const EDGE_SPACE = new Set([' ', '\t', '\u3000']);

/** A line without the spaces at its ends, by index: a regex such as /[ \t]*\n/ backtracks over every run of spaces (quadratic). */
function trimLine(line: string): string {
  let start = 0;
  let end = line.length;
  while (start < end && EDGE_SPACE.has(line[start] as string)) start++;
  while (end > start && EDGE_SPACE.has(line[end - 1] as string)) end--;
  return line.slice(start, end);
}

/**
 * Control characters other than newline would show as boxes; runs of blank lines waste
 * the few lines a phone shows. Linear in the text: every step looks at each character a
 * bounded number of times (20,000 spaces took 155 ms with the backtracking regex this replaced).
 */
export function cleanPushText(text: string, oneLine: boolean): string {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .split('\n')
    .map(trimLine)
    .filter((line) => line !== '');
  return lines.join(oneLine ? ' ' : '\n').trim();
}

/**
 * Cuts to at most `max` graphemes (never inside an emoji or a kana with its mark), at the
 * end of a sentence when one falls in the second half, else at the limit with '…'.
 */
export function cutText(text: string, max: number): string {
  // Only the first max + 1 graphemes are ever needed: a long body is not segmented whole.
  const graphemes: string[] = [];
  for (const { segment } of segmenter.segment(text)) {
    graphemes.push(segment);
    if (graphemes.length > max) break;
  }
  if (graphemes.length <= max) return text;
  const room = graphemes.slice(0, max - 1);
  for (let i = room.length - 1; i >= Math.floor(max / 2); i--) {
    if (SENTENCE_END.test(room[i] as string))
      return `${room
        .slice(0, i + 1)
        .join('')
        .trimEnd()}…`;
  }
  return `${room.join('').trimEnd()}…`;
}

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The notification for one revision and locale. Pure: the same notice, locale and TTL
 * give the same payload. The notice body is Japanese in both locales (notices have one
 * body); the marks in the title follow the locale.
 */
export function renderPush(notice: NoticeView, locale: Locale, ttlSeconds: number): PushPayload {
  const origin = new URL(notice.pageUrl).origin;
  let title = cutText(markedTitle({ ...notice, title: cleanPushText(notice.title, true) }, locale), TITLE_GRAPHEMES);
  const fullBody = cleanPushText(notice.body, false);
  let bodyMax = BODY_GRAPHEMES;
  const emergency = notice.severity === 'emergency';
  const make = (): PushNotification => ({
    title,
    body: cutText(fullBody, bodyMax),
    severity: notice.severity,
    url: notice.pageUrl,
    tag: pushTag(notice.id),
    renotify: emergency,
    requireInteraction: emergency,
    icon: `${origin}/push/icon-192.png`,
    badge: `${origin}/push/badge-96.png`,
    lang: locale,
    noticeId: notice.id,
    revision: notice.revision,
    kind: notice.kind,
    timestamp: notice.sentAt.getTime(),
  });
  let notification = make();
  let json = JSON.stringify(notification);
  // Only a page URL of kilobytes could get here; shrink the text rather than fail the send.
  while (byteLength(json) > PUSH_LIMITS.plaintextBytes && (bodyMax > 1 || title.length > 1)) {
    if (bodyMax > 1) bodyMax = Math.max(1, Math.floor(bodyMax / 2));
    else title = cutText(title, Math.max(1, Math.floor(Array.from(segmenter.segment(title)).length / 2)));
    notification = make();
    json = JSON.stringify(notification);
  }
  return {
    notification,
    json,
    topic: pushTopic(notice.id),
    urgency: URGENCY[notice.severity],
    ttlSeconds: emergency ? Math.max(ttlSeconds, EMERGENCY_MIN_TTL_SECONDS) : ttlSeconds,
  };
}
