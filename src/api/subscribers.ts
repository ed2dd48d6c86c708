import { createRoute, z } from '@hono/zod-openapi';
import { parse as parseCsv } from 'csv-parse/sync';
import { bodyLimit } from 'hono/body-limit';
import type { Bilingual } from '../domain/bilingual.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import { LOCALES, type Locale } from '../domain/notice.ts';
import { requireRole } from '../http/auth.ts';
import { ApiError, errorResponse, payloadTooLarge, unsupportedMediaType, zodFieldErrors } from '../http/errors.ts';
import type { ResidentService, SignupRequest } from '../services/residents.ts';
import type { AuditRepo } from '../store/audit.ts';
import type { MailListRow, SubscriberRepo } from '../store/subscribers.ts';
import type { TokenRepo } from '../store/tokens.ts';
import { csvCellValue, csvLine } from './csv-cells.ts';
import { AreaCode } from './fields.ts';
import { bearer, createRouter, errorResponses } from './router.ts';
/** 50,000 rows of an old mail list; at ~100 bytes a row that is well over the API's usual 1 MiB. */
export const MAX_IMPORT_ROWS = 50_000;
export const MAX_IMPORT_BYTES = 16 * 1024 * 1024;

const CSV_COLUMNS = ['email', 'topics', 'areas', 'locale'] as const;

const ImportRow = z
  .strictObject({
    email: z.email().max(254).openapi({ example: 'taro@example.jp' }),
    topics: z
      .array(z.string().min(1).max(50))
      .max(50)
      .default([])
      .openapi({ example: ['disaster', 'weather'] }),
    areas: z
      .array(AreaCode)
      .max(500)
      .default([])
      .openapi({ description: '空なら市全域 / empty means the whole city', example: [] }),
    locale: z.enum(LOCALES).default('ja'),
  })
  .openapi('SubscriberImportRow');

/** Where a row came from: its index in a JSON array or its line in a CSV file. */
type RowRef = { index: number } | { line: number };

const RowError = z
  .object({
    index: z.number().int().optional(),
    line: z.number().int().optional(),
    field: z.string(),
    reason: z.string(),
    reason_en: z.string(),
  })
  .openapi('ImportRowError');

const ImportResult = z
  .object({
    received: z.number().int().openapi({ description: '読んだ行の数 / rows read' }),
    accepted: z.number().int().openapi({
      description:
        '形の正しい行の数（同じアドレスの行は一つにまとめる）。どの行も、アドレスの状態によらず同じに扱う / well-formed rows (rows for one address are merged); every one is treated alike whatever the state of its address',
    }),
    errors: z.array(RowError),
  })
  .openapi('SubscriberImportResult');

type RowErrorOut = z.infer<typeof RowError>;

export interface SubscriberRoutesDeps {
  tokens: Pick<TokenRepo, 'check'>;
  subscribers: Pick<SubscriberRepo, 'exportMailPage'>;
  /** Signs new addresses up as the page would: a confirmation mail, nothing sent until it is used. */
  residents: Pick<ResidentService, 'importSignups'>;
  audit: Pick<AuditRepo, 'record'>;
  catalogue: Catalogue;
}

