import { randomBytes } from 'node:crypto';
import type { Bilingual } from '../../domain/bilingual.ts';
import type { Catalogue } from '../../domain/catalogue.ts';
import {
  CATEGORIES,
  type Category,
  type ChannelId,
  MODES,
  type Mode,
  SEVERITIES,
  type Severity,
} from '../../domain/notice.ts';
import { type FilledNotice, parseTemplateDateTime } from '../../domain/notice-templates.ts';
import type { Revision } from '../../domain/revision.ts';
import type { CorrectionInput, NoticeInput, ResubmitInput } from '../../services/notices/index.ts';
/**
 * The console's notice form: what staff typed (kept as typed, so a form with an error comes
 * back exactly as it was sent) and its translation into the service's NoticeInput. The
 * form's field names are NoticeInput's keys, so the service's own field errors land next
 * to the right control without a mapping.
 */

export const NOTICE_FORM_FIELDS = [
  'title',
  'body',
  'severity',
  'category',
  'topics',
  'areas',
  'channels',
  'mode',
  'scheduledAt',
  'expiresAt',
  'department',
  'link',
  'requestApproval',
  'comment',
] as const;
export type NoticeFormField = (typeof NOTICE_FORM_FIELDS)[number];

/** Reasons per field; `form` is for what belongs to no one field (the service refusing the whole notice). */
export type FormErrors = Partial<Record<NoticeFormField | 'form', Bilingual[]>>;

export interface NoticeFormValues {
  title: string;
  body: string;
  severity: string;
  category: string;
  topics: string[];
  areas: string[];
  channels: string[];
  mode: string;
  /** datetime-local text, read as JST; empty: now. */
  scheduledAt: string;
  /** datetime-local text, read as JST; empty: no expiry. */
  expiresAt: string;
  department: string;
  link: string;
  requestApproval: boolean;
  /** A note to the approvers (resubmission only). */
  comment: string;
  /**
   * A random value made when the form is first shown and carried through every re-render
   * and the confirmation page: the Idempotency-Key, so a double click sends once.
   */
  nonce: string;
}

/** What the deployment offers: the choices a form may hold. */
export interface FormChoices {
  catalogue: Pick<Catalogue, 'topics' | 'areas'>;
  channels: ChannelId[];
}

/** The API's limits (src/api/notices.ts), checked here too so the reason shows beside the field. */
export const FORM_LIMITS = { title: 200, body: 20_000, department: 60, link: 2_000, comment: 2_000 } as const;

export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;

/** A nonce as sent, or a fresh one when it is missing or not one of ours. */
export function nonceOf(values: Pick<NoticeFormValues, 'nonce'>): string {
  return NONCE.test(values.nonce) ? values.nonce : newNonce();
}

export function emptyNoticeForm(channels: ChannelId[]): NoticeFormValues {
  return {
    title: '',
    body: '',
    severity: 'info',
    category: 'お知らせ',
    topics: [],
    areas: [],
    channels: [...channels],
    mode: 'actual',
    scheduledAt: '',
    expiresAt: '',
    department: '',
    link: '',
    requestApproval: false,
    comment: '',
    nonce: newNonce(),
  };
}

/** A posted form as Hono's parseBody({ all: true }) gives it. */
export type FormBody = Record<string, string | File | (string | File)[]>;

/** One text field of a posted form; '' when absent. */
export const textOf = (body: FormBody, name: string): string => {
  const v = body[name];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : '';
};

const listOf = (body: FormBody, name: string): string[] => {
  const v = body[name];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === 'string' && x !== '');
};

/** Browsers send a textarea's line breaks as CRLF; the store and every channel expect LF. */
const lf = (s: string) => s.replace(/\r\n?/g, '\n');

/** The form as posted (Hono's parseBody with all: true). */
export function readNoticeForm(body: FormBody): NoticeFormValues {
  return {
    title: textOf(body, 'title'),
    body: lf(textOf(body, 'body')),
    severity: textOf(body, 'severity'),
    category: textOf(body, 'category'),
    topics: listOf(body, 'topics'),
    areas: listOf(body, 'areas'),
    channels: listOf(body, 'channels'),
    mode: textOf(body, 'mode') || 'actual',
    scheduledAt: textOf(body, 'scheduledAt').trim(),
    expiresAt: textOf(body, 'expiresAt').trim(),
    department: textOf(body, 'department'),
    link: textOf(body, 'link').trim(),
    requestApproval: textOf(body, 'requestApproval') === 'true',
    comment: lf(textOf(body, 'comment')),
    nonce: textOf(body, 'nonce'),
  };
}

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** The value a datetime-local input shows for an instant: JST, to the minute. */
export function toDatetimeLocalJst(date: Date | null): string {
  return date ? new Date(date.getTime() + JST_OFFSET_MS).toISOString().slice(0, 16) : '';
}

