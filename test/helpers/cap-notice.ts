import type { CapOptions } from '../../channels/cap/types.ts';
import type { EarlierRevision, NoticeView } from '../../src/domain/notice.ts';
import type { Db } from '../../src/store/db.ts';

export const CAP_TEST_OPTIONS: CapOptions = {
  sender: 'hibiki@city.kikuchi.example',
  cityCode: '432105',
  cityName: '菊池市',
};

/** 2026-11-26 19:39 JST. */
export const CAP_TEST_SENT = new Date('2026-11-26T10:39:00.000Z');

const BASE_URL = 'https://hibiki.city.kikuchi.example';

export const capIdentifier = (noticeId: string, revision: number): string =>
  `jp-432105-hibiki-${noticeId}-r${revision}`;

/** A notice view as the dispatcher would hand it to the CAP channel. */
export function makeCapNotice(overrides: Partial<NoticeView> = {}): NoticeView {
  const id = overrides.id ?? 'n0test';
  const revision = overrides.revision ?? 1;
  const identifier = overrides.capIdentifier ?? capIdentifier(id, revision);
  return {
    id,
    revision,
    kind: 'alert',
    title: '菊池川の氾濫に備えてください',
    body: '菊池川の水位が上昇しています。川に近づかないでください。',
    severity: 'warning',
    category: '気象情報',
    mode: 'actual',
    topics: ['disaster'],
    areas: [],
    link: null,
    pageUrl: `${BASE_URL}/notices/${id}`,
    capIdentifier: identifier,
    capUrl: `${BASE_URL}/feeds/cap/${identifier}.xml`,
    sentAt: CAP_TEST_SENT,
    expiresAt: new Date(CAP_TEST_SENT.getTime() + 6 * 3600_000),
    earlier: [],
    sender: { name: '菊池市', nameEn: 'Kikuchi City' },
    ...overrides,
  };
}

/** `count` earlier revisions of `noticeId`, oldest first, 10 minutes apart, the last 10 minutes before CAP_TEST_SENT. */
export function earlierRevisions(noticeId: string, count: number): EarlierRevision[] {
  return Array.from({ length: count }, (_, i) => ({
    revision: i + 1,
    capIdentifier: capIdentifier(noticeId, i + 1),
    sentAt: new Date(CAP_TEST_SENT.getTime() - (count - i) * 10 * 60_000),
  }));
}

/** cap_messages.notice_id references notices.id, so archived messages need a notice row. */
export async function insertNoticeRow(db: Db, id: string): Promise<void> {
  const now = new Date().toISOString();
  await db.kysely
    .insertInto('notices')
    .values({
      id,
      status: 'dispatched',
      current_revision: 1,
      severity: 'warning',
      mode: 'actual',
      title: `test notice ${id}`,
      created_by: 'test',
      created_at: now,
      updated_at: now,
      idempotency_key: null,
      idempotency_hash: null,
    })
    .execute();
}
