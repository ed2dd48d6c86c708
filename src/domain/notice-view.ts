import type { Links } from './links.ts';
import type { Area, NoticeView } from './notice.ts';
import type { Revision } from './revision.ts';

export interface City {
  code: string;
  name: string;
  nameEn: string;
}

/** Builds what channels render from a stored revision and the revisions before it. */
export function toNoticeView(
  revision: Revision,
  earlier: Revision[],
  links: Links,
  city: City,
  areaNames: Map<string, Area>,
): NoticeView {
  return {
    id: revision.noticeId,
    revision: revision.revision,
    kind: revision.kind,
    title: revision.title,
    body: revision.body,
    severity: revision.severity,
    category: revision.category,
    mode: revision.mode,
    topics: revision.topics,
    areas: revision.areas.map((code) => areaNames.get(code) ?? { code, name: code, nameEn: code }),
    link: revision.link,
    pageUrl: links.noticePage(revision.noticeId),
    capIdentifier: revision.capIdentifier,
    capUrl: links.capFile(revision.capIdentifier),
    sentAt: revision.sentAt,
    expiresAt: revision.expiresAt,
    earlier: earlier
      .filter((r) => r.revision < revision.revision)
      .sort((a, b) => a.revision - b.revision)
      .map((r) => ({ revision: r.revision, capIdentifier: r.capIdentifier, sentAt: r.sentAt })),
    sender: { name: city.name, nameEn: city.nameEn },
  };
}