/** The form showing a stored revision, for a correction or a resubmission. */
export function valuesFromRevision(r: Revision): NoticeFormValues {
  return {
    title: r.title,
    body: r.body,
    severity: r.severity,
    category: r.category,
    topics: [...r.topics],
    areas: [...r.areas],
    channels: [...r.channels],
    mode: r.mode,
    scheduledAt: toDatetimeLocalJst(r.scheduledAt),
    expiresAt: toDatetimeLocalJst(r.expiresAt),
    department: r.department ?? '',
    link: r.link ?? '',
    requestApproval: false,
    comment: '',
    nonce: newNonce(),
  };
}

/** A blank form with a filled template's wording; topics only where this deployment has them. */
export function valuesFromTemplate(filled: FilledNotice, choices: FormChoices): NoticeFormValues {
  const known = new Set(choices.catalogue.topics.map((t) => t.id));
  return {
    ...emptyNoticeForm(choices.channels),
    title: filled.title,
    body: filled.body,
    severity: filled.severity,
    category: filled.category,
    topics: filled.topics.filter((t) => known.has(t)),
  };
}

export type ParsedNoticeForm = { ok: true; input: NoticeInput } | { ok: false; errors: FormErrors };

export interface ParseOptions {
  /** Whether the person may send an emergency without approval (approver or admin). */
  canSendEmergency: boolean;
  /** Accept a schedule in the past (a correction carries none; a preview does not care). */
  allowPastSchedule?: boolean;
  now?: Date;
}

const add = (errors: FormErrors, field: NoticeFormField, reason: Bilingual) => {
  const list = errors[field] ?? [];
  list.push(reason);
  errors[field] = list;
};

const isOneOf = <T extends string>(list: readonly T[], value: string): value is T =>
  (list as readonly string[]).includes(value);

function readDate(
  errors: FormErrors,
  field: 'scheduledAt' | 'expiresAt',
  text: string,
  label: Bilingual,
): Date | null | undefined {
  if (text === '') return null;
  const date = parseTemplateDateTime(text);
  if (!date) {
    add(errors, field, {
      ja: `${label.ja}は 2026-11-26T19:40 の形（日本時間）で、実在する日時を入力してください`,
      en: `${label.en}: enter a real date and time such as 2026-11-26T19:40 (JST)`,
    });
    return undefined;
  }
  return date;
}

/**
 * Checks the form as the API would, with each reason beside its field, and builds the
 * NoticeInput. An author's emergency is always a request for approval: an author cannot
 * send one, so the form never offers to.
 */
