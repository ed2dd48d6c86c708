import type { Bilingual } from '../../src/domain/bilingual.ts';
import type { ChannelPreview } from '../plugin.ts';
import { weightOf, X_MAX_WEIGHT, type XPost } from './fit-post.ts';

/** Each post with its weighted length as X counts it (twitter-text, as fit-post fits them). */
export function previewX(post: XPost): ChannelPreview {
  const weights = post.texts.map(weightOf);
  const warnings: Bilingual[] = [];
  if (post.texts.length > 1) {
    warnings.push({
      ja: `長文のため ${post.texts.length} 件に分割して投稿します（返信のスレッド）`,
      en: `Long text: posted as a thread of ${post.texts.length}`,
    });
  }
  if (post.truncated) {
    warnings.push({
      ja: '長文のため末尾を省略します（全文はお知らせページのリンク先）',
      en: 'The end is cut; the link leads to the whole text',
    });
  }
  return {
    items: [
      {
        kind: 'posts',
        posts: post.texts.map((text, i) => ({
          text,
          note: { ja: `${weights[i]} / ${X_MAX_WEIGHT}`, en: 'weighted characters' },
        })),
      },
    ],
    warnings,
    count: `X: ${post.texts.length}件 / ${weights.join('+')}字`,
  };
}
