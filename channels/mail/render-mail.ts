import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta, type TemplateFunction } from 'eta';
import { CATEGORY_EN, SEVERITY_COLOUR, SEVERITY_WORD } from '../../src/domain/labels.ts';
import { markedTitle } from '../../src/domain/marks.ts';
import type { Locale, Mode, NoticeView, RevisionKind, Severity } from '../../src/domain/notice.ts';

/** One notice revision rendered for one locale, still holding UNSUBSCRIBE_URL_PLACEHOLDER. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Stands for the recipient's unsubscribe URL in a rendered batch. A batch of 100 shares
 * one rendering and each recipient costs one string replace instead of a template run:
 * nodemailer already spends ~0.5 ms of CPU per message, so a second full render per
 * recipient would be pure overhead. Only letters, digits and `_` so that HTML escaping
 * leaves it intact.
 */
export const UNSUBSCRIBE_URL_PLACEHOLDER = '__HIBIKI_UNSUBSCRIBE_URL__';
/** Stands for the recipient's manage link (topics, areas, language), in the same way. */
export const MANAGE_URL_PLACEHOLDER = '__HIBIKI_MANAGE_URL__';

export const DEFAULT_MAIL_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/mail/', import.meta.url));

interface LocaleTemplates {
  text: TemplateFunction;
  html: TemplateFunction;
}

/** Compiled mail templates; load once per process with loadMailTemplates(). */
export interface MailTemplates {
  readonly text: Eta;
  readonly html: Eta;
  readonly byLocale: Record<Locale, LocaleTemplates>;
}

/** Reads and compiles notice.<locale>.{txt,html}.eta once; throws naming the file that fails. */
export function loadMailTemplates(dir: string = DEFAULT_MAIL_TEMPLATES_DIR): MailTemplates {
  // Text must not be HTML-escaped; line breaks are controlled in the templates with `-%>`.
  const text = new Eta({ autoEscape: false, autoTrim: false });
  const html = new Eta({ autoEscape: true });
  const compile = (eta: Eta, file: string): TemplateFunction => {
    const filepath = join(dir, file);
    let source: string;
    try {
      source = readFileSync(filepath, 'utf8');
    } catch (cause) {
      throw new Error(`mail template ${filepath} cannot be read: set the mail templates directory`, { cause });
    }
    try {
      return eta.compile(source, { filepath });
    } catch (cause) {
      throw new Error(`mail template ${filepath} does not compile: ${(cause as Error).message}`, { cause });
    }
  };
  const forLocale = (locale: Locale): LocaleTemplates => ({
    text: compile(text, `notice.${locale}.txt.eta`),
    html: compile(html, `notice.${locale}.html.eta`),
  });
  return { text, html, byLocale: { ja: forLocale('ja'), en: forLocale('en') } };
}

export function mailSubject(notice: NoticeView, locale: Locale): string {
  return markedTitle({ ...notice, title: oneLine(notice.title) }, locale);
}

/** What the templates see; every field is plain text (the HTML templates escape it). */
export interface MailTemplateData {
  locale: Locale;
  subject: string;
  mode: Mode;
  kind: RevisionKind;
  title: string;
  body: string;
  /** The language of the staff's own words (title, body), for lang= in the English HTML. */
  contentLang: Locale;
  /** The body as paragraphs of lines, for <p> and <br> in HTML. */
  paragraphs: string[][];
  severity: Severity;
  severityLabel: string;
  severityColour: string;
  category: string;
  areas: string;
  issuedAt: string;
  expiresAt: string | null;
  /** When the revision this one corrects or withdraws was issued; null without one. */
  earlierIssuedAt: string | null;
  pageUrl: string;
  link: string | null;
  sender: string;
  unsubscribeUrl: string;
  manageUrl: string;
}

