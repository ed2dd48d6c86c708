import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { isAreaCode, isDistrictId, municipalityCode } from './area-code.ts';
import { type Catalogue, DEFAULT_TOPICS, defaultCatalogue } from './catalogue.ts';
import type { Area } from './notice.ts';

/** A catalogue file that cannot be used; the message names the file and the entry. */
export class CatalogueError extends Error {
  override name = 'CatalogueError';
}

const Label = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters');

const TopicEntry = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, - and _, starting with a letter (e.g. "disaster")'),
  name: Label,
  nameEn: Label,
});

const AreaEntry = z.strictObject({
  code: z
    .string()
    .refine(
      isAreaCode,
      'must be a JIS X 0402 code with a valid check digit (432105) or a district id: that code, a hyphen and 1–16 lower-case letters or digits (432105-01)',
    ),
  name: Label,
  nameEn: Label,
});

const CatalogueFile = z.strictObject({
  /** Absent: the default topics (防災, 気象, 避難所, 子育て, 健康, イベント, 行政). */
  topics: z.array(TopicEntry).min(1, 'list at least one topic, or leave "topics" out for the defaults').optional(),
  /** Absent or empty: the city itself is the one area. */
  areas: z.array(AreaEntry).optional(),
});

/** "topics[2] (id "kids")" — which entry an issue is about, in the reader's terms. */
function entryName(data: unknown, path: PropertyKey[]): string {
  const [list, index] = path;
  if ((list !== 'topics' && list !== 'areas') || typeof index !== 'number')
    return path.map(String).join('.') || '(top)';
  const entry = (data as Record<string, unknown[] | undefined>)[list]?.[index] as Record<string, unknown> | undefined;
  const key = list === 'topics' ? 'id' : 'code';
  const value = entry && typeof entry === 'object' ? entry[key] : undefined;
  const field = path.length > 2 ? `.${path.slice(2).map(String).join('.')}` : '';
  return `${list}[${index}]${typeof value === 'string' ? ` (${key} ${JSON.stringify(value)})` : ''}${field}`;
}

/**
 * Checks a parsed catalogue file. Besides each entry's shape: ids and codes are unique,
 * and a municipality is not listed together with its own districts, because the audience
 * matches area codes exactly: a notice for 432105 would miss residents who chose 432105-01.
 * A notice for the whole city names no area at all.
 */
export function parseCatalogue(data: unknown, source: string, city: Area): Catalogue {
  const parsed = CatalogueFile.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `${entryName(data, issue.path)}: unknown key(s) ${issue.keys.join(', ')} (expected topics: [{id, name, nameEn}], areas: [{code, name, nameEn}])`;
      }
      return `${entryName(data, issue.path)}: ${issue.message}`;
    });
    throw new CatalogueError(`catalogue file ${source} (CATALOGUE_FILE):\n${lines.join('\n')}`);
  }
  const topics = parsed.data.topics ?? DEFAULT_TOPICS;
  const areas = parsed.data.areas ?? [];
  const problems: string[] = [];
  const seen = new Set<string>();
  topics.forEach((t, i) => {
    if (seen.has(t.id)) problems.push(`topics[${i}] (id "${t.id}"): the id is listed twice`);
    seen.add(t.id);
  });
  const codes = new Set<string>();
  areas.forEach((a, i) => {
    if (codes.has(a.code)) problems.push(`areas[${i}] (code "${a.code}"): the code is listed twice`);
    codes.add(a.code);
  });
  areas.forEach((a, i) => {
    if (isDistrictId(a.code) && codes.has(municipalityCode(a.code))) {
      problems.push(
        `areas[${i}] (code "${a.code}"): its municipality ${municipalityCode(a.code)} is listed too; list the districts or the municipality, not both (a notice for the whole city names no area)`,
      );
    }
  });
  if (problems.length > 0)
    throw new CatalogueError(`catalogue file ${source} (CATALOGUE_FILE):\n${problems.join('\n')}`);
  return { topics, areas: areas.length > 0 ? areas : [city] };
}

/**
 * The topics and areas residents choose from: the JSON file named by CATALOGUE_FILE, or
 * the default (the standard topics, the city as its one area). Throws a CatalogueError
 * naming the file and each bad entry, so a deployment stops at start-up, not mid-notice.
 */
export async function loadCatalogue(file: string | undefined, city: Area): Promise<Catalogue> {
  if (!file) return defaultCatalogue(city);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CatalogueError(`catalogue file ${file} (CATALOGUE_FILE) cannot be read (${code})`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new CatalogueError(`catalogue file ${file} (CATALOGUE_FILE) is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseCatalogue(data, file, city);
}
