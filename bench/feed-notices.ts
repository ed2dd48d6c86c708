import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Realistic notices for the benchmarks: the city's own fixed texts (templates/notices,
 * what staff pick on the console) filled with their examples, over the city's districts,
 * so feeds and mails carry the Japanese text they carry in a real disaster.
 */

interface TemplateField {
  key: string;
  kind: string;
  example?: string;
}
interface NoticeTemplate {
  severity: string;
  category: string;
  topics: string[];
  title: string;
  body: string;
  fields: TemplateField[];
}

const TEMPLATES_DIR = fileURLToPath(new URL('../templates/notices/', import.meta.url));
const DISTRICTS = ['菊池地区', '七城地区', '旭志地区', '泗水地区', '隈府地区', '花房地区', '深川地区', '戸崎地区'];

/** "2026-09-14T16:00" as staff write it in a notice: 9月14日16時00分. */
function japaneseTime(iso: string): string {
  const m = /^\d{4}-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
  return m ? `${Number(m[1])}月${Number(m[2])}日${m[3]}時${m[4]}分` : iso;
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? '');
}

export interface BenchNotice {
  title: string;
  body: string;
  severity: string;
  category: string;
  topics: string[];
}

/** `count` notices, each from a template in turn with its own districts. */
export function benchNotices(count: number): BenchNotice[] {
  const templates = readdirSync(TEMPLATES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(`${TEMPLATES_DIR}${f}`, 'utf8')) as NoticeTemplate);
  return Array.from({ length: count }, (_, i) => {
    const t = templates[i % templates.length] as NoticeTemplate;
    const values: Record<string, string> = {};
    for (const f of t.fields) values[f.key] = f.kind === 'datetime' ? japaneseTime(f.example ?? '') : (f.example ?? '');
    values.areas = `${DISTRICTS[i % DISTRICTS.length]}、${DISTRICTS[(i + 3) % DISTRICTS.length]}`;
    return {
      title: fill(t.title, values).trim(),
      // An empty optional field leaves blank lines; a person writing the notice would not.
      body: fill(t.body, values)
        .replace(/\n{3,}/g, '\n\n')
        .trim(),
      severity: t.severity,
      category: t.category,
      topics: t.topics,
    };
  });
}
