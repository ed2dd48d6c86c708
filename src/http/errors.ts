import { z } from '@hono/zod-openapi';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Bilingual, FieldErrors } from '../domain/bilingual.ts';
import { Refusal, type RefusalKind } from '../domain/refusal.ts';
import type { Logger } from '../logger.ts';
import { isStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../store/store-errors.ts';

/**
 * Every error body is `{ error: { code, message, message_en, fields?, fields_en?, requestId? } }`:
 * Japanese in `message`/`fields` for the staff who read it, English beside it in the `_en`
 * twins, and a stable `code` for programs.
 */

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly messageEn: string;
  readonly fields: FieldErrors | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: Bilingual,
    options: { fields?: FieldErrors; headers?: Record<string, string> } = {},
  ) {
    super(message.ja);
    this.status = status;
    this.code = code;
    this.messageEn = message.en;
    this.fields = options.fields;
    this.headers = options.headers;
  }
}

/**
 * The one place a service's refusal becomes an HTTP status (as ntfy's server/errors.go
 * keeps its table): services say what went wrong, never which status it is.
 */
export const REFUSAL_STATUS: Record<RefusalKind, ContentfulStatusCode> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  unavailable: 503,
};

export function refusalToApiError(refusal: Refusal): ApiError {
  return new ApiError(
    REFUSAL_STATUS[refusal.kind],
    refusal.code,
    refusal.text,
    refusal.fields ? { fields: refusal.fields } : {},
  );
}

/** A known error as the API answers it (an ApiError, or a service's Refusal), or undefined for anything else. */
export function asApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof Refusal) return refusalToApiError(err);
  return undefined;
}

/** One field's reason, the common case of a 400. */
export function fieldError(field: string, reason: Bilingual, code = 'validation_failed'): ApiError {
  return new ApiError(
    400,
    code,
    { ja: `入力内容に誤りがあります: ${field}`, en: `Invalid input: ${field}` },
    { fields: { [field]: [reason] } },
  );
}

export function notFoundError(what: Bilingual): ApiError {
  return new ApiError(404, 'not_found', { ja: `${what.ja}が見つかりません`, en: `${what.en} not found` });
}

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string().openapi({ example: '入力内容に誤りがあります: severity' }),
      message_en: z.string().openapi({ example: 'Invalid input: severity' }),
      fields: z.record(z.string(), z.array(z.string())).optional(),
      fields_en: z.record(z.string(), z.array(z.string())).optional(),
      requestId: z.string().optional(),
    }),
  })
  .openapi('Error');

export type ErrorBodyType = z.infer<typeof ErrorBody>;

export function errorBody(err: ApiError, requestId?: string): ErrorBodyType {
  const body: ErrorBodyType['error'] = { code: err.code, message: err.message, message_en: err.messageEn };
  if (err.fields) {
    body.fields = mapFields(err.fields, (r) => r.ja);
    body.fields_en = mapFields(err.fields, (r) => r.en);
  }
  if (requestId) body.requestId = requestId;
  return { error: body };
}

function mapFields(fields: FieldErrors, pick: (r: Bilingual) => string): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.map(pick)]));
}

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.json(errorBody(err, c.get('requestId') as string | undefined), err.status);
}

export const payloadTooLarge = (maxBytes: number): ApiError =>
  new ApiError(413, 'payload_too_large', {
    ja: `リクエストの本文が大きすぎます（上限 ${formatBytes(maxBytes)}）`,
    en: `Request body too large (limit ${formatBytes(maxBytes)})`,
  });

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  return n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** Hono's own exceptions (from validators and middleware) in our error shape. */
function fromHttpException(e: HTTPException): ApiError {
  switch (e.status) {
    case 400:
      if (/json/i.test(e.message)) {
        return new ApiError(400, 'invalid_json', {
          ja: 'リクエストの本文が正しい JSON ではありません',
          en: 'The request body is not valid JSON',
        });
      }
      return new ApiError(400, 'bad_request', {
        ja: `リクエストが正しくありません: ${e.message}`,
        en: `Bad request: ${e.message}`,
      });
    case 413:
      return new ApiError(413, 'payload_too_large', {
        ja: 'リクエストの本文が大きすぎます',
        en: 'Request body too large',
      });
    case 415:
      return unsupportedMediaType('application/json');
    default:
      return new ApiError(e.status as ContentfulStatusCode, 'http_error', {
        ja: e.message || 'エラー',
        en: e.message || 'Error',
      });
  }
}

export function unsupportedMediaType(...expected: string[]): ApiError {
  const list = expected.join(', ');
  return new ApiError(415, 'unsupported_media_type', {
    ja: `Content-Type が対応していません。${list} で送ってください`,
    en: `Unsupported Content-Type; send ${list}`,
  });
}

