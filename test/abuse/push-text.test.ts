import { describe, expect, it } from 'vitest';
import {
  BODY_GRAPHEMES,
  cutText,
  PUSH_LIMITS,
  renderPush,
  TITLE_GRAPHEMES,
} from '../../channels/webpush/push-payload.ts';
import { DEFAULT_TOPICS } from '../../src/domain/catalogue.ts';
import { emptyNoticeForm, parseNoticeForm } from '../../src/web/console/notice-form.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

/**
 * Issue 12, finding 13: push's text cleaning used the regex `[ \t\u3000]*\n[ \t\u3000]*`, which
 * backtracks over every run of spaces (155 ms for 20,000 spaces, quadratic beyond), and
 * cut the text only after segmenting all of it. Every assertion is on the result (speed
 * is not asserted in tests); a quadratic cleaning shows here as a test that takes seconds.
 */

const graphemes = (s: string) => Array.from(new Intl.Segmenter('ja', { granularity: 'grapheme' }).segment(s)).length;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('push text cleaning (issue 12, finding 13)', () => {
  it('a body of 20,000 spaces around its lines comes out as its lines, bounded', () => {
    const body = `避難所を開設しました。${' '.repeat(20_000)}\n${' \u3000\t'.repeat(5_000)}\n\n${' '.repeat(20_000)}食料と水をお持ちください。`;
    const push = renderPush(makeNoticeView({ body }), 'ja', 60);
    expect(push.notification.body).toBe('避難所を開設しました。\n食料と水をお持ちください。');
    expect(bytes(push.json)).toBeLessThanOrEqual(PUSH_LIMITS.plaintextBytes);
  });

  it('20,000 spaces inside a title and a body: the notification stays within its limits', () => {
    const push = renderPush(
      makeNoticeView({ title: `避難指示${' '.repeat(20_000)}発令`, body: `避難${' '.repeat(20_000)}してください` }),
      'ja',
      60,
    );
    expect(graphemes(push.notification.title)).toBeLessThanOrEqual(TITLE_GRAPHEMES);
    expect(graphemes(push.notification.body)).toBeLessThanOrEqual(BODY_GRAPHEMES);
    expect(push.notification.title.startsWith('避難指示')).toBe(true);
    expect(push.notification.body).toBe('避難…');
    expect(bytes(push.json)).toBeLessThanOrEqual(PUSH_LIMITS.plaintextBytes);
  });

  it('200,000 spaces inside a line: the notification is cut as usual', () => {
    // The backtracking regex spent 17 s on this (quadratic: 132 ms for 20,000); the linear
    // cleaning under a millisecond. The assertion is on the result only.
    const push = renderPush(makeNoticeView({ body: `開設${' '.repeat(200_000)}しました。` }), 'ja', 60);
    expect(push.notification.body).toBe('開設…');
  });

  it('cuts a preview of a million graphemes to its limit without segmenting the rest', () => {
    const long = '避'.repeat(1_000_000);
    const cut = cutText(long, BODY_GRAPHEMES);
    expect(graphemes(cut)).toBe(BODY_GRAPHEMES);
    expect(cut.endsWith('…')).toBe(true);
    expect(cutText('短い本文。', BODY_GRAPHEMES)).toBe('短い本文。');
  });
});

describe('console title cleaning (issue 12, finding 13: the same backtracking pattern)', () => {
  const choices = { catalogue: { topics: DEFAULT_TOPICS, areas: [] }, channels: ['mail' as const] };
  const form = (title: string) => ({ ...emptyNoticeForm(['mail']), title, body: '本文', topics: ['disaster'] });

  it('joins a title’s lines with one space, and refuses 200,000 spaces inside one as too long', () => {
    const ok = parseNoticeForm(form('  避難所の\n \n 開設について  '), choices, { canSendEmergency: false });
    expect(ok).toMatchObject({ ok: true, input: { title: '避難所の 開設について' } });
    const long = parseNoticeForm(form(`避難${' '.repeat(200_000)}開設`), choices, { canSendEmergency: false });
    expect(long).toMatchObject({
      ok: false,
      errors: { title: [expect.objectContaining({ en: expect.stringContaining('At most 200') })] },
    });
  });
});
