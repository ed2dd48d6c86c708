import { createHash } from 'node:crypto';

export type { CorrectionInput, NoticeInput, ResubmitInput } from '../../domain/revision-input.ts';
export { DEPARTMENT_MAX, revisionContent } from '../../domain/revision-input.ts';

/**
 * sha256 of JSON with sorted keys, so the same request hashes the same whatever its key
 * order: what an Idempotency-Key is checked against.
 */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