/** The store cannot be reached or locked just now: try again shortly (a 503, never a 500). */
export function storeUnavailable(): ApiError {
  return new ApiError(
    503,
    'store_unavailable',
    {
      ja: `データベースに一時的に接続できません。${STORE_RETRY_AFTER_SECONDS} 秒ほどおいてもう一度お試しください`,
      en: `The database is temporarily unavailable; try again in about ${STORE_RETRY_AFTER_SECONDS} seconds`,
    },
    { headers: { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) } },
  );
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A browser asking for a page (the public notice pages) gets a page, not the API's JSON. */
function wantsPage(c: Context): boolean {
  if (c.req.path.startsWith('/v1/')) return false;
  const accept = c.req.header('accept') ?? '';
  return accept.includes('text/html');
}

const PAGE_TITLES: Partial<Record<number, Bilingual>> = {
  404: { ja: 'ページが見つかりません', en: 'Page not found' },
  413: { ja: '送信内容が大きすぎます', en: 'Too much to send' },
  503: { ja: 'ただいま表示できません', en: 'Temporarily unavailable' },
};
const DEFAULT_PAGE_TITLE: Bilingual = { ja: '処理できませんでした', en: 'The request could not be handled' };

/** A page of its own (the public layout may itself need the store) for an error to a browser. */
function errorPage(c: Context, err: ApiError): Response {
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  c.header('Cache-Control', 'no-store');
  const title = PAGE_TITLES[err.status] ?? DEFAULT_PAGE_TITLE;
  return c.html(
    `<!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title.ja} / ${title.en}</title><style>body{font-family:system-ui,sans-serif;line-height:1.7;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}</style></head><body><main><h1>${title.ja} <span lang="en">${title.en}</span></h1><p>${escapeHtml(err.message)}</p><p lang="en">${escapeHtml(err.messageEn)}</p></main></body></html>`,
    err.status,
  );
}

/** The API's JSON error, or for a browser asking for a page outside /v1, a page saying the same. */
export function errorResponseFor(c: Context, err: ApiError): Response {
  return wantsPage(c) ? errorPage(c, err) : errorResponse(c, err);
}

/**
 * app.onError: known errors as they are; the store being unreachable is a 503 with
 * Retry-After; anything else is a 500 that names only the request id.
 */
export function createErrorHandler(logger: Logger): ErrorHandler {
  return (err, c) => {
    const known = asApiError(err);
    if (known) return errorResponseFor(c, known);
    if (err instanceof HTTPException) return errorResponseFor(c, fromHttpException(err));
    const requestId = c.get('requestId') as string | undefined;
    if (isStoreUnavailable(err)) {
      // Expected during a database restart or failover: one line, no stack.
      logger.warn(
        { requestId, method: c.req.method, path: c.req.path, err: { message: err.message } },
        'store unavailable',
      );
      return errorResponseFor(c, storeUnavailable());
    }
    // Name, message and stack only: never the request, whose headers and body may hold secrets or addresses.
    logger.error(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        err: { name: err.name, message: err.message, stack: err.stack },
      },
      'unexpected error',
    );
    return c.json(
      errorBody(
        new ApiError(500, 'internal_error', {
          ja: `サーバー内部でエラーが起きました。管理者に連絡するときはリクエスト ID ${requestId ?? '-'} をお伝えください`,
          en: `Internal server error; quote request id ${requestId ?? '-'} to the administrator`,
        }),
        requestId,
      ),
      500,
    );
  };
}

export const notFound: NotFoundHandler = (c) =>
  errorResponseFor(
    c,
    new ApiError(404, 'not_found', {
      ja: `${c.req.method} ${c.req.path} というページや API はありません`,
      en: `No such route: ${c.req.method} ${c.req.path}`,
    }),
  );

// ---- zod validation failures -------------------------------------------------------------

const jaLocale = z.locales.ja().localeError;
const enLocale = z.locales.en().localeError;

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v: unknown = data;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function localeText(locale: typeof jaLocale, issue: z.core.$ZodIssue, input: unknown): string | undefined {
  const out = locale({ ...issue, input } as unknown as Parameters<typeof jaLocale>[0]);
  return typeof out === 'string' ? out : out?.message;
}

/**
 * How much of a bad request an error repeats: a body of thousands of unknown keys or
 * wrong array items must not become an answer many times its size (a 1 MB body once got a
 * 7.7 MB one). The first so many are named; the rest are counted.
 */
export const MAX_UNKNOWN_KEYS_NAMED = 20;
const MAX_REASONS_PER_FIELD = 20;
const MAX_KEY_CHARS = 64;

/** Where the count of unknown keys not named goes in `fields`: not a field of the request. */
export const MORE_UNKNOWN = '…';

const shortKey = (key: string): string => (key.length > MAX_KEY_CHARS ? `${key.slice(0, MAX_KEY_CHARS)}…` : key);

/** Unknown keys beyond those an error names. */
function unnamedUnknownKeys(error: z.ZodError): number {
  let total = 0;
  for (const issue of error.issues) if (issue.code === 'unrecognized_keys') total += issue.keys.length;
  return Math.max(0, total - MAX_UNKNOWN_KEYS_NAMED);
}

/**
 * Turns zod issues into reasons per top-level field, in both languages. Zod's issues keep
 * only the English text, so the Japanese one is made again from zod's own ja locale; a
 * schema's custom message is used for both. Unknown keys are reported on the key itself,
 * the first MAX_UNKNOWN_KEYS_NAMED of them; the count of the others goes on MORE_UNKNOWN.
 */
