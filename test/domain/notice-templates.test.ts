import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTICE_TEMPLATES_DIR,
  loadNoticeTemplates,
  NoticeTemplateError,
} from '../../src/domain/load-notice-templates.ts';
import { CATEGORIES, SEVERITIES } from '../../src/domain/notice.ts';
import {
  type FilledNotice,
  type FillResult,
  fillNoticeTemplate,
  type NoticeTemplate,
  templateExampleValues,
} from '../../src/domain/notice-templates.ts';

const CATALOGUE = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../templates/catalogue.example.json', import.meta.url)), 'utf8'),
) as { topics: { id: string }[] };
const TOPICS = CATALOGUE.topics.map((t) => t.id);

const root = mkdtempSync(join(tmpdir(), 'hibiki-notice-templates-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A templates folder of the test's own, with these files. */
function folder(files: Record<string, unknown>): string {
  const dir = join(root, `set-${++dirs}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** The smallest valid template, to break one thing at a time. */
function minimal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'road-closed',
    name: '通行止め',
    nameEn: 'Road closed',
    severity: 'advisory',
    category: 'お知らせ',
    topics: ['disaster'],
    title: '通行止め（{{road}}）',
    body: '{{road}}は通行止めです。\n迂回路：{{detour}}',
    fields: [
      { key: 'road', label: '路線', labelEn: 'Road', kind: 'text', required: true, example: '県道53号' },
      { key: 'detour', label: '迂回路', labelEn: 'Detour', kind: 'textarea', required: false },
    ],
    ...overrides,
  };
}

/** The NoticeTemplateError's message for one bad file, checking it names the file. */
function problem(content: unknown, options: { topics?: string[] } = {}): string {
  const dir = folder({ 'bad.json': content });
  let err: unknown;
  try {
    loadNoticeTemplates(dir, options);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NoticeTemplateError);
  const message = (err as Error).message;
  expect(message).toContain(join(dir, 'bad.json'));
  return message;
}

function filled(result: FillResult): FilledNotice {
  if (!result.ok) throw new Error(`expected the template to fill, got ${JSON.stringify(result.fields)}`);
  return result.notice;
}

function fieldErrors(result: FillResult) {
  if (result.ok) throw new Error('expected field errors, but the template filled');
  return result.fields;
}

const shipped = loadNoticeTemplates(DEFAULT_NOTICE_TEMPLATES_DIR, { topics: TOPICS });
const byId = (id: string): NoticeTemplate => {
  const t = shipped.find((x) => x.id === id);
  if (!t) throw new Error(`no shipped template ${id}`);
  return t;
};

describe('the shipped templates', () => {
  it('include the common emergencies, with severity, category and 警戒レベル as municipalities issue them', () => {
    const expected: [string, string, string, string | undefined][] = [
      ['shelter-opening', 'advisory', '避難所情報', undefined],
      ['elderly-evacuation', 'warning', '避難情報', '【警戒レベル3】高齢者等避難'],
      ['evacuation-order', 'emergency', '避難情報', '【警戒レベル4】避難指示'],
      ['emergency-safety', 'emergency', '避難情報', '【警戒レベル5】緊急安全確保'],
      ['evacuation-order-lifted', 'info', '避難情報', undefined],
    ];
    for (const [id, severity, category, level] of expected) {
      const t = byId(id);
      expect({ id, severity: t.severity, category: t.category }).toEqual({ id, severity, category });
      if (level) expect(t.title + t.body).toContain(level);
    }
  });

  it('are listed in their declared order', () => {
    const orders = shipped.map((t) => t.order ?? Number.POSITIVE_INFINITY);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    expect(shipped.map((t) => t.id).slice(0, 5)).toEqual([
      'shelter-opening',
      'elderly-evacuation',
      'evacuation-order',
      'emergency-safety',
      'evacuation-order-lifted',
    ]);
  });

  it.each(shipped.map((t) => [t.id, t] as const))('%s fills in with its examples, in both languages', (_, t) => {
    expect(SEVERITIES).toContain(t.severity);
    expect(CATEGORIES).toContain(t.category);
    for (const topic of t.topics) expect(TOPICS).toContain(topic);
    for (const f of t.fields.filter((x) => x.required)) expect(f.example, `${t.id}.${f.key}.example`).toBeTruthy();

    const notice = filled(fillNoticeTemplate(t, templateExampleValues(t)));
    for (const text of [notice.title, notice.body, notice.titleEn, notice.bodyEn]) {
      expect(text).toBeTruthy();
      expect(text).not.toMatch(/\{\{|\}\}/);
    }
    for (const f of t.fields.filter((x) => x.kind === 'text' || x.kind === 'textarea')) {
      if (f.key.endsWith('En')) expect(notice.bodyEn).toContain(f.example);
      else expect(notice.body).toContain(f.example);
    }
    expect(notice).toMatchObject({ severity: t.severity, category: t.category, topics: t.topics });
  });

  it('state the time in JST and join the areas as each language does', () => {
    const notice = filled(
      fillNoticeTemplate(byId('evacuation-order'), {
        areas: ['菊池地区', { ja: '七城地区', en: 'Shichijo district' }],
        hazard: '土砂災害',
        issuedAt: '2026-09-14T10:40Z',
      }),
    );
    expect(notice.title).toBe('【警戒レベル4】避難指示 発令（菊池地区、七城地区）');
    expect(
      notice.body.startsWith(
        '9月14日19時40分、菊池地区、七城地区に土砂災害に関する【警戒レベル4】避難指示を発令しました。',
      ),
    ).toBe(true);
    expect(notice.titleEn).toBe('[Alert Level 4] Evacuation order: 菊池地区, Shichijo district');
    expect(notice.bodyEn).toContain('At 19:40 on 14 September,');
  });

  it('leave out the lines of optional fields left empty, without a gap', () => {
    const notice = filled(
      fillNoticeTemplate(byId('evacuation-order'), {
        areas: '菊池地区\n 旭志地区 ',
        hazard: ' 洪水 ',
        issuedAt: '2026-09-14T19:40',
        situation: '   ',
      }),
    );
    expect(notice.title).toBe('【警戒レベル4】避難指示 発令（菊池地区、旭志地区）');
    expect(notice.body).toContain('旭志地区に洪水に関する');
    expect(notice.body).not.toContain('開設している避難所');
    expect(notice.body).not.toMatch(/\n\n\n/);
    expect(notice.bodyEn).not.toContain('Shelters open');
  });

  it('in English: the English text as title and body', () => {
    const t = byId('emergency-safety');
    const notice = filled(fillNoticeTemplate(t, templateExampleValues(t), 'en'));
    expect(notice.title).toBe('[Alert Level 5] Emergency safety measures: 旭志地区');
    expect(notice.body).toContain('Your life is in danger');
    expect(notice.titleEn).toBeUndefined();
    expect(notice.bodyEn).toBeUndefined();
  });
});

describe('fillNoticeTemplate', () => {
  it('names each missing required field, in Japanese and English', () => {
    const t = byId('evacuation-order');
    const fields = fieldErrors(fillNoticeTemplate(t, { hazard: '洪水', areas: [], issuedAt: '' }));
    expect(Object.keys(fields).sort()).toEqual(['areas', 'issuedAt']);
    expect(fields.areas).toEqual([{ ja: '「対象地区」を入力してください', en: 'Areas is required' }]);
    expect(fields.issuedAt).toEqual([{ ja: '「発令日時」を入力してください', en: 'Issued at is required' }]);
  });

  it('keeps what staff type literal: no placeholder, template tag or dollar-brace is expanded again', () => {
    const t = byId('evacuation-order');
    const attempts = {
      hazard: '{{areas}}',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the injection attempt under test
      situation: '<%= it.constructor.constructor("return process")().exit() %> ${process.env.HOME} {{situation}}',
      shelters: "$& $1 $` $' {{ shelters }} <script>alert(1)</script>",
      situationEn: '{{issuedAt}}',
    };
    const notice = filled(fillNoticeTemplate(t, { ...attempts, areas: '菊池地区', issuedAt: '2026-09-14T19:40' }));
    expect(notice.body).toContain('菊池地区に{{areas}}に関する');
    expect(notice.body).toContain(attempts.situation);
    expect(notice.body).toContain(`開設している避難所：${attempts.shelters}`);
    expect(notice.bodyEn).toContain('\n\n{{issuedAt}}\n\n');
    expect(notice.bodyEn).toContain(`Shelters open: ${attempts.shelters}`);
  });

  it('checks each value against its kind', () => {
    const t = byId('evacuation-order');
    const fields = fieldErrors(
      fillNoticeTemplate(t, {
        areas: '菊池地区',
        hazard: '洪水\n土砂災害',
        issuedAt: '2026-02-30T19:40',
        situation: `大雨\u202Eです`,
        shelters: 'あ'.repeat(2_001),
      }),
    );
    expect(fields.hazard?.[0]).toEqual({ ja: '「災害の種類」に改行は入れられません', en: 'Hazard: no line breaks' });
    expect(fields.issuedAt?.[0]?.en).toContain('2026-11-26T19:40');
    expect(fields.situation?.[0]?.ja).toContain('制御文字');
    expect(fields.shelters?.[0]).toEqual({
      ja: '「開設している避難所」は2000文字以内にしてください（現在2001文字）',
      en: 'Shelters open: at most 2000 characters (now 2001)',
    });
    const list = fieldErrors(
      fillNoticeTemplate(t, { areas: ['菊池地区'], hazard: ['洪水'], issuedAt: '2026-09-14T19:40' }),
    );
    expect(list.hazard?.[0]?.en).toBe('Hazard: give one value, not a list');
  });

  it('names the title fields when the filled title would be longer than a notice title may be', () => {
    const t = byId('evacuation-order');
    const areas = Array.from({ length: 30 }, (_, i) => `第${i + 1}行政区`);
    const fields = fieldErrors(fillNoticeTemplate(t, { areas, hazard: '洪水', issuedAt: '2026-09-14T19:40' }));
    expect(Object.keys(fields)).toEqual(['areas']);
    expect(fields.areas?.[0]?.ja).toContain('件名が200文字を超えます');
  });
});