export function parseNoticeForm(
  values: NoticeFormValues,
  choices: FormChoices,
  options: ParseOptions,
): ParsedNoticeForm {
  const errors: FormErrors = {};
  const now = options.now ?? new Date();

  // Lines joined by one space, by splitting: the regex /\s*\n\s*/ this replaced backtracked
  // over every run of spaces, quadratic in a title of a megabyte that is refused only below.
  const title = values.title
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  if (title === '') add(errors, 'title', { ja: '件名を入力してください', en: 'Enter a title' });
  else if (title.length > FORM_LIMITS.title) {
    add(errors, 'title', {
      ja: `件名は${FORM_LIMITS.title}文字以内にしてください（現在${title.length}文字）`,
      en: `At most ${FORM_LIMITS.title} characters (now ${title.length})`,
    });
  }
  const body = values.body.trim();
  if (body === '') add(errors, 'body', { ja: '本文を入力してください', en: 'Enter the body' });
  else if (body.length > FORM_LIMITS.body) {
    add(errors, 'body', {
      ja: `本文は${FORM_LIMITS.body}文字以内にしてください（現在${body.length}文字）`,
      en: `At most ${FORM_LIMITS.body} characters (now ${body.length})`,
    });
  }
  const severity = values.severity;
  if (!isOneOf<Severity>(SEVERITIES, severity)) {
    add(errors, 'severity', { ja: '重要度を選んでください', en: 'Choose a severity' });
  }
  const category = values.category;
  if (!isOneOf<Category>(CATEGORIES, category)) {
    add(errors, 'category', { ja: '分類を選んでください', en: 'Choose a category' });
  }
  const mode = values.mode;
  if (!isOneOf<Mode>(MODES, mode)) {
    add(errors, 'mode', { ja: '種別（実際・訓練・試験）を選んでください', en: 'Choose actual, exercise or test' });
  }

  const topicIds = new Set(choices.catalogue.topics.map((t) => t.id));
  const badTopics = values.topics.filter((t) => !topicIds.has(t));
  if (badTopics.length > 0) {
    add(errors, 'topics', {
      ja: `この市にないトピックです: ${badTopics.join('、')}。一覧から選び直してください`,
      en: `Unknown topics: ${badTopics.join(', ')}; choose from the list`,
    });
  }
  const areaCodes = new Set(choices.catalogue.areas.map((a) => a.code));
  const badAreas = values.areas.filter((a) => !areaCodes.has(a));
  if (badAreas.length > 0) {
    add(errors, 'areas', {
      ja: `この市にない地域です: ${badAreas.join('、')}。一覧から選び直してください`,
      en: `Unknown areas: ${badAreas.join(', ')}; choose from the list`,
    });
  }
  const badChannels = values.channels.filter((c) => !(choices.channels as string[]).includes(c));
  if (badChannels.length > 0) {
    add(errors, 'channels', {
      ja: `このサーバーで使えない配信先です: ${badChannels.join('、')}`,
      en: `Channels not enabled here: ${badChannels.join(', ')}`,
    });
  } else if (values.channels.length === 0) {
    add(errors, 'channels', { ja: '配信先を一つ以上選んでください', en: 'Choose at least one channel' });
  }

  const scheduledAt = readDate(errors, 'scheduledAt', values.scheduledAt, { ja: '配信日時', en: 'Send at' });
  if (scheduledAt && !options.allowPastSchedule && scheduledAt.getTime() <= now.getTime()) {
    add(errors, 'scheduledAt', {
      ja: '配信日時が過ぎています。今すぐ配信するなら空欄にしてください',
      en: 'This time has passed; leave it empty to send now',
    });
  }
  const expiresAt = readDate(errors, 'expiresAt', values.expiresAt, { ja: '有効期限', en: 'Expires' });
  if (expiresAt && expiresAt.getTime() <= (scheduledAt ?? now).getTime()) {
    add(errors, 'expiresAt', {
      ja: scheduledAt ? '有効期限は配信日時より後にしてください' : '有効期限は今より後にしてください',
      en: scheduledAt ? 'Must be later than the time it is sent' : 'Must be in the future',
    });
  }

  const department = values.department.trim();
  if (department.length > FORM_LIMITS.department) {
    add(errors, 'department', {
      ja: `発表課は${FORM_LIMITS.department}文字以内にしてください（現在${department.length}文字）`,
      en: `At most ${FORM_LIMITS.department} characters (now ${department.length})`,
    });
  }
  const link = values.link;
  if (link !== '' && (!/^https?:\/\/[^\s]+$/i.test(link) || !URL.canParse(link) || link.length > FORM_LIMITS.link)) {
    add(errors, 'link', {
      ja: '関連リンクは https:// で始まる URL（2000文字以内）にしてください。なければ空欄にします',
      en: 'An https:// URL of at most 2000 characters, or leave it empty',
    });
  }
  const comment = values.comment.trim();
  if (comment.length > FORM_LIMITS.comment) {
    add(errors, 'comment', {
      ja: `コメントは${FORM_LIMITS.comment}文字以内にしてください（現在${comment.length}文字）`,
      en: `At most ${FORM_LIMITS.comment} characters (now ${comment.length})`,
    });
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const input: NoticeInput = {
    title,
    body,
    severity: severity as Severity,
    category: category as Category,
    topics: [...new Set(values.topics)],
    areas: [...new Set(values.areas)],
    channels: [...new Set(values.channels)] as ChannelId[],
    mode: mode as Mode,
    scheduledAt: scheduledAt ?? null,
    expiresAt: expiresAt ?? null,
    link: link === '' ? null : link,
    department: department === '' ? null : department,
  };
  if (needsApproval(values, options.canSendEmergency)) input.requestApproval = true;
  return { ok: true, input };
}

/** Whether this form asks for approval instead of sending: ticked, or an emergency its author may not send. */
export function needsApproval(
  values: Pick<NoticeFormValues, 'severity' | 'requestApproval'>,
  canSendEmergency: boolean,
) {
  return values.requestApproval || (values.severity === 'emergency' && !canSendEmergency);
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};

/**
 * A time is unchanged when the form shows the same minute as the stored one: the form has
 * no seconds, so a stored 19:40:30 left alone must not become a change to 19:40:00.
 */
const sameMinute = (form: string, stored: Date | null) => form === toDatetimeLocalJst(stored);

/** Only the fields that differ from the revision, so the audit and the 【訂正】 say what really changed. */
export function correctionChanges(input: NoticeInput, values: NoticeFormValues, current: Revision): CorrectionInput {
  const changes: CorrectionInput = {};
  if (input.title !== current.title) changes.title = input.title;
  if (input.body !== current.body.trim()) changes.body = input.body;
  if (input.severity !== current.severity) changes.severity = input.severity;
  if (input.category !== current.category) changes.category = input.category;
  if (!sameSet(input.topics ?? [], current.topics)) changes.topics = input.topics ?? [];
  if (!sameSet(input.areas ?? [], current.areas)) changes.areas = input.areas ?? [];
  if (!sameSet(input.channels ?? [], current.channels)) changes.channels = input.channels ?? [];
  if ((input.link ?? null) !== current.link) changes.link = input.link ?? null;
  if ((input.department ?? null) !== current.department) changes.department = input.department ?? null;
  if (!sameMinute(values.expiresAt, current.expiresAt)) changes.expiresAt = input.expiresAt ?? null;
  return changes;
}

/** A correction's changes, plus what only an unsent notice may change: its mode and its schedule. */
export function resubmitChanges(input: NoticeInput, values: NoticeFormValues, current: Revision): ResubmitInput {
  const changes: ResubmitInput = correctionChanges(input, values, current);
  if (input.mode !== undefined && input.mode !== current.mode) changes.mode = input.mode;
  if (!sameMinute(values.scheduledAt, current.scheduledAt)) changes.scheduledAt = input.scheduledAt ?? null;
  return changes;
}
