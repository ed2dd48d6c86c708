import type { Bilingual } from '../../src/domain/bilingual.ts';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Locale, NoticeView } from '../../src/domain/notice.ts';
import type { ChannelPreview, PreviewItem } from '../plugin.ts';
import { LINE_LIMITS, type LineRendered } from './line-message.ts';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isString = (v: unknown): v is string => typeof v === 'string';

/** The texts of a Flex bubble's body, in order: title, facts, then the body excerpt. */
function bubbleTexts(message: unknown): string[] {
  if (!isRecord(message) || !isRecord(message.contents)) return [];
  const body = message.contents.body;
  if (!isRecord(body) || !Array.isArray(body.contents)) return [];
  return body.contents.flatMap((c: unknown) => (isRecord(c) && c.type === 'text' && isString(c.text) ? [c.text] : []));
}

/** The notification text, the Flex card's texts and the text messages that carry the rest of the body. */
export function previewLine(rendered: LineRendered, view: NoticeView, locale: Locale): ChannelPreview {
  const [flex, ...more] = rendered.messages;
  const followUps = more.flatMap((m: unknown) => (isRecord(m) && isString(m.text) ? [m.text] : []));
  const warnings: Bilingual[] = [];
  const full = `${markedTitle(view, locale)}\n${view.body.trim()}`;
  if (full.length > LINE_LIMITS.altTextChars) {
    warnings.push({
      ja: `通知欄の文（altText）は${LINE_LIMITS.altTextChars}字で省略されます`,
      en: `The notification text (altText) is cut at ${LINE_LIMITS.altTextChars} characters`,
    });
  }
  if (followUps.length > 0) {
    warnings.push({
      ja: `本文がカードに収まらないため、続きを ${followUps.length} 通のテキストで送ります`,
      en: `The body does not fit the card: the rest follows in ${followUps.length} text message(s)`,
    });
  }
  const last = followUps.at(-1);
  if (rendered.messages.length >= LINE_LIMITS.messagesPerRequest && last?.includes(view.pageUrl)) {
    warnings.push({
      ja: '長文のため末尾を省略します（続きはお知らせページ）',
      en: 'The end is cut; the rest is on the notice page',
    });
  }
  const items: PreviewItem[] = [
    { kind: 'heading', label: { ja: '通知欄の文', en: 'altText' } },
    { kind: 'text', text: rendered.altText },
    { kind: 'heading', label: { ja: 'メッセージ本体', en: 'Flex message' } },
    { kind: 'text', text: bubbleTexts(flex).join('\n') },
    ...followUps.flatMap((text, i): PreviewItem[] => [
      { kind: 'heading', label: { ja: `続き ${i + 1}`, en: `Follow-up ${i + 1}` } },
      { kind: 'text', text },
    ]),
  ];
  return { items, warnings };
}