describe('loadNoticeTemplates', () => {
  it('takes a template added as a file, and sorts by order, then by name', () => {
    const dir = folder({
      'b.json': minimal({ id: 'b', name: 'い通行止め' }),
      'a.json': minimal({ id: 'a', name: 'あ通行止め' }),
      'c.json': minimal({ id: 'c', name: 'う通行止め', order: 1 }),
      'README.md': '# not a template',
    });
    expect(loadNoticeTemplates(dir).map((t) => t.id)).toEqual(['c', 'a', 'b']);
    const notice = filled(fillNoticeTemplate(loadNoticeTemplates(dir)[0] as NoticeTemplate, { road: '県道53号' }));
    expect(notice).toEqual({
      title: '通行止め（県道53号）',
      body: '県道53号は通行止めです。',
      severity: 'advisory',
      category: 'お知らせ',
      topics: ['disaster'],
    });
  });

  it('an unknown placeholder: names the file, the part and the placeholder', () => {
    const message = problem(minimal({ body: '{{road}}は通行止めです。{{reopenAt}}\n{{detour}}' }));
    expect(message).toContain('body: unknown placeholder {{reopenAt}}');
    expect(message).toContain('road, detour');
    expect(problem(minimal({ title: '通行止め（{{ road }}）' }))).toContain('write {{road}} without spaces');
    expect(problem(minimal({ body: '{{road}}は通行止めです。{{detour' }))).toContain(
      'body: has a {{ or }} that does not close',
    );
  });

  it('bad JSON: names the file and the line', () => {
    const message = problem('{ "id": "road-closed",\n}');
    expect(message).toMatch(/bad\.json: is not valid JSON: .*\(line 2, column 1\)/);
  });

  it('a bad severity or kind: names the file, the JSON path and the values allowed', () => {
    expect(problem(minimal({ severity: 'critical' }))).toContain(
      'bad.json: severity: must be one of info, advisory, warning, emergency',
    );
    const fields = (minimal().fields as Record<string, unknown>[]).map((f, i) =>
      i === 1 ? { ...f, kind: 'select' } : f,
    );
    expect(problem(minimal({ fields }))).toContain(
      'fields[1] (key "detour").kind: must be one of text, textarea, area-list, datetime',
    );
    expect(problem(minimal({ category: '防災' }))).toContain('category: must be one of 避難情報');
  });

  it('missing or unknown keys, a bad id: says what to write', () => {
    const { required: _, ...noRequired } = (minimal().fields as Record<string, unknown>[])[0] as Record<
      string,
      unknown
    >;
    const fields = [noRequired, (minimal().fields as unknown[])[1]];
    expect(problem(minimal({ fields }))).toContain('fields[0] (key "road").required: missing; add it');
    expect(problem(minimal({ colour: 'red' }))).toContain('unknown key(s) colour');
    expect(problem(minimal({ id: 'Road_Closed' }))).toContain('id: kebab-case');
  });

  it('a title that could be left with a gap, an unused field, half an English version: each named', () => {
    expect(problem(minimal({ title: '通行止め（{{detour}}）', body: '{{road}}' }))).toContain(
      'title: {{detour}} is optional',
    );
    expect(problem(minimal({ body: '{{road}}は通行止めです。' }))).toContain(
      'fields[1] (key "detour"): is not used: put {{detour}} in the title or body',
    );
    expect(problem(minimal({ titleEn: 'Road closed: {{road}}' }))).toContain('bodyEn: give both titleEn and bodyEn');
  });

  it('an example that would not fill its own field is an error', () => {
    const fields = [
      { key: 'road', label: '路線', labelEn: 'Road', kind: 'datetime', required: true, example: '明日の朝' },
      { key: 'detour', label: '迂回路', labelEn: 'Detour', kind: 'textarea', required: false },
    ];
    expect(problem(minimal({ fields }))).toContain('fields[0] (key "road").example: Road: enter a real date and time');
  });

  it("a topic the deployment's catalogue does not have", () => {
    expect(problem(minimal({ topics: ['kids'] }), { topics: TOPICS })).toContain(
      'topics[0]: unknown topic "kids"; use one of the catalogue\'s topics: disaster',
    );
  });

  it('reports every bad file at once, and an id used by two files', () => {
    const dir = folder({
      'one.json': minimal(),
      'two.json': minimal(),
      'three.json': minimal({ id: 'three', severity: 'loud' }),
    });
    let err: unknown;
    try {
      loadNoticeTemplates(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoticeTemplateError);
    const problems = (err as NoticeTemplateError).problems;
    expect(problems.map((p) => [p.file, p.path])).toEqual([
      [join(dir, 'three.json'), 'severity'],
      [join(dir, 'two.json'), 'id'],
    ]);
    expect(problems[1]?.message).toContain(join(dir, 'one.json'));
  });

  it('a folder that cannot be read names the setting', () => {
    expect(() => loadNoticeTemplates(join(root, 'no-such-folder'))).toThrow(/NOTICE_TEMPLATES_DIR.*ENOENT/s);
  });
});
