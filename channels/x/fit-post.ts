import twitterText from 'twitter-text';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Locale, NoticeView } from '../../src/domain/notice.ts';

/**
 * Turns a notice into X post texts within X's weighted length, as twitter-text 3 counts
 * it (the count X itself applies): CJK, kana, full-width forms and emoji 2, Latin 1,
 * any URL 23 whatever its length, limit 280.
 *
 * Layout of a post (lines):
 *   【訂正】title          first post only; cut with … beyond X_TITLE_MAX_WEIGHT
 *   (blank line)
 *   body part             the body's opening in the first post
 *   https://…/notices/id  the notice's public page: first and last post
 *   (1/3)                 only in a thread of more than one post
 *
 * Pure and deterministic: the same notice, locale and options give the same texts.
 */

export const X_MAX_WEIGHT = 280;
/** A title longer than this (80 kanji) is cut with …, so the first post keeps room for the body. */
export const X_TITLE_MAX_WEIGHT = 160;

export type XLongText = 'thread' | 'cut';

export interface FitOptions {
  /** thread: the rest of the body follows as numbered replies; cut: one post ending in …. */
  longText: XLongText;
  /** At most this many posts in a thread (the last is cut with … when the body needs more). */
  threadMax: number;
}

/** A notice revision rendered for X. */
export interface XPost {
  /** texts[0] is the first post; each later text is posted as a reply to the one before it. */
  texts: string[];
  /** Part of the body is not in the posts (cut mode, or a thread longer than threadMax): the link has it all. */
  truncated: boolean;
}

const CANCELLED: Record<Locale, string> = {
  ja: 'このお知らせは取り消されました。',
  en: 'This notice has been cancelled.',
};

const ELLIPSIS = '…';

/**
 * A post holds at most 280 steps (a grapheme or a whole URL, each weighing at least 1), so
 * no candidate end beyond this many steps from a chunk's start needs weighing.
 */
const WINDOW_STEPS = 400;

const graphemes = new Intl.Segmenter('ja', { granularity: 'grapheme' });

export function weightOf(text: string): number {
  return twitterText.parseTweet(text).weightedLength;
}

export function fitPost(notice: NoticeView, locale: Locale, options: FitOptions): XPost {
  const title = fitTitle(markedTitle({ ...notice, title: oneLine(notice.title) }, locale));
  const link = notice.pageUrl;
  let body = cleanBody(notice.body);

  // A cancellation repeats none of the withdrawn instructions: one short post, always.
  if (notice.kind === 'cancel') body = [CANCELLED[locale], body].filter(Boolean).join('\n');

  const c = cuttable(body);
  const whole = compose(body, { title, link });
  // More steps than a post can hold never fit; a 17,000-character body is not weighed whole.
  if (c.bounds.length - 1 <= WINDOW_STEPS && weightOf(whole) <= X_MAX_WEIGHT) {
    return { texts: [whole], truncated: false };
  }

  const threadMax = Math.max(1, Math.floor(options.threadMax));
  if (notice.kind === 'cancel' || options.longText === 'cut' || threadMax === 1) {
    return { texts: [cutPost(c, { title, link })], truncated: true };
  }
  return thread(c, title, link, threadMax);
}

/** What a post has besides its body chunk. */
interface Frame {
  title?: string;
  link?: string;
  marker?: string;
  ellipsis?: boolean;
}

function compose(chunk: string, frame: Frame): string {
  const bodyPart = chunk ? `${chunk}${frame.ellipsis ? ELLIPSIS : ''}` : '';
  let text = frame.title && bodyPart ? `${frame.title}\n\n${bodyPart}` : (frame.title ?? bodyPart);
  if (frame.link) text = text ? `${text}\n${frame.link}` : frame.link;
  if (frame.marker) text = text ? `${text}\n${frame.marker}` : frame.marker;
  return text;
}

/** Text with the positions where it may be cut: grapheme boundaries, never inside a URL. */
interface Cuttable {
  text: string;
  /** Ascending UTF-16 offsets, from 0 to text.length. */
  bounds: number[];
}

