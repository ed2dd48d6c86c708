/**
 * Text a person reads: Japanese first, English beside it. Error bodies, delivery reasons
 * and refusals all carry both.
 */
export interface Bilingual {
  ja: string;
  en: string;
}

/** Reasons per field name (the top-level key of the request). */
export type FieldErrors = Record<string, Bilingual[]>;
