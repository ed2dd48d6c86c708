import type { ChannelPreview } from '../plugin.ts';
import { MANAGE_URL_PLACEHOLDER, type RenderedMail, UNSUBSCRIBE_URL_PLACEHOLDER } from './render-mail.ts';

/** The subject and the text part; the batch rendering holds placeholders for each recipient's own links. */
export function previewMail(rendered: RenderedMail): ChannelPreview {
  const text = rendered.text
    .replaceAll(UNSUBSCRIBE_URL_PLACEHOLDER, '（受信者ごとの配信停止リンク）')
    .replaceAll(MANAGE_URL_PLACEHOLDER, '（受信者ごとの設定変更リンク）');
  return {
    items: [
      { kind: 'field', label: { ja: '件名', en: 'Subject' }, value: rendered.subject },
      { kind: 'text', text },
    ],
    warnings: [],
  };
}
