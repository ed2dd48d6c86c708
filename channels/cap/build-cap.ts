import { XMLBuilder } from 'fast-xml-parser';
import { municipalityCode } from '../../src/domain/area-code.ts';
import type { CapMessage, CapMsgType } from '../../src/domain/cap-archive.ts';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Category, Mode, NoticeView, RevisionKind, Severity } from '../../src/domain/notice.ts';
import type { CapOptions } from './types.ts';
export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2';

/** CAP 1.2 §3.3.2: identifier and sender must not hold spaces, commas, < or &. */
const CAP_TOKEN = /^[^\s,&<]+$/;

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** CAP recommends a headline under 160 characters; 140 also fits feed readers and SMS-like displays. */
export const HEADLINE_MAX = 140;

/**
 * How long a Cancel stays in the feed when the notice had no expiry (or it has already
 * passed): long enough for every aggregator polling the feed to learn of it.
 */
const CANCEL_VISIBLE_MS = 24 * 60 * 60 * 1000;

const STATUS: Record<Mode, 'Actual' | 'Exercise' | 'Test'> = {
  actual: 'Actual',
  exercise: 'Exercise',
  test: 'Test',
};

const MSG_TYPE: Record<RevisionKind, CapMsgType> = { alert: 'Alert', update: 'Update', cancel: 'Cancel' };

type CapCategory = 'Met' | 'Safety' | 'Rescue' | 'Infra' | 'Other';

/**
 * 避難所情報 is Safety: opening shelters protects residents from a hazard; CAP's Rescue
 * means rescue and recovery operations. 被害情報 from a city is mostly roads, water and
 * power (Infra) but also casualties and houses (Safety); CAP allows several categories.
 */
const CATEGORY: Record<Category, CapCategory[]> = {
  避難情報: ['Safety'],
  避難所情報: ['Safety'],
  被害情報: ['Infra', 'Safety'],
  気象情報: ['Met'],
  お知らせ: ['Other'],
  イベント情報: ['Other'],
};

interface Grading {
  urgency: 'Immediate' | 'Expected' | 'Future' | 'Past' | 'Unknown';
  severity: 'Extreme' | 'Severe' | 'Moderate' | 'Minor' | 'Unknown';
  certainty: 'Observed' | 'Likely' | 'Possible' | 'Unlikely' | 'Unknown';
}

const GRADING: Record<Severity, Grading> = {
  emergency: { urgency: 'Immediate', severity: 'Extreme', certainty: 'Observed' },
  warning: { urgency: 'Expected', severity: 'Severe', certainty: 'Likely' },
  advisory: { urgency: 'Future', severity: 'Moderate', certainty: 'Possible' },
  info: { urgency: 'Unknown', severity: 'Minor', certainty: 'Unknown' },
};

/**
 * A Cancel is an all clear, in the form Environment Canada uses for one (Past / Minor /
 * Observed with responseType AllClear): aggregators that rank by these values then drop
 * the alert instead of showing the cancellation as a fresh extreme event.
 */
const ALL_CLEAR: Grading = { urgency: 'Past', severity: 'Minor', certainty: 'Observed' };

const NOTE: Partial<Record<Mode, string>> = {
  exercise: '訓練用の情報です。実際の災害に関するものではありません。(Exercise)',
  test: '配信試験の情報です。対応は不要です。(Test)',
};

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

/** CAP times: JST with an explicit +09:00 offset, whole seconds (CAP forbids fractions and "Z"). */
export function formatCapTime(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError('invalid date for a CAP time');
  const local = new Date(Math.floor(ms / 1000) * 1000 + JST_OFFSET_MS);
  return `${local.toISOString().slice(0, 19)}+09:00`;
}

const toWholeSecond = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/**
 * XML 1.0 cannot carry most control characters even escaped, and a lone surrogate is not
 * UTF-8: text pasted from other tools would otherwise make the whole message unparsable.
 */
export function xmlText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .trim();
}

const segmenter = new Intl.Segmenter('ja', { granularity: 'grapheme' });

/** Cuts at a grapheme boundary, so an emoji or a kana with a combining mark is never split. */
export function truncateGraphemes(text: string, max: number): string {
  const graphemes = Array.from(segmenter.segment(text), (s) => s.segment);
  if (graphemes.length <= max) return text;
  return `${graphemes.slice(0, max - 1).join('')}…`;
}

function headlineFor(notice: NoticeView): string {
  // One line; the ideographic space (U+3000) many Japanese titles use is kept.
  const title = xmlText(notice.title).replace(/[ \t]*\n[ \t]*|\t/g, ' ');
  // The same marks residents see on every other channel; status/msgType alone are not
  // shown by every reader of the feed.
  return truncateGraphemes(markedTitle({ ...notice, title }, 'ja'), HEADLINE_MAX);
}

