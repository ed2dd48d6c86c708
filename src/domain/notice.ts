/** Plain types of a notice and its revisions, shared by the API, store, workers and channels. */

export const SEVERITIES = ['info', 'advisory', 'warning', 'emergency'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const CATEGORIES = ['避難情報', '避難所情報', '被害情報', '気象情報', 'お知らせ', 'イベント情報'] as const;
export type Category = (typeof CATEGORIES)[number];

/** actual goes to residents as real; exercise and test are marked 【訓練】 everywhere. */
export const MODES = ['actual', 'exercise', 'test'] as const;
export type Mode = (typeof MODES)[number];

/** alert is revision 1; update is a correction; cancel withdraws the notice. */
export type RevisionKind = 'alert' | 'update' | 'cancel';

export const LOCALES = ['ja', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const CHANNEL_IDS = ['mail', 'x', 'line', 'webpush', 'cap', 'webhook'] as const;
export type ChannelId = (typeof CHANNEL_IDS)[number];

export interface Area {
  /** JIS X 0402 code of the municipality. */
  code: string;
  name: string;
  nameEn: string;
}

export interface EarlierRevision {
  revision: number;
  capIdentifier: string;
  sentAt: Date;
}

/** Everything a channel needs to render one revision of a notice; nothing about recipients. */
export interface NoticeView {
  id: string;
  revision: number;
  kind: RevisionKind;
  title: string;
  body: string;
  severity: Severity;
  category: Category;
  mode: Mode;
  topics: string[];
  /** Empty means the whole city. */
  areas: Area[];
  link: string | null;
  /** The public page of the notice, which every channel links to. */
  pageUrl: string;
  capIdentifier: string;
  capUrl: string;
  /** When this revision was issued (CAP sent). */
  sentAt: Date;
  expiresAt: Date | null;
  /** Every earlier revision, oldest first: CAP references and 【訂正】 need them. */
  earlier: EarlierRevision[];
  sender: { name: string; nameEn: string };
}
