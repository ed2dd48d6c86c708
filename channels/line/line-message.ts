import type { messagingApi } from '@line/bot-sdk';
import { CATEGORY_EN, SEVERITY_COLOUR, SEVERITY_WORD } from '../../src/domain/labels.ts';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Locale, NoticeView, Severity } from '../../src/domain/notice.ts';

/**
 * LINE's limits that a notice can run into (Messaging API reference). Lengths are counted
 * in UTF-16 code units, as LINE counts them, so an emoji counts 2.
 */
export const LINE_LIMITS = {
  /** Message objects per multicast, broadcast, push or reply request. */
  messagesPerRequest: 5,
  /** Characters in a text message. */
  textChars: 5_000,
  /**
   * Characters in altText. LINE allows 1,500 for a Flex message (400 for a template); we
   * keep to 400 so the notification preview stays short and every message type fits.
   */
  altTextChars: 400,
  /** A bubble's JSON; LINE says 30 KB, we count UTF-8 bytes of the whole Flex message and stop at 30,000. */
  bubbleBytes: 30_000,
  /** User ids per multicast request. */
  recipientsPerMulticast: 500,
  /** Characters in a uri action's URI. */
  uriChars: 1_000,
  /** Characters in a Flex button's label. */
  buttonLabelChars: 40,
} as const;

/** Body characters shown in the bubble itself; the rest follows as text messages (easier to read than one giant card). */
export const BUBBLE_BODY_CHARS = 2_000;
const TITLE_CHARS = 400;

/** What one notice revision becomes for one locale: 1 to 5 messages, sent in one request. */
export interface LineRendered {
  messages: messagingApi.Message[];
  /** The Flex message's text fallback (notification preview, old clients), ≤ 400 characters. */
  altText: string;
}

const WORDS = {
  ja: {
    details: '詳しく見る',
    related: '関連リンク',
    area: '対象地域',
    wholeCity: (city: string) => `${city}全域`,
    issued: '発表',
    expires: '有効期限',
    corrects: (at: string) => `${at}に発表した内容を訂正します。`,
    cancels: (at: string) => `${at}に発表した内容を取り消します。`,
    continuedBelow: '…（続きは次のメッセージ）',
    continued: '（続き）\n',
    readMore: (url: string) => `…\n\n続きは市のお知らせページでご覧ください:\n${url}`,
    listSep: '、',
  },
  en: {
    details: 'Details',
    related: 'Related link',
    area: 'Area',
    wholeCity: (city: string) => `all of ${city}`,
    issued: 'Issued',
    expires: 'Valid until',
    corrects: (at: string) => `This corrects the notice issued ${at}.`,
    cancels: (at: string) => `This withdraws the notice issued ${at}.`,
    continuedBelow: '… (continued below)',
    continued: '(continued)\n',
    readMore: (url: string) => `…\n\nRead the rest on the city's notice page:\n${url}`,
    listSep: ', ',
  },
} as const;

/** Pure: the same notice and locale give the same messages, within every limit in LINE_LIMITS. */
export function renderLineMessages(notice: NoticeView, locale: Locale): LineRendered {
  const w = WORDS[locale];
  const title = cutText(markedTitle({ ...notice, title: oneLine(notice.title) }, locale), TITLE_CHARS);
  const body = notice.body.replace(/\r\n?/g, '\n').trim();
  const altText = cutText(body ? `${title}\n${body}` : title, LINE_LIMITS.altTextChars);

  // The bubble takes as much of the body as reads well and fits its byte limit; a huge
  // title or escape-heavy text only shrinks the excerpt further.
  let excerptMax = Math.min(body.length, BUBBLE_BODY_CHARS);
  let flex: messagingApi.FlexMessage;
  let rest: string;
  for (;;) {
    const [head, tail] = splitSensibly(body, excerptMax);
    const shown = tail ? `${head}${w.continuedBelow}` : head;
    flex = { type: 'flex', altText, contents: bubble(notice, locale, title, shown) };
    rest = tail;
    if (byteLength(flex) <= LINE_LIMITS.bubbleBytes || excerptMax <= 50) break;
    excerptMax = Math.floor(excerptMax * 0.75);
  }

  const messages: messagingApi.Message[] = [flex];
  while (rest && messages.length < LINE_LIMITS.messagesPerRequest) {
    const last = messages.length === LINE_LIMITS.messagesPerRequest - 1;
    const room = LINE_LIMITS.textChars - w.continued.length;
    if (rest.length <= room) {
      messages.push({ type: 'text', text: `${w.continued}${rest}` });
      rest = '';
    } else if (last) {
      // Out of messages: end with the page, which always has the whole text.
      const more = w.readMore(notice.pageUrl);
      const [head] = splitSensibly(rest, Math.max(0, room - more.length));
      messages.push({ type: 'text', text: `${w.continued}${head}${more}` });
      rest = '';
    } else {
      const [head, tail] = splitSensibly(rest, room);
      messages.push({ type: 'text', text: `${w.continued}${head}` });
      rest = tail;
    }
  }
  return { messages, altText };
}

