import type { Bilingual, FieldErrors } from './bilingual.ts';
import type { Category, Locale, Severity } from './notice.ts';
/**
 * Fixed notice templates that staff pick and fill in on the console, as J-ALERT operators
 * do: the wording is agreed beforehand, staff supply only the areas, times and facts.
 * Filling is plain substitution of `{{key}}`, in one pass, so nothing staff type is ever
 * run or expanded again.
 */

export const TEMPLATE_FIELD_KINDS = ['text', 'textarea', 'area-list', 'datetime'] as const;
export type TemplateFieldKind = (typeof TEMPLATE_FIELD_KINDS)[number];

export interface TemplateField {
  /** The placeholder name: `{{key}}` in the title or body. */
  key: string;
  label: string;
  labelEn: string;
  kind: TemplateFieldKind;
  required: boolean;
  /** A value that fills the field correctly; the console may show it as a placeholder. */
  example?: string;
  hint?: string;
  hintEn?: string;
}

export interface NoticeTemplate {
  /** kebab-case, unique across the templates folder. */
  id: string;
  /** Position in the console's list; templates without it come after, by name. */
  order?: number;
  name: string;
  nameEn: string;
  severity: Severity;
  category: Category;
  topics: string[];
  title: string;
  body: string;
  /** The English version, for the English column; both or neither. */
  titleEn?: string;
  bodyEn?: string;
  fields: TemplateField[];
}

/** A filled-in field: one string, or for an area list the entries (names, or names in both languages). */
export type TemplateValue = string | readonly (string | Bilingual)[];
export type TemplateValues = Readonly<Record<string, TemplateValue | undefined>>;

export interface FilledNotice {
  title: string;
  body: string;
  /** Present when the result is Japanese and the template has an English version. */
  titleEn?: string;
  bodyEn?: string;
  severity: Severity;
  category: Category;
  topics: string[];
}

/** A result rather than an exception: the console shows the reasons beside each field and asks again. */
export type FillResult = { ok: true; notice: FilledNotice } | { ok: false; fields: FieldErrors };

/** Longest value per kind (characters, after trimming). */
export const FIELD_MAX_LENGTH: Record<TemplateFieldKind, number> = {
  text: 200,
  textarea: 2_000,
  'area-list': 2_000,
  datetime: 40,
};
export const AREA_LIST_MAX_ENTRIES = 100;
/** The API's limits on a notice (src/api/notices.ts), so a filled template can always be posted. */
export const NOTICE_TITLE_MAX = 200;
export const NOTICE_BODY_MAX = 20_000;

/** `{{key}}`: anything between double braces, checked against the declared keys when a template loads. */
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

export interface Placeholder {
  /** The text between the braces, as written. */
  name: string;
  /** The whole placeholder, braces included. */
  raw: string;
}

export function placeholdersIn(text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1] ?? '', raw: m[0] }));
}

/** Braces left over once every `{{…}}` is taken out: a placeholder someone forgot to close. */
export function hasStrayBraces(text: string): boolean {
  const rest = text.replace(PLACEHOLDER, '');
  return rest.includes('{{') || rest.includes('}}');
}

