import type { Child, FC } from 'hono/jsx';
import { CHANNEL_WORD, pluginOf } from '../../../channels/catalog.ts';
import type { ChannelPreview, PreviewItem } from '../../../channels/plugin.ts';
import type { Bilingual } from '../../domain/bilingual.ts';
import type { ChannelId, Locale, NoticeView } from '../../domain/notice.ts';
import type { PreviewRender, PreviewResult } from '../../services/notices/index.ts';
import { En } from './console-layout.tsx';

/**
 * What one notice looks like on every channel, from the channels' own render() (through
 * notices.preview), so staff see the cuts and splits residents will see, not an imitation.
 * Each channel's plug-in says what its rendering shows (channels/<id>/preview.ts); this draws it.
 * One fragment serves the live preview (compose.js swaps it in), the no-JS preview button
 * and the confirmation page.
 */

const LOCALE_LABEL: Record<Locale, string> = { ja: '日本語の購読者', en: '英語の購読者 / English subscribers' };

/** One channel's part of the preview. */
interface ChannelPart {
  content: Child;
  warnings: Bilingual[];
  count?: string | undefined;
}

const Warning: FC<{ warning: Bilingual }> = ({ warning }) => (
  <p class="warn">
    ⚠ {warning.ja} <En>{warning.en}</En>
  </p>
);

/** Draws one piece of a channel's preview (channels/plugin.ts PreviewItem). */
function itemContent(item: PreviewItem): Child {
  switch (item.kind) {
    case 'field':
      return (
        <p>
          <strong>{item.label.ja}</strong> <En>{item.label.en}</En>: {item.value}
        </p>
      );
    case 'heading':
      return (
        <p>
          <strong>{item.label.ja}</strong> <En>{item.label.en}</En>
        </p>
      );
    case 'title':
      return (
        <p>
          <strong>{item.text}</strong>
        </p>
      );
    case 'text':
      return <pre>{item.text}</pre>;
    case 'posts':
      return (
        <ol class="x-posts">
          {item.posts.map((post) => (
            <li>
              <pre>{post.text}</pre>
              <p class="hint">
                {post.note.ja} <En>{post.note.en}</En>
              </p>
            </li>
          ))}
        </ol>
      );
  }
}

/** A rendering its plug-in cannot read (a test's stand-in channel) still shows what it would send. */
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
  let preview: ChannelPreview;
  try {
    preview = pluginOf(render.channel).preview(render.rendered, view, render.locale);
  } catch {
    return rawPart(render.rendered);
  }
  return { content: <>{preview.items.map(itemContent)}</>, warnings: preview.warnings, count: preview.count };
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
  /** A channel's count shown next to the body while typing (X's weighted posts); null without X. */
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
  // The first count a channel gives (X's posts and weights), from its first locale, as before.
  const xCount = groups.flatMap((g) => g.parts.flatMap((p) => (p.part.count ? [p.part.count] : [])))[0] ?? null;
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