export function mailTemplateData(notice: NoticeView, locale: Locale): MailTemplateData {
  const en = locale === 'en';
  const clean = (s: string) => s.replaceAll(UNSUBSCRIBE_URL_PLACEHOLDER, '').replaceAll(MANAGE_URL_PLACEHOLDER, '');
  const body = clean(notice.body).replace(/\r\n?/g, '\n').trim();
  const sender = en ? notice.sender.nameEn : notice.sender.name;
  const areaNames = notice.areas.map((a) => (en ? a.nameEn : a.name));
  const latestEarlier = notice.earlier.at(-1);
  return {
    locale,
    subject: clean(mailSubject(notice, locale)),
    mode: notice.mode,
    kind: notice.kind,
    title: clean(oneLine(notice.title)),
    body,
    contentLang: /[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]/.test(notice.title + body) ? 'ja' : 'en',
    paragraphs: body === '' ? [] : body.split(/\n\s*\n/).map((p) => p.split('\n')),
    severity: notice.severity,
    severityLabel: SEVERITY_WORD[locale][notice.severity],
    severityColour: SEVERITY_COLOUR[notice.severity],
    category: en ? CATEGORY_EN[notice.category] : notice.category,
    // No areas means the whole city, which residents know by its name.
    areas: areaNames.length > 0 ? areaNames.join(en ? ', ' : '、') : sender,
    issuedAt: formatJst(notice.sentAt, locale),
    expiresAt: notice.expiresAt ? formatJst(notice.expiresAt, locale) : null,
    earlierIssuedAt: latestEarlier ? formatJst(latestEarlier.sentAt, locale) : null,
    pageUrl: notice.pageUrl,
    // Staff type the link; only web links go into a mail (no javascript: or data:).
    link: notice.link && /^https?:\/\//i.test(notice.link) ? notice.link : null,
    sender,
    unsubscribeUrl: UNSUBSCRIBE_URL_PLACEHOLDER,
    manageUrl: MANAGE_URL_PLACEHOLDER,
  };
}

/** Pure: the same notice and locale give the same subject, text and HTML. */
export function renderMail(notice: NoticeView, locale: Locale, templates: MailTemplates): RenderedMail {
  const data = mailTemplateData(notice, locale);
  const compiled = templates.byLocale[locale];
  return {
    subject: data.subject,
    text: templates.text.render(compiled.text, data),
    html: templates.html.render(compiled.html, data),
  };
}

/**
 * The batch rendering with one recipient's unsubscribe and manage URLs in place of the
 * placeholders. Without a manage URL (callers outside the service, e.g. benchmarks) the
 * unsubscribe page stands in for it.
 */
export function personaliseMail(mail: RenderedMail, unsubscribeUrl: string, manageUrl = unsubscribeUrl): RenderedMail {
  return {
    subject: mail.subject,
    text: mail.text
      .replaceAll(UNSUBSCRIBE_URL_PLACEHOLDER, unsubscribeUrl)
      .replaceAll(MANAGE_URL_PLACEHOLDER, manageUrl),
    html: mail.html
      .replaceAll(UNSUBSCRIBE_URL_PLACEHOLDER, escapeHtml(unsubscribeUrl))
      .replaceAll(MANAGE_URL_PLACEHOLDER, escapeHtml(manageUrl)),
  };
}

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/**
 * 2026年11月26日 19時39分 / 2026-11-26 19:39 JST. Computed from the UTC fields shifted by
 * nine hours (Japan has no daylight saving), so the output does not depend on the host's
 * time zone or ICU data.
 */
export function formatJst(date: Date, locale: Locale): string {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth() + 1;
  const da = d.getUTCDate();
  const h = d.getUTCHours();
  const mi = String(d.getUTCMinutes()).padStart(2, '0');
  if (locale === 'ja') return `${y}年${mo}月${da}日 ${h}時${mi}分`;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${y}-${pad(mo)}-${pad(da)} ${pad(h)}:${mi} JST`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The same escaping Eta applies to every interpolation in the HTML templates. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
