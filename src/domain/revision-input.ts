import type { FieldErrors } from './bilingual.ts';
import type { Category, ChannelId, Mode, Severity } from './notice.ts';
import { invalidFields, Refusal } from './refusal.ts';
import type { Revision, RevisionInput } from './revision.ts';

/**
 * What staff write for a notice and its later revisions, the checks it must pass and the
 * revision each action makes of it. Pure: what this deployment knows (topics, areas,
 * enabled channels) is passed in.
 */

/** A new notice as staff write it; optional fields take the defaults below. */
export interface NoticeInput {
  title: string;
  body: string;
  severity: Severity;
  category: Category;
  topics?: string[];
  /** JIS X 0402 codes; empty or absent means the whole city. */
  areas?: string[];
  /** Absent: every enabled channel. */
  channels?: ChannelId[];
  mode?: Mode;
  expiresAt?: Date | null;
  scheduledAt?: Date | null;
  link?: string | null;
  /** The issuing section, shown to residents; absent: the city as a whole. */
  department?: string | null;
  /**
   * Store it for an approver to check instead of sending it (status pending_approval). The
   * way an author sends an emergency; anyone may ask for it for any notice.
   */
  requestApproval?: boolean;
}

/** What a resubmission may change in a returned notice; the rest is kept. */
export type ResubmitInput = Partial<Omit<NoticeInput, 'requestApproval'>>;

/** The fields a correction may change; the rest are carried over from the current revision. */
export type CorrectionInput = Partial<
  Pick<
    NoticeInput,
    'title' | 'body' | 'severity' | 'category' | 'topics' | 'areas' | 'channels' | 'link' | 'expiresAt' | 'department'
  >
>;

/** What this deployment knows: a notice may name only these. */
export interface KnownReferences {
  topics: ReadonlySet<string>;
  areas: ReadonlySet<string>;
  /** The channels enabled here, in their order. */
  channels: readonly ChannelId[];
}

/** As long as the API allows, so a name the console takes is one the API takes too. */
export const DEPARTMENT_MAX = 60;
export const departmentOf = (d: string | null | undefined): string | null => d?.trim() || null;

const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** Topics, areas and channels must be ones this deployment knows; the refusal names each bad value. */
export function checkReferences(
  input: {
    title?: string;
    body?: string;
    link?: string | null;
    topics?: string[];
    areas?: string[];
    channels?: ChannelId[];
    department?: string | null;
  },
  known: KnownReferences,
): void {
  const fields: FieldErrors = {};
  // PostgreSQL cannot store U+0000 in text (SQLite can): name the field instead of failing the insert with a 500.
  for (const name of ['title', 'body', 'department', 'link'] as const) {
    if (input[name]?.includes('\u0000')) {
      fields[name] = [
        {
          ja: 'NUL 文字（U+0000）は使えません。文字を入力し直してください',
          en: 'contains a NUL character (U+0000); type the text again',
        },
      ];
    }
  }
  if ((input.department?.trim().length ?? 0) > DEPARTMENT_MAX) {
    fields.department = [{ ja: `${DEPARTMENT_MAX}文字以内にしてください`, en: `at most ${DEPARTMENT_MAX} characters` }];
  }
  const topicList = [...known.topics].join(', ');
  const badTopics = (input.topics ?? []).filter((t) => !known.topics.has(t));
  if (badTopics.length > 0) {
    fields.topics = badTopics.map((t) => ({
      ja: `不明なトピックです: ${t}（使えるもの: ${topicList}）`,
      en: `unknown topic: ${t} (known: ${topicList})`,
    }));
  }
  const areaList = [...known.areas].join(', ');
  const badAreas = (input.areas ?? []).filter((a) => !known.areas.has(a));
  if (badAreas.length > 0) {
    fields.areas = badAreas.map((a) => ({
      ja: `この市で使えない地域コードです: ${a}（使えるもの: ${areaList}）`,
      en: `area code not known here: ${a} (known: ${areaList})`,
    }));
  }
  const enabled = known.channels;
  const badChannels = (input.channels ?? []).filter((c) => !enabled.includes(c));
  if (badChannels.length > 0) {
    fields.channels = badChannels.map((c) => ({
      ja: `このサーバーで有効になっていないチャネルです: ${c}（有効: ${enabled.join(', ')}）`,
      en: `channel not enabled here: ${c} (enabled: ${enabled.join(', ')})`,
    }));
  }
  if (input.channels && input.channels.length === 0) {
    fields.channels = [{ ja: 'チャネルを一つ以上指定してください', en: 'name at least one channel' }];
  }
  if (Object.keys(fields).length > 0) throw invalidFields(fields);
}

