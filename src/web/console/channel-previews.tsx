import type { Child, FC } from 'hono/jsx';
import { LINE_LIMITS } from '../../../channels/line/line-message.ts';
import { MANAGE_URL_PLACEHOLDER, UNSUBSCRIBE_URL_PLACEHOLDER } from '../../../channels/mail/render-mail.ts';
import { weightOf, X_MAX_WEIGHT } from '../../../channels/x/fit-post.ts';
import type { Bilingual } from '../../domain/bilingual.ts';
import { CHANNEL_WORD } from '../../domain/labels.ts';
import { markedTitle } from '../../domain/marks.ts';
import type { ChannelId, Locale, NoticeView } from '../../domain/notice.ts';
import type { PreviewRender, PreviewResult } from '../../services/notices/index.ts';
import { En } from './console-layout.tsx';

/**
 * What one notice looks like on every channel, from the channels' own render() (through
 * notices.preview), so staff see the cuts and splits residents will see, not an imitation.
 * One fragment serves the live preview (compose.js swaps it in), the no-JS preview button
 * and the confirmation page.
 */

const LOCALE_LABEL: Record<Locale, string> = { ja: '日本語の購読者', en: '英語の購読者 / English subscribers' };

/** One channel's part of the preview. */
interface ChannelPart {
  content: Child;
  warnings: Bilingual[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isString = (v: unknown): v is string => typeof v === 'string';

/** The channel tidies whitespace; only characters that are gone make a cut. */
const squeeze = (s: string) => s.replace(/\s+/gu, '');

const Warning: FC<{ warning: Bilingual }> = ({ warning }) => (
  <p class="warn">
    ⚠ {warning.ja} <En>{warning.en}</En>
  </p>
);

function mailPart(rendered: unknown): ChannelPart | undefined {
  if (!isRecord(rendered) || !isString(rendered.subject) || !isString(rendered.text)) return undefined;
  // The batch rendering holds placeholders for each recipient's own links.
  const text = rendered.text
    .replaceAll(UNSUBSCRIBE_URL_PLACEHOLDER, '（受信者ごとの配信停止リンク）')
    .replaceAll(MANAGE_URL_PLACEHOLDER, '（受信者ごとの設定変更リンク）');
  return {
    content: (
      <>
        <p>
          <strong>件名</strong> <En>Subject</En>: {rendered.subject}
        </p>
        <pre>{text}</pre>
      </>
    ),
    warnings: [],
  };
}

interface XShape {
  texts: string[];
  truncated: boolean;
}

const isXPost = (v: unknown): v is XShape =>
  isRecord(v) && Array.isArray(v.texts) && v.texts.every(isString) && typeof v.truncated === 'boolean';

/** Each post's weighted length as X counts it (twitter-text, as channels/x fits them). */
export const xWeights = (post: XShape): number[] => post.texts.map(weightOf);

function xPart(rendered: unknown): ChannelPart | undefined {
  if (!isXPost(rendered)) return undefined;
  const weights = xWeights(rendered);
  const warnings: Bilingual[] = [];
  if (rendered.texts.length > 1) {
    warnings.push({
      ja: `長文のため ${rendered.texts.length} 件に分割して投稿します（返信のスレッド）`,
      en: `Long text: posted as a thread of ${rendered.texts.length}`,
    });
  }
  if (rendered.truncated) {
    warnings.push({
      ja: '長文のため末尾を省略します（全文はお知らせページのリンク先）',
      en: 'The end is cut; the link leads to the whole text',
    });
  }
  return {
    content: (
      <ol class="x-posts">
        {rendered.texts.map((text, i) => (
          <li>
            <pre>{text}</pre>
            <p class="hint">
              {weights[i]} / {X_MAX_WEIGHT} <En>weighted characters</En>
            </p>
          </li>
        ))}
      </ol>
    ),
    warnings,
  };
}

interface LineShape {
  altText: string;
  messages: unknown[];
}

const isLine = (v: unknown): v is LineShape => isRecord(v) && isString(v.altText) && Array.isArray(v.messages);

/** The texts of a Flex bubble's body, in order: title, facts, then the body excerpt. */
function bubbleTexts(message: unknown): string[] {
  if (!isRecord(message) || !isRecord(message.contents)) return [];
  const body = message.contents.body;
  if (!isRecord(body) || !Array.isArray(body.contents)) return [];
  return body.contents.flatMap((c: unknown) => (isRecord(c) && c.type === 'text' && isString(c.text) ? [c.text] : []));
}

function linePart(rendered: unknown, view: NoticeView, locale: Locale): ChannelPart | undefined {
  if (!isLine(rendered)) return undefined;
  const [flex, ...more] = rendered.messages;
  const followUps = more.flatMap((m) => (isRecord(m) && isString(m.text) ? [m.text] : []));
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
  return {
    content: (
      <>
        <p>
          <strong>通知欄の文</strong> <En>altText</En>
        </p>
        <pre>{rendered.altText}</pre>
        <p>
          <strong>メッセージ本体</strong> <En>Flex message</En>
        </p>
        <pre>{bubbleTexts(flex).join('\n')}</pre>
        {followUps.map((text, i) => (
          <>
            <p>
              <strong>続き {i + 1}</strong> <En>Follow-up {i + 1}</En>
            </p>
            <pre>{text}</pre>
          </>
        ))}
      </>
    ),
    warnings,
  };
}

function pushPart(rendered: unknown, view: NoticeView, locale: Locale): ChannelPart | undefined {
  if (!isRecord(rendered) || !isRecord(rendered.notification)) return undefined;
  const { title, body } = rendered.notification;
  if (!isString(title) || !isString(body)) return undefined;
  const warnings: Bilingual[] = [];
  if (squeeze(title) !== squeeze(markedTitle(view, locale))) {
    warnings.push({ ja: '件名が長いため省略されます', en: 'The title is cut' });
  }
  if (squeeze(body) !== squeeze(view.body)) {
    warnings.push({
      ja: '本文は通知の数行に収まるよう省略されます（タップでお知らせページ）',
      en: 'The body is cut to a few lines; a tap opens the notice page',
    });
  }
  return {
    content: (
      <>
        <p>
          <strong>{title}</strong>
        </p>
        <pre>{body}</pre>
      </>
    ),
    warnings,
  };
}

function capPart(rendered: unknown): ChannelPart | undefined {
  if (!isRecord(rendered) || !isString(rendered.xml)) return undefined;
  return { content: <pre>{rendered.xml}</pre>, warnings: [] };
}

function webhookPart(rendered: unknown): ChannelPart | undefined {
  if (!isRecord(rendered) || !isString(rendered.body)) return undefined;
  let shown = rendered.body;
  try {
    shown = JSON.stringify(JSON.parse(rendered.body), null, 2);
  } catch {
    // Shown as sent.
  }
  return { content: <pre>{shown}</pre>, warnings: [] };
}

/** A channel this page does not know the shape of still shows what it would send. */
function rawPart(rendered: unknown): ChannelPart {
  return { content: <pre>{JSON.stringify(rendered, null, 2)}</pre>, warnings: [] };
}

function partOf(render: PreviewRender, view: NoticeView): ChannelPart {
  if (render.error !== undefined) {
    return {
      content: null,
      warnings: [
        {
          ja: `このチャネルでは表示できません: ${render.error}`,
          en: `This channel cannot render it: ${render.error}`,
        },
      ],
    };
  }
  const r = render.rendered;
  const part = (() => {
    switch (render.channel) {
      case 'mail':
        return mailPart(r);
      case 'x':
        return xPart(r);
      case 'line':
        return linePart(r, view, render.locale);
      case 'webpush':
        return pushPart(r, view, render.locale);
      case 'cap':
        return capPart(r);
      case 'webhook':
        return webhookPart(r);
    }
  })();
  return part ?? rawPart(r);
}

interface RenderedPart {
  locale: Locale;
  part: ChannelPart;
}

interface ChannelGroup {
  channel: ChannelId;
  parts: RenderedPart[];
}

export interface PreviewModel {
  groups: ChannelGroup[];
  /** One short line for screen readers (aria-live): the X posts and how many warnings. */
  summary: string;
  /** The X posts' weighted counts, shown next to the body while typing; null without X. */
  xCount: string | null;
}

/** A render for each locale unless they are the same (a webhook's payload): then once. */
function distinctRenders(renders: PreviewRender[]): PreviewRender[] {
  const first = renders[0];
  if (!first || renders.length === 1) return renders;
  const same = renders.every((r) => !r.error && JSON.stringify(r.rendered) === JSON.stringify(first.rendered));
  return same ? [first] : renders;
}

export function describePreview(result: PreviewResult): PreviewModel {
  const groups: ChannelGroup[] = [];
  for (const channel of [...new Set(result.renders.map((r) => r.channel))]) {
    const renders = distinctRenders(result.renders.filter((r) => r.channel === channel));
    groups.push({ channel, parts: renders.map((r) => ({ locale: r.locale, part: partOf(r, result.view) })) });
  }
  const x = result.renders.find((r) => r.channel === 'x')?.rendered;
  const xCount = isXPost(x) ? `X: ${x.texts.length}件 / ${xWeights(x).join('+')}字` : null;
  const warnings = groups.reduce((n, g) => n + g.parts.reduce((m, p) => m + p.part.warnings.length, 0), 0);
  const summary = [
    `${groups.length}チャネル`,
    ...(xCount ? [xCount] : []),
    warnings > 0 ? `注意 ${warnings}件` : '注意なし',
  ].join(' ・ ');
  return { groups, summary, xCount };
}

/**
 * The preview region's content. Its root carries the summary and the X count as data
 * attributes, so compose.js can announce the one and show the other beside the body.
 */
export const ChannelPreviews: FC<{ model: PreviewModel }> = ({ model }) => (
  <div id="preview-body" data-summary={model.summary} data-x-count={model.xCount ?? ''}>
    {model.groups.map((group) => {
      const label = CHANNEL_WORD[group.channel];
      return (
        <section class="preview" aria-labelledby={`pv-${group.channel}`}>
          <h3 id={`pv-${group.channel}`}>
            {label.ja} <En>{label.en}</En>
          </h3>
          {group.parts.map(({ locale, part }) => (
            <div>
              {group.parts.length > 1 ? <h4>{LOCALE_LABEL[locale]}</h4> : null}
              {part.warnings.map((w) => (
                <Warning warning={w} />
              ))}
              {part.content}
            </div>
          ))}
        </section>
      );
    })}
  </div>
);

/** In place of previews when the form cannot be previewed yet: what is missing, said once. */
export const PreviewProblems: FC<{ problems: Bilingual[]; summary: string }> = ({ problems, summary }) => (
  <div id="preview-body" data-summary={summary} data-x-count="">
    <ul class="hint">
      {problems.map((p) => (
        <li>
          {p.ja} <En>{p.en}</En>
        </li>
      ))}
    </ul>
  </div>
);
