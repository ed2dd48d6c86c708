import type { Category, Locale, Severity } from './notice.ts';

/**
 * How a notice's severity and category read on every channel and page, so residents see
 * the same words and colours in their mail, on LINE and on the notice page.
 */
export const SEVERITY_WORD: Record<Locale, Record<Severity, string>> = {
  ja: { emergency: '緊急', warning: '警戒', advisory: '注意', info: 'お知らせ' },
  en: { emergency: 'Emergency', warning: 'Warning', advisory: 'Advisory', info: 'Information' },
};

/** Dark enough for white text (WCAG AA); the word beside it carries the meaning, never the colour alone. */
export const SEVERITY_COLOUR: Record<Severity, string> = {
  emergency: '#b00020',
  warning: '#a34700',
  advisory: '#735600',
  info: '#1f5fa8',
};

export const CATEGORY_EN: Record<Category, string> = {
  避難情報: 'Evacuation information',
  避難所情報: 'Shelter information',
  被害情報: 'Damage reports',
  気象情報: 'Weather information',
  お知らせ: 'Announcements',
  イベント情報: 'Events',
};