function cuttable(text: string): Cuttable {
  // Indices are UTF-16 offsets, as String#slice takes them.
  const urls = twitterText.extractUrlsWithIndices(text).map((u) => u.indices);
  const bounds: number[] = [];
  let u = 0;
  for (const { index } of graphemes.segment(text)) {
    while (u < urls.length && (urls[u]?.[1] ?? 0) <= index) u++;
    const url = urls[u];
    // A cut inside a URL would leave a link that leads nowhere (or somewhere else).
    if (url && url[0] < index && index < url[1]) continue;
    bounds.push(index);
  }
  if (bounds.at(-1) !== text.length) bounds.push(text.length);
  return { text, bounds };
}

function chunkOf(c: Cuttable, from: number, to: number): string {
  return c.text.slice(c.bounds[from], c.bounds[to]).trim();
}

/**
 * The last bound index j in (from, limit] whose chunk fits the frame within 280, or -1
 * when not even one step does. Weight grows with the chunk except around URLs (a partial
 * domain is plain text, the whole one 23), so the search may settle short of the true
 * maximum, but what it returns always fits.
 */
function longestFit(c: Cuttable, from: number, frame: Frame, limit = c.bounds.length - 1): number {
  const fits = (j: number) => weightOf(compose(chunkOf(c, from, j), frame)) <= X_MAX_WEIGHT;
  let lo = from + 1;
  let hi = Math.min(limit, from + WINDOW_STEPS);
  if (lo > hi || !fits(lo)) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const BREAK_NONE = 0;
const BREAK_CLAUSE = 1;
const BREAK_SENTENCE = 2;
const SENTENCE_END = '。．！？!?';
const CLAUSE_END = '、，,；;：:';
const CLOSERS = '」』）)］]】〕”’"\'';

/** How good a place to cut offset p is: after a line break or sentence, after a clause, or anywhere. */
function breakClass(text: string, p: number): number {
  let i = p;
  let newline = false;
  while (i > 0 && /\s/u.test(text[i - 1] ?? '')) {
    if (text[i - 1] === '\n') newline = true;
    i--;
  }
  if (newline) return BREAK_SENTENCE;
  const spaced = i < p || p === text.length || /\s/u.test(text[p] ?? '');
  let k = i;
  while (k > 0 && CLOSERS.includes(text[k - 1] ?? '')) k--;
  const ch = text[k - 1] ?? '';
  if (SENTENCE_END.includes(ch)) return BREAK_SENTENCE;
  // "3.5" is not a sentence end; ". " is.
  if (ch === '.' && spaced) return BREAK_SENTENCE;
  if (CLAUSE_END.includes(ch)) return BREAK_CLAUSE;
  return spaced ? BREAK_CLAUSE : BREAK_NONE;
}

/**
 * Where to cut, given that everything up to bound `max` fits: the last sentence or line
 * end, else the last clause end (、) or space, found in the second half of what fits;
 * else `max` itself (a long run without punctuation is cut between two graphemes).
 * In a thread every weight wasted is body that may not fit at all, so there a clause end
 * in the last quarter beats a sentence end further back; a single cut post (which
 * ends in … anyway) rather ends on a whole sentence.
 */
function chooseCut(c: Cuttable, from: number, max: number, frame: Frame, packed: boolean): number {
  const start = c.bounds[from] ?? 0;
  const span = (c.bounds[max] ?? start) - start;
  const best = { sentence: [-1, -1], clause: [-1, -1] };
  for (let j = max; j > from; j--) {
    const at = (c.bounds[j] ?? 0) - start;
    if (at < span / 2) break;
    const zone = at >= (span * 3) / 4 ? 0 : 1;
    const kind = breakClass(c.text, c.bounds[j] ?? 0);
    if (kind === BREAK_SENTENCE && best.sentence[zone] === -1) best.sentence[zone] = j;
    if (kind >= BREAK_CLAUSE && best.clause[zone] === -1) best.clause[zone] = j;
  }
  const order = packed
    ? [best.sentence[0], best.clause[0], best.sentence[1], best.clause[1]]
    : [best.sentence[0], best.sentence[1], best.clause[0], best.clause[1]];
  const pick = order.find((j): j is number => j !== undefined && j >= 0);
  if (pick === undefined || pick === max) return max;
  // Rechecked: around a URL a shorter chunk can weigh more than a longer one.
  return weightOf(compose(chunkOf(c, from, pick), frame)) <= X_MAX_WEIGHT ? pick : max;
}

/** One post: as much of the body as fits, cut at a good place, with … and the frame. */
function cutPost(c: Cuttable, frame: Frame): string {
  const withEllipsis = { ...frame, ellipsis: true };
  const max = longestFit(c, 0, withEllipsis);
  if (max < 0) return compose('', frame);
  return compose(chunkOf(c, 0, chooseCut(c, 0, max, withEllipsis, false)), withEllipsis);
}

function thread(c: Cuttable, title: string, link: string, threadMax: number): XPost {
  // Planned with the widest marker the thread can have; the real "(k/n)" is never wider
  // (n ≤ threadMax, digits weigh 1 each), so a planned post can only get shorter.
  const widest = `(${threadMax}/${threadMax})`;
  const last = c.bounds.length - 1;
  const planned: Array<{ chunk: string; frame: Frame }> = [];
  let from = 0;
  let truncated = false;
  for (let k = 1; k <= threadMax; k++) {
    const first = k === 1;
    const closing: Frame = { ...(first ? { title } : {}), link, marker: widest };
    const rest = chunkOf(c, from, last);
    if (last - from <= WINDOW_STEPS && weightOf(compose(rest, closing)) <= X_MAX_WEIGHT) {
      planned.push({ chunk: rest, frame: closing });
      break;
    }
    if (k === threadMax) {
      // The last post allowed: the body is cut with … (at a sentence end if one is near)
      // and the link still closes the thread.
      const frame = { ...closing, ellipsis: true };
      const max = longestFit(c, from, frame);
      planned.push({ chunk: max < 0 ? '' : chunkOf(c, from, chooseCut(c, from, max, frame, false)), frame });
      truncated = true;
      break;
    }
    const frame: Frame = first ? { title, link, marker: widest } : { marker: widest };
    // Stop one step short of the end, so the closing post has some body beside the link.
    const max = longestFit(c, from, frame, last - 1);
    if (max < 0) {
      planned.push({ chunk: '', frame });
      continue;
    }
    const to = chooseCut(c, from, max, frame, true);
    planned.push({ chunk: chunkOf(c, from, to), frame });
    from = to;
  }
  const n = planned.length;
  const texts = planned.map(({ chunk, frame }, i) =>
    compose(chunk, { ...frame, ...(n > 1 ? { marker: `(${i + 1}/${n})` } : { marker: undefined }) }),
  );
  for (const text of texts) {
    // Cannot happen by construction; a post X would refuse must not reach the queue.
    if (weightOf(text) > X_MAX_WEIGHT) throw new Error(`an X post came out at ${weightOf(text)} > ${X_MAX_WEIGHT}`);
  }
  return { texts, truncated };
}

function fitTitle(title: string): string {
  if (weightOf(title) <= X_TITLE_MAX_WEIGHT) return title;
  const c = cuttable(title);
  let lo = 0;
  let hi = Math.min(c.bounds.length - 1, WINDOW_STEPS);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (weightOf(`${chunkOf(c, 0, mid)}${ELLIPSIS}`) <= X_TITLE_MAX_WEIGHT) lo = mid;
    else hi = mid - 1;
  }
  return `${chunkOf(c, 0, lo)}${ELLIPSIS}`;
}

/**
 * twitter-text's invalid characters (X refuses a post holding them), control characters
 * and lone surrogates go; the rest is NFC, which is what X counts and stores.
 */
function clean(text: string): string {
  return text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(/[\uFFFE\uFEFF\uFFFF]|(?!\n)\p{Cc}/gu, '');
}

function cleanBody(body: string): string {
  return clean(body)
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function oneLine(text: string): string {
  return clean(text).replace(/\s+/gu, ' ').trim();
}
