import type { Category, ChannelId, Mode, RevisionKind, Severity } from './notice.ts';

/** One revision of a notice as the store keeps it, in domain types. */
export interface Revision {
  noticeId: string;
  revision: number;
  kind: RevisionKind;
  title: string;
  body: string;
  severity: Severity;
  category: Category;
  mode: Mode;
  topics: string[];
  /** JIS X 0402 codes; empty means the whole city. */
  areas: string[];
  channels: ChannelId[];
  link: string | null;
  /** The section that issued it (防災危機管理課), shown on every public page; null: the city as a whole. */
  department: string | null;
  capIdentifier: string;
  sentAt: Date;
  expiresAt: Date | null;
  scheduledAt: Date | null;
  createdBy: string;
  createdAt: Date;
}

/** What staff decide for a revision; the store adds its number, CAP identifier and times. */
export type RevisionInput = Omit<
  Revision,
  'noticeId' | 'revision' | 'capIdentifier' | 'sentAt' | 'createdBy' | 'createdAt'
>;

/** CAP identifiers must never be reused: one per revision, built from the notice id. */
export function capIdentifierFor(cityCode: string, noticeId: string, revision: number): string {
  return `jp-${cityCode}-hibiki-${noticeId}-r${revision}`;
}
