import type { Revision } from './revision.ts';

/** What a resident reads of a revision, in the order a correction lists what it changed. */
export const PUBLIC_FIELDS = [
  'title',
  'severity',
  'category',
  'areas',
  'expiresAt',
  'department',
  'link',
  'body',
] as const;
export type PublicField = (typeof PUBLIC_FIELDS)[number];

const sameAreas = (a: string[], b: string[]): boolean => {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((code) => set.has(code));
};

const SAME: Record<PublicField, (a: Revision, b: Revision) => boolean> = {
  title: (a, b) => a.title === b.title,
  severity: (a, b) => a.severity === b.severity,
  category: (a, b) => a.category === b.category,
  // The order areas were listed in is not news to a resident.
  areas: (a, b) => sameAreas(a.areas, b.areas),
  expiresAt: (a, b) => (a.expiresAt?.getTime() ?? null) === (b.expiresAt?.getTime() ?? null),
  department: (a, b) => a.department === b.department,
  link: (a, b) => a.link === b.link,
  body: (a, b) => a.body.replace(/\r\n?/g, '\n').trim() === b.body.replace(/\r\n?/g, '\n').trim(),
};

/** The fields a correction changed against the revision before it, in PUBLIC_FIELDS order. */
export function changedFields(before: Revision, after: Revision): PublicField[] {
  return PUBLIC_FIELDS.filter((field) => !SAME[field](before, after));
}
