import type { FC } from 'hono/jsx';
import { CATEGORY_EN, SEVERITY_COLOUR, SEVERITY_WORD } from '../domain/labels.ts';
import type { Area, Category, Severity } from '../domain/notice.ts';
import { type City, feedTitle, NOTICES_FEED_PATH, NOTICES_PATH } from '../domain/public-pages.ts';
import type { PublicField } from '../domain/revision-changes.ts';
import { En, formatJst, isoJst } from './layout.tsx';

/** What the notice page, the notices list and the feed share: words, badges and looks. */

export interface NoticeRenderContext {
  /** Catalogue names of an area code; an unknown code reads as itself. */
  areaName: (code: string) => Area;
  city: City;
}

export const FIELD_WORD: Record<PublicField, { ja: string; en: string }> = {
  title: { ja: '件名', en: 'Title' },
  severity: { ja: '重要度', en: 'Severity' },
  category: { ja: '分類', en: 'Category' },
  areas: { ja: '対象地域', en: 'Area' },
  expiresAt: { ja: '有効期限', en: 'Expires' },
  department: { ja: '発表元', en: 'Issued by' },
  link: { ja: '関連リンク', en: 'Related link' },
  body: { ja: '本文', en: 'Text' },
};

/** Short: a correction or cancellation must reach readers within a minute, yet a burst of readers is cached. */
export const PUBLIC_NOTICE_CACHE = 'public, max-age=30';

export const noticePath = (id: string): string => `${NOTICES_PATH}/${encodeURIComponent(id)}`;

/** The feed's autodiscovery link, for the head of both pages (escaped by JSX). */
export const feedLinkHead = (city: City): string =>
  String(<link rel="alternate" type="application/atom+xml" title={feedTitle(city)} href={NOTICES_FEED_PATH} />);

/** A time in JST, with its machine-readable instant. */
export const JstTime: FC<{ at: Date }> = ({ at }) => <time datetime={isoJst(at)}>{formatJst(at)}</time>;

/**
 * Severity in words as well as colour: the colour alone must never carry the meaning. The
 * English word follows inline on the public pages (their `En` is a line of its own), in `En`
 * on the console's, or not at all where other English follows the badge.
 */
export const SeverityBadge: FC<{ severity: Severity; english?: 'inline' | 'En' | 'none' }> = ({
  severity,
  english = 'inline',
}) => {
  const badge = (
    <span class="badge" style={`background:${SEVERITY_COLOUR[severity]}`}>
      {SEVERITY_WORD.ja[severity]}
    </span>
  );
  if (english === 'none') return badge;
  const word = SEVERITY_WORD.en[severity];
  return (
    <>
      {badge} {english === 'En' ? <En>{word}</En> : <span lang="en">{word}</span>}
    </>
  );
};

export const CategoryWords: FC<{ category: Category }> = ({ category }) => (
  <>
    {category} <span lang="en">/ {CATEGORY_EN[category]}</span>
  </>
);

/** Catalogue names of the areas; none listed means the whole city. */
export const AreaWords: FC<{ areas: Area[]; city: City }> = ({ areas, city }) =>
  areas.length === 0 ? (
    <>
      {city.name}全域 <span lang="en">/ All of {city.nameEn}</span>
    </>
  ) : (
    <>
      {areas.map((a) => a.name).join('、')} <span lang="en">/ {areas.map((a) => a.nameEn).join(', ')}</span>
    </>
  );

/** Added to the shared layout's styles by the notices list and the notice page. */
export const NOTICE_CSS = `<style>
ol.notices{list-style:none;margin:0;padding:0}
ol.notices>li{border:1px solid #8a8f98;border-left-width:.5rem;border-radius:.375rem;padding:.75rem 1rem;margin:0 0 1rem}
ol.notices h3{font-size:1.125rem;line-height:1.5;margin:0 0 .25rem;overflow-wrap:anywhere}
ol.notices dl.facts{margin:.5rem 0 0;grid-template-columns:10em 1fr}
@media (max-width:30rem){ol.notices dl.facts{grid-template-columns:1fr}}
main h1,main h2,main dd,main li,main p{overflow-wrap:anywhere}
.changes{border-left:.5rem solid #0b57d0;background:#f5f8fd;padding:.25rem 1rem .75rem;margin:1rem 0}
.changes h2{margin-top:.5rem}
.changes ul{padding-left:1.25rem;margin:0}
.changes li{margin:.25rem 0}
.arrow{font-weight:700;padding:0 .25rem}
details{margin:1rem 0;border:1px solid #8a8f98;border-radius:.375rem;padding:.5rem 1rem}
summary{cursor:pointer;font-weight:700;min-height:2.75rem;display:list-item}
.withdrawn{color:#4a4a4a}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
ol.history li{margin:.25rem 0}
</style>`;