function bubble(notice: NoticeView, locale: Locale, title: string, shownBody: string): messagingApi.FlexBubble {
  const w = WORDS[locale];
  const en = locale === 'en';
  const colour = SEVERITY_COLOUR[notice.severity];
  const category = en ? CATEGORY_EN[notice.category] : notice.category;
  const sender = en ? notice.sender.nameEn : notice.sender.name;
  const areas =
    notice.areas.length > 0 ? notice.areas.map((a) => (en ? a.nameEn : a.name)).join(w.listSep) : w.wholeCity(sender);
  const meta = [
    `${w.area}: ${areas}`,
    `${w.issued}: ${formatJst(notice.sentAt, locale)} ${sender}`,
    ...(notice.expiresAt ? [`${w.expires}: ${formatJst(notice.expiresAt, locale)}`] : []),
  ].join('\n');

  const earlier = notice.earlier.at(-1);
  const revisionNote =
    earlier && notice.kind === 'update'
      ? w.corrects(formatJst(earlier.sentAt, locale))
      : earlier && notice.kind === 'cancel'
        ? w.cancels(formatJst(earlier.sentAt, locale))
        : undefined;

  const body: messagingApi.FlexComponent[] = [
    { type: 'text', text: title, weight: 'bold', size: 'lg', wrap: true },
    { type: 'text', text: meta, size: 'xs', color: '#555555', wrap: true },
  ];
  if (revisionNote)
    body.push({ type: 'text', text: revisionNote, size: 'sm', weight: 'bold', color: colour, wrap: true });
  // LINE refuses an empty text component: a notice without a body shows none.
  if (shownBody)
    body.push({ type: 'separator', margin: 'md' }, { type: 'text', text: shownBody, size: 'sm', wrap: true });

  const buttons: messagingApi.FlexComponent[] = [];
  if (isUri(notice.pageUrl)) {
    buttons.push({
      type: 'button',
      style: 'primary',
      color: colour,
      action: { type: 'uri', label: w.details, uri: notice.pageUrl },
    });
  }
  // Staff type the related link: only web links, and only ones LINE accepts.
  if (notice.link && isUri(notice.link) && notice.link !== notice.pageUrl) {
    buttons.push({ type: 'button', style: 'link', action: { type: 'uri', label: w.related, uri: notice.link } });
  }

  return {
    type: 'bubble',
    header: {
      type: 'box',
      layout: 'vertical',
      backgroundColor: colour,
      paddingAll: '12px',
      contents: [
        {
          type: 'text',
          text: `${SEVERITY_WORD[locale][notice.severity]} ・ ${category}`,
          color: '#ffffff',
          weight: 'bold',
          size: 'sm',
          wrap: true,
        },
      ],
    },
    body: { type: 'box', layout: 'vertical', spacing: 'md', contents: body },
    ...(buttons.length > 0 ? { footer: { type: 'box', layout: 'vertical', spacing: 'sm', contents: buttons } } : {}),
  };
}

export function severityWord(severity: Severity, locale: Locale): string {
  return SEVERITY_WORD[locale][severity];
}

function isUri(s: string): boolean {
  return /^https?:\/\/\S+$/i.test(s) && s.length <= LINE_LIMITS.uriChars;
}

/** UTF-8 bytes of a message's JSON, as LINE measures a Flex message's size. */
export function byteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Boundaries to cut at, best first: paragraph, line, sentence, clause, word. */
const BREAKS = ['\n\n', '\n', '。', '．', '！', '？', '. ', '! ', '? ', '、', '，', ', ', '　', ' '];
const segmenter = new Intl.Segmenter('ja', { granularity: 'grapheme' });

/**
 * Splits text into a head of at most `max` UTF-16 units and the rest, at the best
 * boundary in the last 40% of the room, else between two characters (never inside a
 * surrogate pair or an emoji sequence).
 */
export function splitSensibly(text: string, max: number): [string, string] {
  if (text.length <= max) return [text, ''];
  if (max <= 0) return ['', text.trim()];
  const window = text.slice(0, max);
  const floor = Math.floor(max * 0.6);
  let at = -1;
  for (const b of BREAKS) {
    const i = window.lastIndexOf(b);
    if (i >= 0 && i + b.length >= floor && i + b.length <= max) {
      at = i + b.length;
      break;
    }
  }
  if (at < 0) at = graphemeBoundary(text, max);
  return [text.slice(0, at).trimEnd(), text.slice(at).trimStart()];
}

/** The last grapheme boundary at or before max. */
function graphemeBoundary(text: string, max: number): number {
  const from = Math.max(0, max - 32);
  let last = from;
  for (const { index } of segmenter.segment(text.slice(from, max + 32))) {
    const at = from + index;
    if (at > max) break;
    last = at;
  }
  return last;
}

/** At most max UTF-16 units, cut at a boundary, ending with … when cut. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const [head] = splitSensibly(text, max - 1);
  return `${head}…`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** 2026年11月26日 19時39分 / 2026-11-26 19:39 JST, independent of the host's time zone. */
function formatJst(date: Date, locale: Locale): string {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  const pad = (n: number) => String(n).padStart(2, '0');
  const [y, mo, da, h, mi] = [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
  ];
  return locale === 'ja'
    ? `${y}年${mo}月${da}日 ${h}時${pad(mi)}分`
    : `${y}-${pad(mo)}-${pad(da)} ${pad(h)}:${pad(mi)} JST`;
}
