/**
 * What the public notice pages (src/web) and the notices feed (src/feeds) agree on: where
 * they live and how they name the city and a notice's issuer.
 */
export interface City {
  name: string;
  nameEn: string;
}

export const NOTICES_PATH = '/notices';
export const NOTICES_FEED_PATH = '/notices.atom';

export const feedTitle = (city: City): string => `${city.name} お知らせ (${city.nameEn} notices)`;

/** The issuing section, or the city as a whole when the notice names none. */
export const issuer = (department: string | null, city: City): string => department ?? city.name;