function mediaType(header: string | undefined): { type: string; charset: string | undefined } {
  const [type = '', ...params] = (header ?? '').split(';');
  const charset = params
    .map((p) => p.trim().split('='))
    .find(([k]) => k?.toLowerCase() === 'charset')?.[1]
    ?.replace(/"/g, '')
    .trim();
  return { type: type.trim().toLowerCase(), charset };
}

/** UTF-8 unless told otherwise; a file saved by Excel in Japan is often Shift_JIS, so that is tried next. */
function decodeText(bytes: ArrayBuffer, charset: string | undefined): string {
  if (charset) {
    try {
      return new TextDecoder(charset, { fatal: true }).decode(bytes);
    } catch {
      throw new ApiError(400, 'bad_encoding', {
        ja: `本文を ${charset} として読めません`,
        en: `The body cannot be read as ${charset}`,
      });
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    try {
      return new TextDecoder('shift_jis', { fatal: true }).decode(bytes);
    } catch {
      throw new ApiError(400, 'bad_encoding', {
        ja: '本文の文字コードが UTF-8 でも Shift_JIS でもありません',
        en: 'The body is neither UTF-8 nor Shift_JIS',
      });
    }
  }
}

const splitCell = (cell: string | undefined): string[] => (cell ?? '').split(/[;\s\u3000]+/).filter(Boolean);

interface RawRow {
  ref: RowRef;
  value: unknown;
  /** A problem found while reading the row, before its fields are checked. */
  problem?: { field: string; reason: Bilingual };
}

function readCsv(text: string): RawRow[] {
  let records: { record: string[]; info: { lines: number; empty_lines: number } }[];
  try {
    // csv-parse counts a CRLF inside a quoted cell as two lines; one kind of line end keeps line numbers right.
    records = parseCsv(text.replace(/\r\n?/g, '\n'), {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new ApiError(
      400,
      'invalid_csv',
      {
        ja: `CSV を読めません（${e.lines ?? '?'}行目付近）: ${e.message}`,
        en: `Cannot parse the CSV near line ${e.lines ?? '?'}: ${e.message}`,
      },
      { fields: { csv: [{ ja: `${e.lines ?? '?'}行目: ${e.message}`, en: `line ${e.lines ?? '?'}: ${e.message}` }] } },
    );
  }
  const [header, ...data] = records;
  if (!header) return [];
  const columns = header.record.map((h) => h.trim().toLowerCase());
  const unknown = columns.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length > 0 || !columns.includes('email')) {
    throw new ApiError(
      400,
      'invalid_csv',
      {
        ja: `1行目は見出し email,topics,areas,locale にしてください（不明な列: ${unknown.join(', ') || 'なし'}）`,
        en: `Line 1 must be the header email,topics,areas,locale (unknown columns: ${unknown.join(', ') || 'none'})`,
      },
      {
        fields: {
          header: [
            unknown.length > 0
              ? { ja: `不明な列です: ${unknown.join(', ')}`, en: `unknown column(s): ${unknown.join(', ')}` }
              : { ja: 'email の列が必要です', en: 'an email column is required' },
          ],
        },
      },
    );
  }
  let prevEnd = header.info.lines;
  let prevEmpty = header.info.empty_lines;
  return data.map(({ record, info }) => {
    // info.lines is where a record ends; a quoted cell may span lines, so count from the previous record.
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    const cell = (name: string) => {
      const i = columns.indexOf(name);
      const value = i >= 0 ? record[i] : undefined;
      // A list exported from here has a quote before a cell that looked like a formula.
      return value === undefined ? undefined : csvCellValue(value);
    };
    const locale = cell('locale');
    const value = {
      email: cell('email') ?? '',
      topics: splitCell(cell('topics')),
      areas: splitCell(cell('areas')),
      ...(locale ? { locale } : {}),
    };
    if (record.length > columns.length) {
      return {
        ref: { line },
        value,
        problem: {
          field: 'csv',
          reason: {
            ja: `列が多すぎます（見出しは${columns.length}列、この行は${record.length}列）`,
            en: `too many cells (${record.length} for ${columns.length} columns)`,
          },
        },
      };
    }
    return { ref: { line }, value };
  });
}

async function readJson(raw: Request): Promise<RawRow[]> {
  let body: unknown;
  try {
    body = JSON.parse(await raw.text());
  } catch {
    throw new ApiError(400, 'invalid_json', {
      ja: 'リクエストの本文が正しい JSON ではありません',
      en: 'The request body is not valid JSON',
    });
  }
  if (!Array.isArray(body)) {
    throw new ApiError(
      400,
      'validation_failed',
      { ja: '本文は配列にしてください', en: 'The body must be an array' },
      {
        fields: {
          body: [
            {
              ja: '{ email, topics, areas, locale } の配列が必要です',
              en: 'expected an array of { email, topics, areas, locale }',
            },
          ],
        },
      },
    );
  }
  return body.map((value, index) => ({ ref: { index }, value }));
}

/**
 * POST /v1/subscribers: admins import residents who signed up on paper or in the old mail
 * list, as a JSON array or CSV. Each malformed row is reported by its index or line; the
 * answer says nothing else about any row, so it cannot tell whether an address is
 * subscribed, unsubscribed or unknown. A new address gets a confirmation mail and nothing
 * else until the resident uses it; a known one is left as the resident set it.
 */
export function createSubscriberRoutes(deps: SubscriberRoutesDeps) {
  const app = createRouter();
  const topicIds = new Set(deps.catalogue.topics.map((t) => t.id));
  const areaCodes = new Set(deps.catalogue.areas.map((a) => a.code));
  app.openAPIRegistry.register('SubscriberImportRow', ImportRow);

  const limit = bodyLimit({
    maxSize: MAX_IMPORT_BYTES,
    onError: (c) => errorResponse(c, payloadTooLarge(MAX_IMPORT_BYTES)),
  });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscribers',
      tags: ['subscribers'],
      summary: '住民の登録を取り込む（JSON または CSV、管理者） / Import subscribers (JSON or CSV, admin)',
      description: `JSON: [{ email, topics, areas, locale }]。CSV: 1行目が email,topics,areas,locale、topics/areas はセルの中で ; か空白で区切る。最大 ${MAX_IMPORT_ROWS} 行。まだ登録のないアドレスには確認のメールを送り、住民がそのリンクを開くまで何も配信しない。登録済みのアドレス（配信停止を含む）は変更しない。答えは形の誤った行のほかは件数だけ。 / CSV: a header line email,topics,areas,locale; topics and areas separated by ; or spaces inside a cell. Up to ${MAX_IMPORT_ROWS} rows. A new address is mailed a confirmation and gets nothing until the resident uses it; a known address (unsubscribed included) is left as it is. The answer holds counts and the malformed rows only.`,
      security: bearer,
      middleware: [requireRole(deps.tokens, 'admin'), limit] as const,
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'array', items: { $ref: '#/components/schemas/SubscriberImportRow' } },
            },
            'text/csv': {
              schema: { type: 'string', example: 'email,topics,areas,locale\ntaro@example.jp,disaster;weather,,ja\n' },
            },
          },
        },
      },
      responses: {
        200: { description: '取り込み結果 / Outcome', content: { 'application/json': { schema: ImportResult } } },
        ...errorResponses(400, 401, 403, 413, 415, 503),
      },
    }),
    async (c) => {
      const { type, charset } = mediaType(c.req.header('content-type'));
      let rows: RawRow[];
      let format: 'json' | 'csv';
      if (type === 'application/json') {
        format = 'json';
        rows = await readJson(c.req.raw);
      } else if (type === 'text/csv' || type === 'application/csv') {
        format = 'csv';
        rows = readCsv(decodeText(await c.req.arrayBuffer(), charset));
      } else {
        throw unsupportedMediaType('application/json', 'text/csv');
      }
      if (rows.length > MAX_IMPORT_ROWS) {
        throw new ApiError(413, 'too_many_rows', {
          ja: `一度に取り込めるのは ${MAX_IMPORT_ROWS} 行までです（${rows.length} 行ありました）。分けて送ってください`,
          en: `At most ${MAX_IMPORT_ROWS} rows per import (got ${rows.length}); split the file`,
        });
      }

      const errors: RowErrorOut[] = [];
      const byEmail = new Map<string, SignupRequest>();
      let accepted = 0;
      const fail = (ref: RowRef, field: string, reason: Bilingual) =>
        errors.push({ ...ref, field, reason: reason.ja, reason_en: reason.en });

      for (const { ref, value, problem } of rows) {
        if (problem) {
          fail(ref, problem.field, problem.reason);
          continue;
        }
        const parsed = ImportRow.safeParse(value);
        if (!parsed.success) {
          for (const [field, reasons] of Object.entries(zodFieldErrors(parsed.error, value))) {
            for (const reason of reasons) fail(ref, field, reason);
          }
          continue;
        }
        const row = parsed.data;
        const badTopics = row.topics.filter((t) => !topicIds.has(t));
        const badAreas = row.areas.filter((a) => !areaCodes.has(a));
        for (const t of badTopics) fail(ref, 'topics', { ja: `不明なトピックです: ${t}`, en: `unknown topic: ${t}` });
        for (const a of badAreas)
          fail(ref, 'areas', { ja: `この市で使えない地域コードです: ${a}`, en: `area code not known here: ${a}` });
        if (badTopics.length + badAreas.length > 0) continue;
        accepted++;

        // Mailboxes are matched without regard to case, as every provider residents use does.
        const email = row.email.trim().toLowerCase();
        const first = byEmail.get(email);
        if (!first) {
          byEmail.set(email, {
            email,
            topics: [...new Set(row.topics)],
            areas: [...new Set(row.areas)],
            locale: row.locale as Locale,
          });
          continue;
        }
        first.topics = [...new Set([...first.topics, ...row.topics])];
        // The whole city (no areas) on either row stays the whole city.
        first.areas =
          first.areas.length === 0 || row.areas.length === 0 ? [] : [...new Set([...first.areas, ...row.areas])];
        first.locale = row.locale as Locale;
      }

      const outcome =
        byEmail.size > 0
          ? await deps.residents.importSignups([...byEmail.values()])
          : { invited: 0, known: 0, unsent: 0 };

      const staff = c.get('staff');
      // Who imported how much; counts only: an audit log must not become a second copy of residents' addresses.
      await deps.audit.record(staff.name, 'subscribers.import', null, {
        format,
        rows: rows.length,
        accepted,
        addresses: byEmail.size,
        invited: outcome.invited,
        unchanged: outcome.known,
        unsent: outcome.unsent,
        errors: errors.length,
      });
      if (outcome.unsent > 0) {
        // The relay's failure, not the rows': those addresses were not kept, and the same file imports them later.
        throw new ApiError(503, 'confirmation_mail_failed', {
          ja: `確認のメールを ${outcome.unsent} 通送れませんでした。送れなかったアドレスは取り込んでいません。SMTP_URL の中継サーバーを確かめ、直ったら同じファイルをもう一度取り込んでください（取り込み済みの行は変わりません）`,
          en: `${outcome.unsent} confirmation mail(s) could not be sent, and those addresses were not imported. Check the relay in SMTP_URL, then import the same file again (rows already imported stay as they are)`,
        });
      }
      return c.json({ received: rows.length, accepted, errors }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscribers/export.csv',
      tags: ['subscribers'],
      summary: 'メール登録者の一覧を CSV で書き出す（管理者） / Export the mail list as CSV (admin)',
      description: `取り込みと同じ列 ${CSV_COLUMNS.join(',')}。配信中で確認済みのアドレスだけ。書き出しは監査ログに残る。= + - @ などで始まるセルは表計算ソフトが式と見なさないよう ' を付ける（取り込み時に外す）。 / The import's columns; active, confirmed addresses only; audited. A cell starting with = + - @, tab or CR gets a leading ' so a spreadsheet never runs it as a formula (the import drops it again).`,
      security: bearer,
      middleware: [requireRole(deps.tokens, 'admin')] as const,
      responses: {
        200: {
          description: 'CSV（UTF-8、CRLF） / CSV (UTF-8, CRLF)',
          content: {
            'text/csv': {
              schema: {
                type: 'string',
                example: '"email","topics","areas","locale"\r\n"taro@example.jp","disaster;weather","","ja"\r\n',
              },
            },
          },
        },
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      // Who took a copy of residents' addresses, recorded before the first row leaves.
      await deps.audit.record(c.get('staff').name, 'subscribers.export', null, { format: 'csv' });
      const encoder = new TextEncoder();
      let after = 0;
      let started = false;
      const body = new ReadableStream<Uint8Array>({
        // One page per pull: the client's reading speed sets the pace, memory stays one page.
        async pull(controller) {
          if (!started) {
            started = true;
            controller.enqueue(encoder.encode(csvLine([...CSV_COLUMNS])));
          }
          const rows = await deps.subscribers.exportMailPage(after, EXPORT_PAGE_ROWS);
          if (rows.length === 0) {
            controller.close();
            return;
          }
          after = rows.at(-1)?.contactId ?? after;
          controller.enqueue(encoder.encode(rows.map(exportLine).join('')));
        },
      });
      return c.body(body, 200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="subscribers-${new Date().toISOString().slice(0, 10)}.csv"`,
        // Residents' addresses: never kept by a cache or a proxy.
        'Cache-Control': 'no-store',
      });
    },
  );

  return app;
}

/** Rows read from the store per page of an export. */
const EXPORT_PAGE_ROWS = 1_000;

/** A row in the import's own format (topics and areas separated by ;), so an export imports as it is. */
const exportLine = (row: MailListRow): string =>
  csvLine([row.email, row.topics.join(';'), row.areas.join(';'), row.locale]);
