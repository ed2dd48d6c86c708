import type { Bilingual, FieldErrors } from './bilingual.ts';
import { roleLabel, type StaffRole } from './staff.ts';

/**
 * Why a use case said no, in the words of the domain: the HTTP layer alone decides what
 * status each kind becomes (src/http/errors.ts), and the console shows the same text.
 *
 * invalid: the input is wrong (a field, a time); not_found: no such thing; conflict: the
 * thing is not in a state that allows it; forbidden: not this person; unavailable: a part
 * the use case needs (the queue) is away; unprocessable: the request contradicts an earlier
 * one it claims to repeat (an Idempotency-Key used for another body).
 */
export type RefusalKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unavailable' | 'unprocessable';

export class Refusal extends Error {
  override name = 'Refusal';
  readonly kind: RefusalKind;
  /** Stable, for programs: the `code` of the API's error body. */
  readonly code: string;
  readonly messageEn: string;
  readonly fields: FieldErrors | undefined;

  constructor(kind: RefusalKind, code: string, message: Bilingual, options: { fields?: FieldErrors } = {}) {
    super(message.ja);
    this.kind = kind;
    this.code = code;
    this.messageEn = message.en;
    this.fields = options.fields;
  }

  get text(): Bilingual {
    return { ja: this.message, en: this.messageEn };
  }
}

/** Reasons per field, named in the message too (the console shows only the message). */
export function invalidFields(fields: FieldErrors, code = 'validation_failed'): Refusal {
  const names = Object.keys(fields).join(', ');
  return new Refusal(
    'invalid',
    code,
    { ja: `入力内容に誤りがあります: ${names}`, en: `Invalid input: ${names}` },
    { fields },
  );
}

export function notFound(what: Bilingual): Refusal {
  return new Refusal('not_found', 'not_found', { ja: `${what.ja}が見つかりません`, en: `${what.en} not found` });
}

/** The role needed; the message can be replaced where the reason is more specific. */
export function needsRole(needed: StaffRole, message?: Bilingual): Refusal {
  return new Refusal(
    'forbidden',
    'forbidden',
    message ?? {
      ja: `この操作には${roleLabel(needed)}以上のトークンが必要です`,
      en: `This requires a token with role ${needed} or higher`,
    },
  );
}