function expiresFor(notice: NoticeView, sentAt: Date): Date | null {
  if (notice.kind !== 'cancel') return notice.expiresAt ? toWholeSecond(notice.expiresAt) : null;
  if (notice.expiresAt && notice.expiresAt.getTime() > sentAt.getTime()) return toWholeSecond(notice.expiresAt);
  return new Date(sentAt.getTime() + CANCEL_VISIBLE_MS);
}

/**
 * 避難情報 are calls to evacuate (高齢者等避難 at advisory level is a call to prepare);
 * for other categories the notice text says what to do, so no responseType is guessed.
 */
function responseTypeFor(notice: NoticeView): string | undefined {
  if (notice.kind === 'cancel') return 'AllClear';
  if (notice.category !== '避難情報') return undefined;
  return notice.severity === 'emergency' || notice.severity === 'warning' ? 'Evacuate' : 'Prepare';
}

function requireToken(field: string, value: string): void {
  if (!CAP_TOKEN.test(value)) {
    throw new TypeError(`CAP ${field} "${value}" must be non-empty without spaces, commas, < or &`);
  }
}

/**
 * Renders one notice revision as a CAP 1.2 message that passes both the OASIS schema
 * and Google's stricter cap12-extended.xsd. Pure: the same notice gives the same bytes.
 */
export function buildCapMessage(notice: NoticeView, options: CapOptions): CapMessage {
  requireToken('sender (CAP_SENDER)', options.sender);
  requireToken(`identifier of notice ${notice.id} revision ${notice.revision}`, notice.capIdentifier);
  for (const earlier of notice.earlier) {
    requireToken(`identifier of notice ${notice.id} revision ${earlier.revision}`, earlier.capIdentifier);
    if (earlier.capIdentifier === notice.capIdentifier) {
      throw new TypeError(
        `CAP identifier ${notice.capIdentifier} of notice ${notice.id} revision ${notice.revision} reuses revision ${earlier.revision}'s`,
      );
    }
  }

  const msgType = MSG_TYPE[notice.kind];
  // An Update or Cancel without references would not say what it replaces; aggregators drop it.
  if (msgType !== 'Alert' && notice.earlier.length === 0) {
    throw new TypeError(
      `notice ${notice.id} revision ${notice.revision} is an ${notice.kind} but lists no earlier revision to reference`,
    );
  }
  const sentAt = toWholeSecond(notice.sentAt);
  const expiresAt = expiresFor(notice, sentAt);
  const grading = notice.kind === 'cancel' ? ALL_CLEAR : GRADING[notice.severity];

  // CAP: an Update or Cancel names every message it supersedes, as sender,identifier,sent.
  const references =
    msgType === 'Alert'
      ? undefined
      : notice.earlier.map((e) => `${options.sender},${e.capIdentifier},${formatCapTime(e.sentAt)}`).join(' ');

  const areaNames = notice.areas.map((a) => xmlText(a.name)).filter((name) => name !== '');
  const cityName = xmlText(options.cityName ?? notice.sender.name);
  // A district (432105-01) has no JIS X 0402 code of its own: its geocode is its municipality's.
  const codes =
    notice.areas.length > 0 ? [...new Set(notice.areas.map((a) => municipalityCode(a.code)))] : [options.cityCode];
  const description = xmlText(notice.body);

  // Key order is element order: CAP's schema is a strict xs:sequence.
  const alert = {
    '@_xmlns': CAP_NAMESPACE,
    identifier: notice.capIdentifier,
    sender: options.sender,
    sent: formatCapTime(sentAt),
    status: STATUS[notice.mode],
    msgType,
    scope: 'Public',
    note: NOTE[notice.mode],
    references,
    incidents: notice.id,
    info: {
      language: 'ja-JP',
      category: CATEGORY[notice.category],
      event: notice.category,
      responseType: responseTypeFor(notice),
      urgency: grading.urgency,
      severity: grading.severity,
      certainty: grading.certainty,
      expires: expiresAt ? formatCapTime(expiresAt) : undefined,
      senderName: xmlText(notice.sender.name) || undefined,
      headline: headlineFor(notice),
      description: description || undefined,
      instruction:
        notice.kind === 'cancel' ? 'この情報は取り消されました。(This alert has been cancelled.)' : undefined,
      web: notice.pageUrl,
      area: {
        areaDesc: areaNames.length > 0 ? areaNames.join(' ') : cityName,
        geocode: codes.map((value) => ({ valueName: 'JISX0402', value })),
      },
    },
  };

  const xml = builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, alert }) as string;
  return {
    identifier: notice.capIdentifier,
    noticeId: notice.id,
    revision: notice.revision,
    msgType,
    sentAt,
    expiresAt,
    xml,
  };
}
