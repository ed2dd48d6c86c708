import type { Bilingual, FieldErrors } from '../domain/bilingual.ts';
import { invalidFields, notFound, Refusal } from '../domain/refusal.ts';
import { STAFF_ROLES, type StaffIdentity, type StaffRole } from '../domain/staff.ts';
import type { AuditRepo } from '../store/audit.ts';
import type { StaffToken, TokenRepo } from '../store/tokens.ts';
/** Long enough for a section and a person's name; short enough for a table cell and a log line. */
export const TOKEN_NAME_MAX = 100;

/** Ten years: a token meant to outlive that should have no expiry at all. */
const EXPIRY_MAX_MS = 3_653 * 86_400_000;

export interface TokenInput {
  name: string;
  role: StaffRole;
  /** Null: until revoked. */
  expiresAt: Date | null;
}

export interface CreatedToken extends Omit<TokenInput, 'expiresAt'> {
  id: number;
  expiresAt: string | null;
  /** The token itself: shown to the admin this once, never stored, logged or audited. */
  token: string;
}

const isRole = (value: unknown): value is StaffRole =>
  typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);

/**
 * What cannot be read in a list or a log line: controls (line breaks, tabs, escapes),
 * format characters (bidi overrides and isolates, zero-width spaces, the BOM, soft hyphens),
 * line and paragraph separators, private-use and lone surrogates. A name holding one could
 * forge a row of `hibiki token list` or show another person's name in an approval.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}]/u;

/** The name as people read it: two names with one key are one person to a reader of the audit log. */
export const nameKey = (name: string): string => name.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();

/** The reason a name cannot be printed, naming the first offending character's place; undefined when it can. */
export function unprintableName(name: string): Bilingual | undefined {
  const chars = [...name];
  const at = chars.findIndex((ch) => UNPRINTABLE.test(ch));
  if (at < 0) return undefined;
  const code = (chars[at]?.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return {
    ja: `名前に制御文字や見えない文字（改行、タブ、文字の向きを変える記号など）は使えません（${at + 1}文字目の U+${code}）`,
    en: `The name cannot hold control or invisible characters (line breaks, tabs, direction overrides); found U+${code} at character ${at + 1}`,
  };
}

/** `--expires-in`: a whole number of hours (h), days (d) or weeks (w), up to ten years. */
export function parseExpiresIn(value: string, now = new Date()): Date | undefined {
  const match = /^([1-9]\d{0,5})([hdw])$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[match[2] as 'h' | 'd' | 'w'];
  const ms = Number(match[1]) * unit;
  return ms > EXPIRY_MAX_MS ? undefined : new Date(now.getTime() + ms);
}

/** An ISO date (midnight UTC) or date-time with its offset; undefined for anything else, or a day that does not exist. */
export function parseExpiry(value: string): Date | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(value.trim());
  if (!match?.[1]) return undefined;
  const at = new Date(match[2] ? value.trim() : `${match[1]}T00:00:00Z`);
  if (Number.isNaN(at.getTime())) return undefined;
  // new Date() rolls 2027-02-30 over to March: refuse a day the calendar does not have.
  const [y, m, d] = match[1].split('-').map(Number);
  const probe = new Date(Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 1));
  if (probe.getUTCMonth() !== (m ?? 1) - 1 || probe.getUTCDate() !== d) return undefined;
  return at;
}

const EXPIRY_FORMAT: Bilingual = {
  ja: '有効期限は 2027-03-31 や 2027-03-31T17:00:00+09:00 の形で、今より後の日時を指定してください',
  en: 'Give the expiry as a future date or time such as 2027-03-31 or 2027-03-31T17:00:00+09:00',
};

/**
 * Checks a token request from any form or body: the name trimmed, 1–100 printable
 * characters; the role one of the three; the expiry, if any, a future ISO date or time
 * within ten years. The API's zod schema states the length rule for its OpenAPI document.
 */
