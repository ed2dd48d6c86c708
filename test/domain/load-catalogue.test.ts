import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCapMessage } from '../../channels/cap/build-cap.ts';
import { isAreaCode, isDistrictId, municipalityCode } from '../../src/domain/area-code.ts';
import { DEFAULT_TOPICS } from '../../src/domain/catalogue.ts';
import { CatalogueError, loadCatalogue } from '../../src/domain/load-catalogue.ts';
import { CAP_TEST_OPTIONS, makeCapNotice } from '../helpers/cap-notice.ts';
import { validateCap } from '../helpers/cap-schema.ts';

const CITY = { code: '432105', name: '菊池市', nameEn: 'Kikuchi City' };
const EXAMPLE = fileURLToPath(new URL('../../templates/catalogue.example.json', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hibiki-catalogue-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The CatalogueError's message for a file, failing if it loads. */
async function problem(content: unknown, name = 'bad.json'): Promise<string> {
  const path = await fileWith(name, content);
  const err = await loadCatalogue(path, CITY).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CatalogueError);
  const message = (err as Error).message;
  expect(message).toContain(path);
  return message;
}

describe('area codes', () => {
  it('takes JIS X 0402 codes and district ids under a valid code', () => {
    expect(isAreaCode('432105')).toBe(true);
    expect(isAreaCode('432104')).toBe(false);
    expect(isAreaCode('432105-01')).toBe(true);
    expect(isDistrictId('432105-01')).toBe(true);
    expect(isDistrictId('432104-01')).toBe(false);
    expect(isAreaCode('432105-')).toBe(false);
    expect(isAreaCode('432105-A1')).toBe(false);
    expect(municipalityCode('432105-01')).toBe('432105');
    expect(municipalityCode('432105')).toBe('432105');
  });
});

describe('loadCatalogue', () => {
  it('without a file: the default topics and the city as the one area', async () => {
    const catalogue = await loadCatalogue(undefined, CITY);
    expect(catalogue.topics.map((t) => t.name)).toEqual([
      '防災',
      '気象',
      '避難所',
      '子育て',
      '健康',
      'イベント',
      '行政',
    ]);
    expect(catalogue.areas).toEqual([CITY]);
  });

  it('reads the shipped example: seven topics and four districts of Kikuchi', async () => {
    const catalogue = await loadCatalogue(EXAMPLE, CITY);
    expect(catalogue.topics).toEqual(DEFAULT_TOPICS);
    expect(catalogue.areas.map((a) => a.code)).toEqual(['432105-01', '432105-02', '432105-03', '432105-04']);
    expect(catalogue.areas[1]).toEqual({ code: '432105-02', name: '七城地区', nameEn: 'Shichijo district' });
  });

  it('leaving out topics gives the defaults; leaving out areas gives the city', async () => {
    const onlyAreas = await loadCatalogue(
      await fileWith('areas.json', { areas: [{ code: '432105-01', name: '菊池地区', nameEn: 'Kikuchi' }] }),
      CITY,
    );
    expect(onlyAreas.topics).toEqual(DEFAULT_TOPICS);
    const onlyTopics = await loadCatalogue(
      await fileWith('topics.json', { topics: [{ id: 'disaster', name: '防災', nameEn: 'Disaster' }] }),
      CITY,
    );
    expect(onlyTopics.areas).toEqual([CITY]);
  });

  it('names the file and the entry for each bad one', async () => {
    const message = await problem({
      topics: [
        { id: 'disaster', name: '防災', nameEn: 'Disaster' },
        { id: 'Kids!', name: '子育て', nameEn: 'Childcare' },
      ],
      areas: [
        { code: '432105-01', name: '菊池地区', nameEn: 'Kikuchi' },
        { code: '432104', name: '誤り', nameEn: 'Wrong check digit' },
        { code: '432105-02', name: '', nameEn: 'Shichijo' },
      ],
    });
    expect(message).toContain('topics[1] (id "Kids!").id');
    expect(message).toContain('areas[1] (code "432104").code: must be a JIS X 0402 code');
    expect(message).toContain('areas[2] (code "432105-02").name: must not be empty');
  });

  it('refuses duplicates, unknown keys, a municipality listed with its districts, bad JSON and a missing file', async () => {
    expect(
      await problem({
        topics: [
          { id: 'disaster', name: '防災', nameEn: 'Disaster' },
          { id: 'disaster', name: '防災2', nameEn: 'Disaster 2' },
        ],
      }),
    ).toContain('topics[1] (id "disaster"): the id is listed twice');
    expect(await problem({ topics: [{ id: 'a', name: 'A', nameEn: 'A', colour: 'red' }] })).toContain(
      'topics[0] (id "a"): unknown key(s) colour',
    );
    expect(
      await problem({
        areas: [
          { code: '432105', name: '菊池市', nameEn: 'Kikuchi' },
          { code: '432105-01', name: '菊池地区', nameEn: 'Kikuchi district' },
        ],
      }),
    ).toContain('areas[1] (code "432105-01"): its municipality 432105 is listed too');
    expect(await problem('{"topics": [', 'broken.json')).toContain('is not valid JSON');
    expect(await problem({ topics: [] })).toContain('topics: list at least one topic');
    const missing = join(dir, 'missing.json');
    await expect(loadCatalogue(missing, CITY)).rejects.toThrow(
      `catalogue file ${missing} (CATALOGUE_FILE) cannot be read (ENOENT)`,
    );
  });
});

describe('CAP geocode of a district', () => {
  it('is its municipality code, once, and the message stays valid CAP 1.2', async () => {
    const notice = makeCapNotice({
      areas: [
        { code: '432105-01', name: '菊池地区', nameEn: 'Kikuchi district' },
        { code: '432105-04', name: '泗水地区', nameEn: 'Shisui district' },
      ],
    });
    const message = buildCapMessage(notice, CAP_TEST_OPTIONS);
    expect(message.xml).toContain('<areaDesc>菊池地区 泗水地区</areaDesc>');
    expect(message.xml.match(/<geocode>/g)).toHaveLength(1);
    expect(message.xml).toMatch(/<valueName>JISX0402<\/valueName>\s*<value>432105<\/value>/);
    expect(message.xml).not.toContain('432105-0');
    expect((await validateCap(message.xml)).valid).toBe(true);
  });
});