export function zodFieldErrors(error: z.ZodError, data: unknown): FieldErrors {
  // No prototype: a field named "constructor" or "__proto__" is a field like any other.
  const fields: FieldErrors = Object.create(null);
  const dropped: Record<string, number> = Object.create(null);
  const add = (field: string, reason: Bilingual) => {
    const list = fields[field] ?? [];
    if (list.length >= MAX_REASONS_PER_FIELD) {
      dropped[field] = (dropped[field] ?? 0) + 1;
      return;
    }
    list.push(reason);
    fields[field] = list;
  };
  let named = 0;
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    const field = path[0] ?? '_';
    const where = path.length > 1 ? `${path.slice(1).join('.')}: ` : '';
    if (issue.code === 'unrecognized_keys') {
      const prefix = path.length > 0 ? `${path.join('.')}.` : '';
      for (const key of issue.keys) {
        if (named >= MAX_UNKNOWN_KEYS_NAMED) break;
        named++;
        add(shortKey(`${prefix}${key}`), { ja: '不明な項目です', en: 'unknown field' });
      }
      continue;
    }
    const input = valueAt(data, issue.path);
    const en = issue.message;
    const isDefault = localeText(enLocale, issue, input) === en;
    const ja = isDefault ? (localeText(jaLocale, issue, input) ?? en) : en;
    add(field, { ja: `${where}${ja}`, en: `${where}${en}` });
  }
  for (const [field, more] of Object.entries(dropped)) {
    (fields[field] as Bilingual[]).push({ ja: `ほかに ${more} 件の誤りがあります`, en: `and ${more} more problem(s)` });
  }
  const unnamed = unnamedUnknownKeys(error);
  if (unnamed > 0) {
    fields[MORE_UNKNOWN] = [
      {
        ja: `ほかに不明な項目が ${unnamed} 個あります（最初の ${MAX_UNKNOWN_KEYS_NAMED} 個だけ示しています）。送る項目を確かめてください`,
        en: `${unnamed} more unknown field(s) (only the first ${MAX_UNKNOWN_KEYS_NAMED} are named); check what is sent`,
      },
    ];
  }
  return fields;
}

/** A field's name in a message; a key sent as "" is a field too, quoted so the message does not end in nothing. */
const shownName = (name: string): string => (name === '' ? '""' : name);

export function validationError(error: z.ZodError, data: unknown): ApiError {
  const fields = zodFieldErrors(error, data);
  const onlyUnknown = error.issues.every((i) => i.code === 'unrecognized_keys');
  const unnamed = unnamedUnknownKeys(error);
  const names = Object.keys(fields)
    .filter((name) => name !== MORE_UNKNOWN)
    .map(shownName);
  const more = unnamed > 0 ? { ja: ` ほか ${unnamed} 個`, en: ` and ${unnamed} more` } : { ja: '', en: '' };
  return new ApiError(
    400,
    onlyUnknown ? 'unknown_field' : 'validation_failed',
    onlyUnknown
      ? {
          ja: `不明な項目があります: ${names.join(', ')}${more.ja}`,
          en: `Unknown field(s): ${names.join(', ')}${more.en}`,
        }
      : {
          ja: `入力内容に誤りがあります: ${names.join(', ')}${more.ja}`,
          en: `Invalid input: ${names.join(', ')}${more.en}`,
        },
    { fields },
  );
}

// ---- U+0000 -------------------------------------------------------------------------------

/** PostgreSQL cannot store U+0000 in text (SQLite can), and nobody types one: it is refused like any bad value. */
export const NUL_REASON: Bilingual = {
  ja: 'NUL 文字（U+0000, %00）は使えません',
  en: 'must not contain a NUL character (U+0000, %00)',
};

/** The 400 for a field holding U+0000, saying why in the message too (the console shows only the message). */
export function nulFieldError(field: string): ApiError {
  return new ApiError(
    400,
    'validation_failed',
    {
      ja: `入力内容に誤りがあります: ${shownName(field)}（${NUL_REASON.ja}）`,
      en: `Invalid input: ${shownName(field)} (${NUL_REASON.en})`,
    },
    { fields: { [field]: [NUL_REASON] } },
  );
}

/** Where in a parsed input a string (or a key) holds U+0000: the path to it, or undefined. */
export function nulPath(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('\u0000')) return [...path, key];
    const found = nulPath(v, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/** OpenAPIHono's defaultHook: a failed zod check becomes our 400, and so does valid input holding U+0000. */
export const validationHook = (
  result: { success: true; data: unknown } | { success: false; error: z.ZodError; data?: unknown },
  c: Context,
): Response | undefined => {
  if (result.success) {
    const at = nulPath(result.data);
    return at ? errorResponse(c, nulFieldError(at[0] ?? '_')) : undefined;
  }
  // @hono/zod-validator passes the input as `data` beside the error; the Japanese reasons need it.
  return errorResponse(c, validationError(result.error, result.data));
};