export function checkTokenInput(
  raw: { name?: unknown; role?: unknown; expiresAt?: unknown },
  now = new Date(),
): { input: TokenInput } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = typeof raw.name === 'string' ? raw.name.trim() : '';
  const unprintable = unprintableName(name);
  if (name.length === 0) {
    errors.name = [
      { ja: '名前を入力してください（誰のトークンか分かる名前）', en: 'Enter a name (whose token this is)' },
    ];
  } else if (unprintable) {
    errors.name = [unprintable];
  } else if (name.length > TOKEN_NAME_MAX) {
    errors.name = [
      {
        ja: `名前は${TOKEN_NAME_MAX}文字以内にしてください（今は${name.length}文字）`,
        en: `Use at most ${TOKEN_NAME_MAX} characters (now ${name.length})`,
      },
    ];
  }
  if (!isRole(raw.role)) {
    errors.role = [
      { ja: '役割を author、approver、admin から選んでください', en: 'Choose a role: author, approver or admin' },
    ];
  }
  let expiresAt: Date | null = null;
  if (raw.expiresAt instanceof Date) {
    expiresAt = raw.expiresAt;
  } else if (raw.expiresAt !== undefined && raw.expiresAt !== null && raw.expiresAt !== '') {
    expiresAt = (typeof raw.expiresAt === 'string' && parseExpiry(raw.expiresAt)) || null;
    if (!expiresAt) errors.expiresAt = [EXPIRY_FORMAT];
  }
  if (expiresAt && (expiresAt.getTime() <= now.getTime() || expiresAt.getTime() - now.getTime() > EXPIRY_MAX_MS)) {
    errors.expiresAt = [EXPIRY_FORMAT];
  }
  if (Object.keys(errors).length > 0 || !isRole(raw.role)) return { errors };
  return { input: { name, role: raw.role, expiresAt } };
}

/** The live token (or person) that already has this name as people read it, if any. */
export async function nameTaken(
  tokens: Pick<TokenRepo, 'liveNames'>,
  name: string,
  now = new Date(),
): Promise<FieldErrors | undefined> {
  const key = nameKey(name);
  const twin = (await tokens.liveNames(now)).find((t) => nameKey(t.name) === key);
  if (!twin) return undefined;
  return {
    name: [
      {
        ja: `この名前は有効なトークン #${twin.id}（${twin.name}）が使っています。承認や監査ログは名前で人を区別するため、課名や氏名を加えるなどして別の名前にしてください（不要なら #${twin.id} を失効させてから）`,
        en: `Live token #${twin.id} already has this name; approvals and the audit log tell people apart by name, so add a section or full name (or revoke #${twin.id} first)`,
      },
    ],
  };
}

/**
 * Every check a new token passes, for each door that makes one (the API, the console, the
 * CLI): 400 for a bad field, 409 for a name a live token has.
 */
export async function prepareToken(
  tokens: Pick<TokenRepo, 'liveNames'>,
  raw: { name?: unknown; role?: unknown; expiresAt?: unknown },
  now = new Date(),
): Promise<{ input: TokenInput } | { errors: FieldErrors; status: 400 | 409 }> {
  const checked = checkTokenInput(raw, now);
  if ('errors' in checked) return { errors: checked.errors, status: 400 };
  const taken = await nameTaken(tokens, checked.input.name, now);
  if (taken) return { errors: taken, status: 409 };
  return checked;
}

export interface TokenServiceDeps {
  tokens: TokenRepo;
  audit: Pick<AuditRepo, 'record'>;
}

export type TokenService = ReturnType<typeof createTokenService>;

/**
 * Staff token management, shared by the admin API and the console so both check and audit
 * alike. The audit detail names the token and its role, never the token itself.
 */
export function createTokenService({ tokens, audit }: TokenServiceDeps) {
  return {
    list: (): Promise<StaffToken[]> => tokens.list(),

    async create(
      actor: StaffIdentity,
      raw: { name?: unknown; role?: unknown; expiresAt?: unknown },
    ): Promise<CreatedToken> {
      const checked = await prepareToken(tokens, raw);
      if ('errors' in checked) {
        if (checked.status === 400) throw invalidFields(checked.errors);
        const fields = Object.keys(checked.errors).join(', ');
        throw new Refusal(
          'conflict',
          'name_taken',
          { ja: `同じ名前の有効なトークンがあります: ${fields}`, en: `A live token has this name: ${fields}` },
          { fields: checked.errors },
        );
      }
      const { name, role, expiresAt } = checked.input;
      const { id, token } = await tokens.create(name, role, { expiresAt });
      const expires = expiresAt ? expiresAt.toISOString() : null;
      await audit.record(actor.name, 'token.create', String(id), {
        name,
        role,
        ...(expires ? { expiresAt: expires } : {}),
      });
      return { id, name, role, expiresAt: expires, token };
    },

    /** Revokes a live token; every console session made with it ends with it. 404 when none is live. */
    async revoke(actor: StaffIdentity, id: number): Promise<void> {
      if (!(await tokens.revoke(id))) throw notFound({ ja: `有効なトークン ${id} `, en: `Live token ${id}` });
      await audit.record(actor.name, 'token.revoke', String(id));
    },
  };
}
