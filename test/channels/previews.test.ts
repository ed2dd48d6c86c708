import { describe, expect, it } from 'vitest';
import { mailPlugin } from '../../channels/mail/index.ts';
import { MANAGE_URL_PLACEHOLDER, UNSUBSCRIBE_URL_PLACEHOLDER } from '../../channels/mail/render-mail.ts';
import { webhookPlugin } from '../../channels/webhook/index.ts';
import { xPlugin } from '../../channels/x/index.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

/** Each plug-in's console preview, from its own channel's rendering (the console only draws it). */
describe('channel previews', () => {
  const view = makeNoticeView();

  it('mail: the subject as a field, each recipient’s own links said in words', () => {
    const preview = mailPlugin.preview(
      { subject: '件名', text: `本文\n${UNSUBSCRIBE_URL_PLACEHOLDER}\n${MANAGE_URL_PLACEHOLDER}`, html: '' },
      view,
      'ja',
    );
    expect(preview.items).toEqual([
      { kind: 'field', label: { ja: '件名', en: 'Subject' }, value: '件名' },
      { kind: 'text', text: '本文\n（受信者ごとの配信停止リンク）\n（受信者ごとの設定変更リンク）' },
    ]);
    expect(preview.warnings).toEqual([]);
  });

  it('x: each post with its weight, a thread and a cut said, and the count shown by the body', () => {
    const preview = xPlugin.preview({ texts: ['あ', 'abc'], truncated: true }, view, 'ja');
    expect(preview.items).toEqual([
      {
        kind: 'posts',
        posts: [
          { text: 'あ', note: { ja: '2 / 280', en: 'weighted characters' } },
          { text: 'abc', note: { ja: '3 / 280', en: 'weighted characters' } },
        ],
      },
    ]);
    expect(preview.warnings.map((w) => w.en)).toEqual([
      'Long text: posted as a thread of 2',
      'The end is cut; the link leads to the whole text',
    ]);
    expect(preview.count).toBe('X: 2件 / 2+3字');
  });

  it('webhook: the payload indented as JSON', () => {
    const preview = webhookPlugin.preview({ type: 'notice.published', body: '{"a":1}' }, view, 'en');
    expect(preview.items).toEqual([{ kind: 'text', text: '{\n  "a": 1\n}' }]);
  });
});
