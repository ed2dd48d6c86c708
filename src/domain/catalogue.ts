import type { Area } from './notice.ts';

/** What residents can subscribe to. Topics are ids with Japanese and English labels. */
export interface Topic {
  id: string;
  name: string;
  nameEn: string;
}

export interface Catalogue {
  topics: Topic[];
  areas: Area[];
}

export const DEFAULT_TOPICS: Topic[] = [
  { id: 'disaster', name: '防災', nameEn: 'Disaster prevention' },
  { id: 'weather', name: '気象', nameEn: 'Weather' },
  { id: 'shelter', name: '避難所', nameEn: 'Shelters' },
  { id: 'childcare', name: '子育て', nameEn: 'Childcare' },
  { id: 'health', name: '健康', nameEn: 'Health' },
  { id: 'events', name: 'イベント', nameEn: 'Events' },
  { id: 'government', name: '行政', nameEn: 'City hall' },
];

/** The default catalogue: the city itself is the one area; more areas come from configuration. */
export function defaultCatalogue(city: Area): Catalogue {
  return { topics: DEFAULT_TOPICS, areas: [city] };
}
