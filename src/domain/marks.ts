import type { Locale, Mode, RevisionKind, Severity } from './notice.ts';

/**
 * The marks before a notice's title on every channel (mail subject, CAP headline, later
 * X, LINE and push), so residents see the same words wherever they read it. Exercises and
 * tests are both 【訓練】 in Japanese, as DESIGN.md asks: a resident should never take
 * either for a real alert.
 */
const MARKS: Record<
  Locale,
  { drill: Record<Exclude<Mode, 'actual'>, string>; emergency: string; update: string; cancel: string }
> = {
  ja: {
    drill: { exercise: '【訓練】', test: '【訓練】' },
    emergency: '【緊急】',
    update: '【訂正】',
    cancel: '【取消】',
  },
  en: {
    drill: { exercise: '[DRILL]', test: '[TEST]' },
    emergency: '[EMERGENCY]',
    update: '[CORRECTION]',
    cancel: '[CANCELLED]',
  },
};

export function noticeMarks(notice: { mode: Mode; severity: Severity; kind: RevisionKind }, locale: Locale): string[] {
  const m = MARKS[locale];
  const marks: string[] = [];
  if (notice.mode !== 'actual') marks.push(m.drill[notice.mode]);
  if (notice.severity === 'emergency') marks.push(m.emergency);
  if (notice.kind === 'update') marks.push(m.update);
  if (notice.kind === 'cancel') marks.push(m.cancel);
  return marks;
}

/** The title with its marks: 【訓練】【緊急】避難指示… / [DRILL] [EMERGENCY] … */
export function markedTitle(
  notice: { mode: Mode; severity: Severity; kind: RevisionKind; title: string },
  locale: Locale,
): string {
  const marks = noticeMarks(notice, locale).filter((mark) => !notice.title.includes(mark));
  if (marks.length === 0) return notice.title;
  return locale === 'ja' ? `${marks.join('')}${notice.title}` : `${marks.join(' ')} ${notice.title}`;
}
