import type { Bilingual } from '../../src/domain/bilingual.ts';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Locale, NoticeView } from '../../src/domain/notice.ts';
import type { ChannelPreview } from '../plugin.ts';
import type { PushPayload } from './push-payload.ts';

/** The channel tidies whitespace; only characters that are gone make a cut. */
const squeeze = (s: string) => s.replace(/\s+/gu, '');

/** The notification's title and body as the browser shows them. */
export function previewPush(rendered: PushPayload, view: NoticeView, locale: Locale): ChannelPreview {
  const { title, body } = rendered.notification;
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
    items: [
      { kind: 'title', text: title },
      { kind: 'text', text: body },
    ],
    warnings,
  };
}
