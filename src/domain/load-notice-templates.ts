import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CATEGORIES, SEVERITIES } from './notice.ts';
import {
  checkFieldValue,
  hasStrayBraces,
  NOTICE_BODY_MAX,
  NOTICE_TITLE_MAX,
  type NoticeTemplate,
  placeholdersIn,
  TEMPLATE_FIELD_KINDS,
  type TemplateField,
} from './notice-templates.ts';

/** The templates that ship with Hibiki, found beside the source, whatever the working directory. */
export const DEFAULT_NOTICE_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/notices/', import.meta.url));

export interface NoticeTemplateProblem {
  file: string;
  /** Where in the file, e.g. `fields[1] (key "areas").kind`; `(file)` for the file as a whole. */
  path: string;
  message: string;
}

/** Template files that cannot be used; the message has one line per problem, naming file, place and fix. */
export class NoticeTemplateError extends Error {
  override name = 'NoticeTemplateError';
  readonly problems: readonly NoticeTemplateProblem[];

  constructor(dir: string, problems: NoticeTemplateProblem[], options?: ErrorOptions) {
    const lines = problems.map((p) => `${p.file}: ${p.path === '(file)' ? '' : `${p.path}: `}${p.message}`);
    super(`notice templates in ${dir} (NOTICE_TEMPLATES_DIR):\n${lines.join('\n')}`, options);
    this.problems = problems;
  }
}

const Label = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters');
const Text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);
const oneOf = (values: readonly string[]) => ({ error: `must be one of ${values.join(', ')}` });

const FieldEntry = z.strictObject({
  key: z
    .string()
    .regex(
      /^[a-z][a-zA-Z0-9]{0,39}$/,
      'letters and digits, starting with a lower-case letter, as in "issuedAt" (it is the {{key}} placeholder)',
    ),
  label: Label,
  labelEn: Label,
  kind: z.enum(TEMPLATE_FIELD_KINDS, oneOf(TEMPLATE_FIELD_KINDS)),
  required: z.boolean({ error: 'must be true or false' }),
  example: z.string().max(2_000, 'at most 2000 characters').optional(),
  hint: z.string().trim().min(1, 'must not be empty').max(300, 'at most 300 characters').optional(),
  hintEn: z.string().trim().min(1, 'must not be empty').max(300, 'at most 300 characters').optional(),
});

const TemplateFile = z.strictObject({
  id: z
    .string()
    .regex(
      /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/,
      'kebab-case: lower-case letters and digits joined by single hyphens, as in "evacuation-order"',
    )
    .max(60, 'at most 60 characters'),
  order: z.number().int('a whole number').min(0, 'from 0').max(100_000, 'at most 100000').optional(),
  name: Label,
  nameEn: Label,
  severity: z.enum(SEVERITIES, oneOf(SEVERITIES)),
  category: z.enum(CATEGORIES, oneOf(CATEGORIES)),
  /** Empty reaches every subscriber, as a notice without topics does. */
  topics: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a topic id from the catalogue, as in "disaster"'))
    .max(50, 'at most 50 topics'),
  title: Text(NOTICE_TITLE_MAX),
  body: Text(NOTICE_BODY_MAX),
  titleEn: Text(NOTICE_TITLE_MAX).optional(),
  bodyEn: Text(NOTICE_BODY_MAX).optional(),
  fields: z.array(FieldEntry).max(30, 'at most 30 fields'),
});

const EXPECTED_KEYS =
  'expected id, order, name, nameEn, severity, category, topics, title, body, titleEn, bodyEn, fields; each field: key, label, labelEn, kind, required, example, hint, hintEn';

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** `fields[1] (key "areas").kind`: which entry an issue is about, in the reader's terms. */
function jsonPath(data: unknown, path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top)';
  let out = '';
  path.forEach((part, i) => {
    if (typeof part === 'number') {
      out += `[${part}]`;
      const entry = valueAt(data, path.slice(0, i + 1));
      const key = entry && typeof entry === 'object' ? (entry as Record<string, unknown>).key : undefined;
      if (path[i - 1] === 'fields' && typeof key === 'string') out += ` (key ${JSON.stringify(key)})`;
    } else {
      out += `${out ? '.' : ''}${String(part)}`;
    }
  });
  return out;
}

function fieldPath(fields: readonly TemplateField[], index: number, rest = ''): string {
  return `fields[${index}] (key ${JSON.stringify(fields[index]?.key)})${rest}`;
}

/**
 * The checks a schema cannot make: every `{{…}}` names a declared field, every field is
 * used, the title uses only required one-line fields (so it is never left with a gap),
 * keys are unique, and each example passes its own field's check.
 */