// C0/C1 controls other than tab and line feed, and the bidi overrides that make text read
// differently from how it is stored; none belongs in a notice.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/;
const JST_OFFSET_MS = 9 * 60 * 60 * 1000;
const MONTHS_EN = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** 2026-11-26T19:40 (a datetime-local input, read as JST) or with an offset; undefined if not a real time. */
export function parseTemplateDateTime(text: string): Date | undefined {
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [, y = '', mo = '', d = '', h = '', mi = '', s = '00', zone = '+09:00'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  // Date would roll 2026-02-30 over into March; a mistyped day must be an error instead.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** 11月26日19時40分 / 19:40 on 26 November, in JST: the way a notice states a time. */
function formatDateTime(date: Date, locale: Locale): string {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  const minutes = String(d.getUTCMinutes()).padStart(2, '0');
  if (locale === 'ja') return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日${d.getUTCHours()}時${minutes}分`;
  return `${String(d.getUTCHours()).padStart(2, '0')}:${minutes} on ${d.getUTCDate()} ${MONTHS_EN[d.getUTCMonth()]}`;
}

/** A field's value made ready for both languages, or the reasons it cannot be used. */
type Checked = { ok: true; text: Record<Locale, string> } | { ok: false; reasons: Bilingual[] };

const label = (field: TemplateField) => ({ ja: `「${field.label}」`, en: field.labelEn });

function tooLong(field: TemplateField, max: number, length: number): Bilingual {
  const l = label(field);
  return {
    ja: `${l.ja}は${max}文字以内にしてください（現在${length}文字）`,
    en: `${l.en}: at most ${max} characters (now ${length})`,
  };
}

function forbiddenChars(field: TemplateField): Bilingual {
  const l = label(field);
  return {
    ja: `${l.ja}に送信できない制御文字が含まれています。文字を入力し直してください`,
    en: `${l.en}: contains control characters that cannot be sent; type the text again`,
  };
}

/** Area lists come as entries, or as one string split at line breaks and 、 or commas. */
function areaEntries(value: TemplateValue): (string | Bilingual)[] {
  const raw = typeof value === 'string' ? value.split(/[\r\n、,，]+/) : [...value];
  return raw
    .map((e) => (typeof e === 'string' ? e.trim() : { ja: String(e.ja).trim(), en: String(e.en).trim() }))
    .filter((e) => (typeof e === 'string' ? e !== '' : e.ja !== ''));
}

/**
 * Checks one value against its field and renders it for each language. Empty counts as
 * not given. Exported so a template's own examples are checked the same way when it loads.
 */
export function checkFieldValue(field: TemplateField, value: TemplateValue | undefined): Checked | undefined {
  const l = label(field);
  if (field.kind === 'area-list') {
    const entries = value === undefined ? [] : areaEntries(value);
    if (entries.length === 0) return undefined;
    if (entries.length > AREA_LIST_MAX_ENTRIES) {
      return {
        ok: false,
        reasons: [
          {
            ja: `${l.ja}は${AREA_LIST_MAX_ENTRIES}件までです（現在${entries.length}件）`,
            en: `${l.en}: at most ${AREA_LIST_MAX_ENTRIES} entries (now ${entries.length})`,
          },
        ],
      };
    }
    const ja = entries.map((e) => (typeof e === 'string' ? e : e.ja)).join('、');
    const en = entries.map((e) => (typeof e === 'string' ? e : e.en || e.ja)).join(', ');
    if (FORBIDDEN_CHARS.test(ja) || FORBIDDEN_CHARS.test(en)) return { ok: false, reasons: [forbiddenChars(field)] };
    const max = FIELD_MAX_LENGTH['area-list'];
    const longest = Math.max(ja.length, en.length);
    if (longest > max) return { ok: false, reasons: [tooLong(field, max, longest)] };
    return { ok: true, text: { ja, en } };
  }

  if (value !== undefined && typeof value !== 'string') {
    return {
      ok: false,
      reasons: [{ ja: `${l.ja}には値を一つだけ入力してください`, en: `${l.en}: give one value, not a list` }],
    };
  }
  const text = (value ?? '').replace(/\r\n?/g, '\n').trim();
  if (text === '') return undefined;
  const max = FIELD_MAX_LENGTH[field.kind];
  if (text.length > max) return { ok: false, reasons: [tooLong(field, max, text.length)] };
  if (FORBIDDEN_CHARS.test(text)) return { ok: false, reasons: [forbiddenChars(field)] };

  switch (field.kind) {
    case 'text':
      if (text.includes('\n')) {
        return { ok: false, reasons: [{ ja: `${l.ja}に改行は入れられません`, en: `${l.en}: no line breaks` }] };
      }
      return { ok: true, text: { ja: text, en: text } };
    case 'textarea':
      return { ok: true, text: { ja: text, en: text } };
    case 'datetime': {
      const date = parseTemplateDateTime(text);
      if (!date) {
        return {
          ok: false,
          reasons: [
            {
              ja: `${l.ja}は 2026-11-26T19:40 の形式（日本時間）で、実在する日時を入力してください`,
              en: `${l.en}: enter a real date and time such as 2026-11-26T19:40 (JST)`,
            },
          ],
        };
      }
      return { ok: true, text: { ja: formatDateTime(date, 'ja'), en: formatDateTime(date, 'en') } };
    }
  }
}

/**
 * Substitutes in one pass over the template text: a value is inserted as it is and never
 * scanned again, so `{{other}}`, `<%= x %>` or `${x}` typed by staff stay literal. A line
 * whose placeholders are all empty optional fields is left out, so "避難所：" does not
 * stand alone; runs of blank lines that leaves are closed up.
 */
function substitute(text: string, rendered: ReadonlyMap<string, string>): string {
  const lines = text.split('\n').flatMap((line) => {
    const used = placeholdersIn(line);
    if (used.length > 0 && used.every((p) => !rendered.get(p.name))) return [];
    return [line.replace(PLACEHOLDER, (_, key: string) => rendered.get(key) ?? '')];
  });
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const addReason = (fields: FieldErrors, key: string, reason: Bilingual) => {
  const list = fields[key] ?? [];
  list.push(reason);
  fields[key] = list;
};

/**
 * Fills a template with the values staff entered. Values are trimmed; keys that are not
 * fields of the template are ignored (a console form posts more than the fields).
 * `locale` chooses the language of title and body: with 'ja' (the default) the English
 * version, when the template has one, comes as titleEn/bodyEn beside them; with 'en' the
 * English text is the title and body (the Japanese, if the template has no English).
 * Returns the reasons per field key instead of throwing.
 */
export function fillNoticeTemplate(
  template: NoticeTemplate,
  values: TemplateValues,
  locale: Locale = 'ja',
): FillResult {
  const fields: FieldErrors = {};
  const rendered: Record<Locale, Map<string, string>> = { ja: new Map(), en: new Map() };
  for (const field of template.fields) {
    const checked = checkFieldValue(field, values[field.key]);
    if (checked === undefined) {
      if (field.required) {
        addReason(fields, field.key, {
          ja: `${label(field).ja}を入力してください`,
          en: `${field.labelEn} is required`,
        });
      }
      continue;
    }
    if (!checked.ok) {
      for (const reason of checked.reasons) addReason(fields, field.key, reason);
      continue;
    }
    rendered.ja.set(field.key, checked.text.ja);
    rendered.en.set(field.key, checked.text.en);
  }
  if (Object.keys(fields).length > 0) return { ok: false, fields };

  const ja = { title: substitute(template.title, rendered.ja), body: substitute(template.body, rendered.ja) };
  const en =
    template.titleEn !== undefined && template.bodyEn !== undefined
      ? { title: substitute(template.titleEn, rendered.en), body: substitute(template.bodyEn, rendered.en) }
      : undefined;

  // The values fit their fields but may still make the notice longer than the API takes:
  // name the fields that went into the part that is too long.
  for (const [part, max, text, source] of [
    ['title', NOTICE_TITLE_MAX, ja.title, template.title],
    ['body', NOTICE_BODY_MAX, ja.body, template.body],
    ['title', NOTICE_TITLE_MAX, en?.title ?? '', template.titleEn ?? ''],
    ['body', NOTICE_BODY_MAX, en?.body ?? '', template.bodyEn ?? ''],
  ] as const) {
    if (text.length <= max) continue;
    const keys = new Set(placeholdersIn(source).map((p) => p.name));
    for (const field of template.fields.filter((f) => keys.has(f.key) && rendered.ja.has(f.key))) {
      addReason(fields, field.key, {
        ja: `入力した内容で${part === 'title' ? '件名' : '本文'}が${max}文字を超えます（${text.length}文字）。短くしてください`,
        en: `with this value the ${part} is longer than ${max} characters (${text.length}); shorten it`,
      });
    }
  }
  if (Object.keys(fields).length > 0) return { ok: false, fields };

  const common = { severity: template.severity, category: template.category, topics: [...template.topics] };
  if (locale === 'en') return { ok: true, notice: { ...(en ?? ja), ...common } };
  return {
    ok: true,
    notice: en ? { ...ja, titleEn: en.title, bodyEn: en.body, ...common } : { ...ja, ...common },
  };
}

/** Each field's example, for a preview before staff type anything (and for tests). */
export function templateExampleValues(template: NoticeTemplate): Record<string, string> {
  return Object.fromEntries(
    template.fields.flatMap((f) => (f.example === undefined ? [] : [[f.key, f.example] as const])),
  );
}
