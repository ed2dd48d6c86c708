/** Times are stored as ISO-8601 UTC text in both stores. */
export const toIso = (d: Date): string => d.toISOString();
export const fromIso = (s: string): Date => new Date(s);
export const fromIsoOrNull = (s: string | null): Date | null => (s === null ? null : new Date(s));