function crossCheck(template: NoticeTemplate, topics: ReadonlySet<string> | undefined): [string, string][] {
  const problems: [string, string][] = [];
  const keys = template.fields.map((f) => f.key);
  const byKey = new Map(template.fields.map((f) => [f.key, f]));
  const declared = keys.length > 0 ? keys.join(', ') : 'none';

  template.fields.forEach((f, i) => {
    if (keys.indexOf(f.key) !== i) problems.push([fieldPath(template.fields, i, '.key'), 'this key is used twice']);
  });

  if ((template.titleEn === undefined) !== (template.bodyEn === undefined)) {
    problems.push([
      template.titleEn === undefined ? 'titleEn' : 'bodyEn',
      'give both titleEn and bodyEn (the English version), or neither',
    ]);
  }

  const used = new Set<string>();
  for (const part of ['title', 'body', 'titleEn', 'bodyEn'] as const) {
    const text = template[part];
    if (text === undefined) continue;
    if (hasStrayBraces(text)) {
      problems.push([part, 'has a {{ or }} that does not close; write placeholders as {{key}}']);
    }
    for (const p of placeholdersIn(text)) {
      const field = byKey.get(p.name);
      if (!field) {
        const near = byKey.has(p.name.trim()) ? `; write {{${p.name.trim()}}} without spaces` : '';
        problems.push([
          part,
          `unknown placeholder ${p.raw}${near}; declare a field with key ${JSON.stringify(p.name.trim())} in "fields" or use one of: ${declared}`,
        ]);
        continue;
      }
      used.add(field.key);
      if ((part === 'title' || part === 'titleEn') && (!field.required || field.kind === 'textarea')) {
        problems.push([
          part,
          `${p.raw} is ${field.required ? 'a textarea' : 'optional'}; a title may use only required text, area-list or datetime fields, so it is never left with a gap (make the field required, or move ${p.raw} to the body)`,
        ]);
      }
    }
  }

  template.fields.forEach((f, i) => {
    if (!used.has(f.key)) {
      problems.push([
        fieldPath(template.fields, i),
        `is not used: put {{${f.key}}} in the title or body, or remove the field`,
      ]);
    }
    if (f.example === undefined) return;
    const checked = checkFieldValue(f, f.example);
    if (checked && !checked.ok) {
      problems.push([fieldPath(template.fields, i, '.example'), checked.reasons.map((r) => r.en).join('; ')]);
    }
  });

  if (topics) {
    template.topics.forEach((t, i) => {
      if (!topics.has(t)) {
        problems.push([
          `topics[${i}]`,
          `unknown topic ${JSON.stringify(t)}; use one of the catalogue's topics: ${[...topics].join(', ')}`,
        ]);
      }
    });
  }
  return problems;
}

export interface NoticeTemplateOptions {
  /** The deployment's topic ids; given, a template naming another topic is an error. */
  topics?: readonly string[];
}

/**
 * Checks one parsed template file. Returns the template or the problems found in it,
 * each with the place in the file and what to change.
 */
export function parseNoticeTemplate(
  data: unknown,
  file: string,
  options: NoticeTemplateOptions = {},
): NoticeTemplate | NoticeTemplateProblem[] {
  const parsed = TemplateFile.safeParse(data);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const path = jsonPath(data, issue.path);
      if (issue.code === 'unrecognized_keys') {
        return { file, path, message: `unknown key(s) ${issue.keys.join(', ')} (${EXPECTED_KEYS})` };
      }
      if (issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined) {
        return { file, path, message: `missing; add it (${issue.message})` };
      }
      return { file, path, message: issue.message };
    });
  }
  const template: NoticeTemplate = parsed.data;
  const topics = options.topics ? new Set(options.topics) : undefined;
  const problems = crossCheck(template, topics).map(([path, message]) => ({ file, path, message }));
  return problems.length > 0 ? problems : template;
}

/** JSON.parse names a character offset; an editor shows lines and columns. */
function lineAndColumn(text: string, message: string): string {
  const at = /position (\d+)/.exec(message);
  if (!at) return '';
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

/** Templates with an order first, by order; then the rest; each group by name, as staff read it. */
function byOrderThenName(a: NoticeTemplate, b: NoticeTemplate): number {
  const oa = a.order ?? Number.POSITIVE_INFINITY;
  const ob = b.order ?? Number.POSITIVE_INFINITY;
  if (oa !== ob) return oa < ob ? -1 : 1;
  return a.name.localeCompare(b.name, 'ja') || a.id.localeCompare(b.id);
}

/**
 * Reads every `*.json` in the folder (one template per file, so staff add one without
 * code) and checks them all. Throws a NoticeTemplateError listing every problem in every
 * file, so a deployment stops at start-up rather than when a template is picked.
 * An empty folder gives no templates.
 */
export function loadNoticeTemplates(dir: string, options: NoticeTemplateOptions = {}): NoticeTemplate[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.json') && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new NoticeTemplateError(
      dir,
      [
        {
          file: dir,
          path: '(file)',
          message: `the folder cannot be read (${code}); set NOTICE_TEMPLATES_DIR to a folder of *.json templates`,
        },
      ],
      { cause: err },
    );
  }

  const templates: NoticeTemplate[] = [];
  const problems: NoticeTemplateProblem[] = [];
  const fileOfId = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    let data: unknown;
    let text = '';
    try {
      text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
      data = JSON.parse(text);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({
        file,
        path: '(file)',
        message: code
          ? `cannot be read (${code})`
          : `is not valid JSON: ${(err as Error).message}${lineAndColumn(text, (err as Error).message)}`,
      });
      continue;
    }
    const result = parseNoticeTemplate(data, file, options);
    if (Array.isArray(result)) {
      problems.push(...result);
      continue;
    }
    const other = fileOfId.get(result.id);
    if (other) {
      problems.push({
        file,
        path: 'id',
        message: `${JSON.stringify(result.id)} is also the id in ${other}; give each template its own id`,
      });
      continue;
    }
    fileOfId.set(result.id, file);
    templates.push(result);
  }
  if (problems.length > 0) throw new NoticeTemplateError(dir, problems);
  return templates.sort(byOrderThenName);
}