/** A notice must not expire before it is sent. */
export function checkTimes(expiresAt: Date | null, sendAt: Date): void {
  if (expiresAt && expiresAt.getTime() <= sendAt.getTime()) {
    throw invalidFields({
      expiresAt: [
        { ja: '有効期限は配信時刻より後にしてください', en: 'must be later than the time the notice is sent' },
      ],
    });
  }
}

/** The fields a change names (those given, even as null). */
export const changedFields = (changes: object): string[] =>
  Object.entries(changes)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);

/** A correction changes something. */
export function requireChanges(changed: string[]): void {
  if (changed.length === 0) {
    throw new Refusal('invalid', 'no_changes', {
      ja: '訂正する項目を一つ以上指定してください',
      en: 'Name at least one field to correct',
    });
  }
}

/**
 * What staff decided in a revision, field by field (none of the store's own: number,
 * identifier, times of writing): to write it again, or to show it.
 */
export function revisionContent(r: Revision): RevisionInput {
  return {
    kind: r.kind,
    title: r.title,
    body: r.body,
    severity: r.severity,
    category: r.category,
    mode: r.mode,
    topics: r.topics,
    areas: r.areas,
    channels: r.channels,
    link: r.link,
    department: r.department,
    expiresAt: r.expiresAt,
    scheduledAt: r.scheduledAt,
  };
}

/** Revision 1 of a new notice, with the defaults (every enabled channel); a schedule in the past means now. */
export function firstRevision(input: NoticeInput, enabled: readonly ChannelId[], now: Date): RevisionInput {
  return {
    kind: 'alert',
    title: input.title,
    body: input.body,
    severity: input.severity,
    category: input.category,
    mode: input.mode ?? 'actual',
    topics: unique(input.topics ?? []),
    areas: unique(input.areas ?? []),
    channels: unique(input.channels ?? enabled),
    link: input.link ?? null,
    department: departmentOf(input.department),
    expiresAt: input.expiresAt ?? null,
    scheduledAt: input.scheduledAt && input.scheduledAt > now ? input.scheduledAt : null,
  };
}

/** Revision 1 rewritten from a returned notice: the changed fields over what it said. */
export function resubmittedRevision(
  current: Revision,
  changes: ResubmitInput,
  enabled: readonly ChannelId[],
  now: Date,
): RevisionInput {
  const pick = <K extends keyof ResubmitInput>(key: K, fallback: NonNullable<NoticeInput[K]> | null) =>
    changes[key] !== undefined ? changes[key] : fallback;
  return firstRevision(
    {
      title: changes.title ?? current.title,
      body: changes.body ?? current.body,
      severity: changes.severity ?? current.severity,
      category: changes.category ?? current.category,
      mode: changes.mode ?? current.mode,
      topics: changes.topics ?? current.topics,
      areas: changes.areas ?? current.areas,
      channels: changes.channels ?? current.channels,
      link: pick('link', current.link),
      department: pick('department', current.department),
      expiresAt: pick('expiresAt', current.expiresAt),
      scheduledAt: pick('scheduledAt', current.scheduledAt),
    },
    enabled,
    now,
  );
}

/** The next revision of a correction: the changed fields over the current revision, sent now. */
export function correctionRevision(current: Revision, changes: CorrectionInput): RevisionInput {
  return {
    kind: 'update',
    title: changes.title ?? current.title,
    body: changes.body ?? current.body,
    severity: changes.severity ?? current.severity,
    category: changes.category ?? current.category,
    mode: current.mode,
    topics: unique(changes.topics ?? current.topics),
    areas: unique(changes.areas ?? current.areas),
    channels: unique(changes.channels ?? current.channels),
    link: changes.link !== undefined ? changes.link : current.link,
    department: changes.department !== undefined ? departmentOf(changes.department) : current.department,
    expiresAt: changes.expiresAt !== undefined ? changes.expiresAt : current.expiresAt,
    scheduledAt: null,
  };
}

/** The 【取消】 revision of the current one, to the same audience. */
export function cancelRevision(current: Revision, reason: string | undefined, now: Date): RevisionInput {
  return {
    kind: 'cancel',
    title: current.title,
    // The withdrawn instructions are not repeated under 【取消】: only the reason, if any.
    body: reason ?? '',
    severity: current.severity,
    category: current.category,
    mode: current.mode,
    topics: current.topics,
    areas: current.areas,
    channels: current.channels,
    link: null,
    department: current.department,
    expiresAt: current.expiresAt && current.expiresAt > now ? current.expiresAt : null,
    scheduledAt: null,
  };
}
