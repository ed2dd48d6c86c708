import type { NoticeView } from '../../src/domain/notice.ts';

/**
 * A complete, realistic NoticeView (a routine revision 1 for the whole city of Kikuchi)
 * with any field replaced. Dates are fixed so rendered output is stable across runs:
 * sentAt is 2026-11-26 19:39 JST.
 */
export function makeNoticeView(overrides: Partial<NoticeView> = {}): NoticeView {
  const id = overrides.id ?? 'n01kzz8x5d3qv7m2r4t6w8y0ab';
  const revision = overrides.revision ?? 1;
  return {
    id,
    revision,
    kind: 'alert',
    title: '避難所の開設について',
    body: '本日19時より、市内の避難所を開設しました。\n避難の際は、食料と水をお持ちください。\n\n開設した避難所は、市のウェブページでご確認ください。',
    severity: 'info',
    category: '避難所情報',
    mode: 'actual',
    topics: ['disaster', 'shelter'],
    areas: [],
    link: null,
    pageUrl: `https://hibiki.example.jp/notices/${id}`,
    capIdentifier: `urn:oid:hibiki.example.jp:${id}:r${revision}`,
    capUrl: `https://hibiki.example.jp/feeds/cap/urn%3Aoid%3Ahibiki.example.jp%3A${id}%3Ar${revision}.xml`,
    sentAt: new Date('2026-11-26T10:39:00Z'),
    expiresAt: null,
    earlier: [],
    sender: { name: '菊池市', nameEn: 'Kikuchi City' },
    ...overrides,
  };
}
