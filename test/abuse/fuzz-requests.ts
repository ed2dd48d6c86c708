import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { MAX_IMPORT_BYTES } from '../../src/api/subscribers.ts';
import { MAX_BODY_BYTES } from '../../src/app.ts';
import { isPublicBody, PUBLIC_BODY_MAX_BYTES } from '../../src/http/public-bodies.ts';
import { type AbuseFixture, LINE_SECRET, nonStaffCredentials, ORIGIN, sessionCookie } from './abuse-fixture.ts';
import type { FuzzRoute } from './fuzz-routes.ts';

/**
 * Hostile requests as small descriptions (so a failing case prints readably, and a 1 MB body
 * is a number until it is sent), and how each becomes a real Request for `app.request`.
 */

/** Percent-encodings that are not UTF-8: a broken pair, a byte never valid, overlong forms, a surrogate, past U+10FFFF, cut short, not hex. */
export const BAD_ESCAPES = [
  '%C3%28',
  '%FF',
  '%C0%AF',
  '%E0%80%AF',
  '%C0%80',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%C3',
  '%E3%81',
  '%',
  '%G1',
  '%%',
  '%u0041',
];

/** The same trouble as raw bytes in a body. */
const BAD_BYTES: number[][] = [
  [0xc3, 0x28],
  [0xff],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe3, 0x81],
  [0],
];

const PATH_TRICKS = [
  '..',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e%2e%2f%2e%2e%2fpackage.json',
  '..%2f..%2f..%2fetc%2fpasswd',
  '..%5c..%5cpackage.json',
  '%2F',
  '//',
  '\\',
  '%5C',
  '%00',
  '\u0000',
  '.',
  '%20',
  ' ',
  '-1',
  '0',
  '1.5',
  '1e3',
  '0x10',
  '99999999999999999999',
  '2147483648',
  '9223372036854775808',
  '9007199254740993',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  '%3Cscript%3E',
  '*',
  ';',
  '%3B',
  '%23',
  '%3F',
  '..;',
  'a/b',
  '%E2%80%AE',
  '%EF%BB%BF',
];

export type Piece = { real: true } | { raw: string } | { enc: string } | { long: number; ch: string };

export type PathTrick =
  | 'none'
  | 'trailing-slash'
  | 'double-slash'
  | 'dot-segment'
  | 'encoded-dot-segment'
  | 'backslashes'
  | 'nul'
  | 'upper'
  | 'semicolon'
  | 'bad-escape';

export type Identity = 'good' | 'author' | 'none' | 'revoked' | 'resident' | 'garbage' | 'duplicate' | 'long';
export type Csrf = 'good' | 'none' | 'wrong' | 'long';

export type BodyDesc =
  | { t: 'sample' }
  | { t: 'set'; field: string; value: unknown }
  | { t: 'drop'; field: string }
  | { t: 'json'; value: unknown }
  | { t: 'deep'; depth: number; field: string | null }
  | { t: 'huge'; over: boolean; field: string | null }
  | { t: 'bytes'; bytes: number[]; field: string | null }
  | { t: 'text'; text: string }
  | { t: 'formtext'; pieces: [Piece, Piece][] }
  | { t: 'multipart'; file: boolean }
  | { t: 'csv'; rows: string[][] }
  | { t: 'empty' };

export type HeaderValue = string | { long: number };

export interface RequestDesc {
  method: string;
  params: Record<string, Piece>;
  trick: PathTrick;
  withGoodQuery: boolean;
  query: [Piece, Piece][];
  identity: Identity;
  csrf: Csrf;
  csrfInForm: boolean;
  contentType: string | null;
  accept: string | null;
  headers: [string, HeaderValue][];
  body: BodyDesc;
  sign: boolean;
}

/** Up to what a real server takes in a request line (Node's default limit on headers is 16 KiB). */
const LONG = [300, 5_000, 15_000];

const weird = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '\uFEFF',
      '\uD800',
      '\u202E',
      '<script>alert(1)</script>',
      '../../etc/passwd',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the hostile input
      '${x}',
      '{{x}}',
      "' OR 1=1 --",
      'null',
      '0',
      '-1',
      '1e309',
      'NaN',
      '2026-02-30',
      '2026-11-26T25:00',
      '9999-12-31T23:59:59Z',
      '🚨'.repeat(50),
      'あ'.repeat(201),
      'a'.repeat(2_001),
    ),
  },
);

/** Values of the wrong type, or of the right type and wrong shape. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308, 2 ** 31, -(2 ** 31) - 1),
  weird,
  fc.array(weird, { maxLength: 4 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(weird, weird, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(Array.from({ length: 1_000 }, (_, i) => `t${i}`)),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}')),
);

function piece(real: boolean): fc.Arbitrary<Piece> {
  return fc.oneof(
    { weight: real ? 5 : 0, arbitrary: fc.constant({ real: true as const }) },
    { weight: 3, arbitrary: fc.constantFrom(...PATH_TRICKS).map((raw) => ({ raw })) },
    { weight: 2, arbitrary: fc.constantFrom(...BAD_ESCAPES).map((raw) => ({ raw: `x${raw}` })) },
    { weight: 2, arbitrary: weird.map((enc) => ({ enc })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((raw) => ({ raw })) },
    {
      weight: 1,
      arbitrary: fc.record({ long: fc.constantFrom(...LONG), ch: fc.constantFrom('a', '9', 'あ', '%FF', '../') }),
    },
  );
}

/** Paths to a field inside a sample ("events.0.message.text"), for mutations that reach nested input. */
function fieldsOf(value: unknown, prefix = '', depth = 0): string[] {
  if (depth > 3 || value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.push(path, ...fieldsOf(v, path, depth + 1));
  }
  return out;
}

function bodyArb(route: FuzzRoute, sample: unknown, method: string): fc.Arbitrary<BodyDesc> {
  if (method === 'GET') return fc.constant({ t: 'empty' });
  const fields = fieldsOf(sample);
  const field: fc.Arbitrary<string> = fields.length > 0 ? fc.constantFrom(...fields) : fc.constant('x');
  const fieldOrTop = fc.option(field, { nil: null });
  const hasBody = route.body !== 'none';
  const options: fc.WeightedArbitrary<BodyDesc>[] = [
    { weight: hasBody ? 3 : 0, arbitrary: fc.constant({ t: 'sample' as const }) },
    {
      weight: hasBody ? 8 : 0,
      arbitrary: fc.record({ t: fc.constant('set' as const), field, value: wrongValue }),
    },
    { weight: hasBody ? 1 : 0, arbitrary: fc.record({ t: fc.constant('drop' as const), field }) },
    {
      weight: hasBody ? 1 : 0,
      arbitrary: fc.record({ t: fc.constant('set' as const), field: weird, value: wrongValue }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('json' as const), value: wrongValue }) },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constant('deep' as const), depth: fc.constantFrom(10_000, 100), field: fieldOrTop }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('huge' as const), over: fc.boolean(), field: fieldOrTop }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('bytes' as const),
        bytes: fc.constantFrom(...BAD_BYTES),
        field: fieldOrTop,
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom('', '{', '{"a":', '[', 'not json', '\uFEFF{}', 'null', '1e999', '"x"', '{}{}', ',', '\u0000'),
          fc.string({ maxLength: 40 }),
        )
        .map((text) => ({ t: 'text' as const, text })),
    },
    {
      weight: route.body === 'form' ? 3 : 1,
      arbitrary: fc
        .array(fc.tuple(piece(false), piece(false)), { maxLength: 4 })
        .map((pieces) => ({ t: 'formtext' as const, pieces })),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('multipart' as const), file: fc.boolean() }) },
    {
      weight: route.key === 'POST /v1/subscribers' ? 4 : 0,
      arbitrary: fc
        .array(fc.array(fc.oneof(weird, fc.constantFrom('email', 'topics', 'areas', 'locale')), { maxLength: 6 }), {
          maxLength: 5,
        })
        .map((rows) => ({ t: 'csv' as const, rows })),
    },
    { weight: hasBody ? 1 : 6, arbitrary: fc.constant({ t: 'empty' as const }) },
  ];
  return fc.oneof(...options);
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/json, text/plain',
  'text/plain',
  'text/csv',
  'text/csv; charset=shift_jis',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=x',
  'application/xml',
  '*/*',
  ';;;',
  '',
  `application/json; ${'x'.repeat(10_000)}`,
];

const ACCEPTS = [
  'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'application/json',
  '*/*',
  'text/event-stream',
  'image/png',
  `text/html;q=${'9'.repeat(5_000)}`,
];

const EXTRA_HEADERS: fc.Arbitrary<[string, HeaderValue]> = fc.oneof(
  fc.constantFrom<[string, HeaderValue]>(
    ['x-long', { long: 64 * 1024 }],
    ['content-type', 'text/plain'],
    ['content-type', 'application/json'],
    ['content-length', '0'],
    ['content-length', '5'],
    ['content-length', '-1'],
    ['content-length', 'abc'],
    ['content-length', '99999999999999999999'],
    ['content-length', String(MAX_BODY_BYTES + 1)],
    ['transfer-encoding', 'chunked'],
    ['origin', 'https://evil.example'],
    ['origin', 'null'],
    ['origin', ORIGIN],
    ['sec-fetch-site', 'cross-site'],
    ['referer', 'https://evil.example/'],
    ['x-forwarded-for', `${'1.2.3.4,'.repeat(1_000)}5.6.7.8`],
    ['x-forwarded-for', 'not-an-ip'],
    ['idempotency-key', ''],
    ['idempotency-key', { long: 10_000 }],
    ['idempotency-key', 'k'],
    ['if-none-match', '"x", W/"y", *'],
    ['if-modified-since', 'not a date'],
    ['if-modified-since', 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ['range', 'bytes=0-0,-1'],
    ['cookie', '__Host-hibiki_console=; hibiki_console=x; =; ;;'],
    ['cookie', { long: 20_000 }],
    ['x-csrf-token', ''],
    ['x-line-signature', 'AAAA'],
    ['accept-encoding', 'gzip, br, zstd'],
    ['accept-language', 'en;q=0.9,ja;q=x'],
    ['x-http-method-override', 'DELETE'],
    ['host', 'evil.example'],
  ),
  fc.tuple(fc.constantFrom('x-fuzz', 'idempotency-key', 'origin', 'x-forwarded-for', 'cookie', 'if-none-match'), weird),
);

/** A request for the route: mostly one a real caller could almost make, with one or two things wrong. */
export function requestArb(route: FuzzRoute, f: AbuseFixture): fc.Arbitrary<RequestDesc> {
  const [method, pattern = '/'] = route.key.split(' ') as [string, string];
  const names = [...pattern.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] ?? '');
  if (pattern.includes('*')) names.push('*');
  const real = route.params?.(f) ?? {};
  const paramsArb = fc.record(Object.fromEntries(names.map((n) => [n, piece(n in real)])));
  const methodArb =
    method === 'ALL' ? fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') : fc.constant(method);
  const knownNames = Object.keys(route.query?.(f) ?? {});
  const queryName = fc.oneof(
    { weight: knownNames.length > 0 ? 3 : 0, arbitrary: fc.constantFrom(...(knownNames.length ? knownNames : ['x'])) },
    { weight: 1, arbitrary: piece(false) },
  );
  return methodArb.chain((m) =>
    fc.record({
      method: fc.constant(m),
      params: paramsArb as fc.Arbitrary<Record<string, Piece>>,
      trick: fc.oneof(
        { weight: 12, arbitrary: fc.constant<PathTrick>('none') },
        {
          weight: 3,
          arbitrary: fc.constantFrom<PathTrick>(
            'trailing-slash',
            'double-slash',
            'dot-segment',
            'encoded-dot-segment',
            'backslashes',
            'nul',
            'upper',
            'semicolon',
            'bad-escape',
          ),
        },
      ),
      withGoodQuery: fc.boolean(),
      query: fc.array(
        fc.tuple(
          queryName.map((n) => (typeof n === 'string' ? { enc: n } : n)),
          piece(false),
        ),
        { maxLength: 3 },
      ),
      identity: fc.oneof(
        { weight: 10, arbitrary: fc.constant<Identity>('good') },
        {
          weight: 3,
          arbitrary: fc.constantFrom<Identity>('author', 'none', 'revoked', 'resident', 'garbage', 'duplicate', 'long'),
        },
      ),
      csrf: route.noCsrf
        ? fc.constantFrom<Csrf>('none', 'wrong', 'long')
        : fc.oneof(
            { weight: 8, arbitrary: fc.constant<Csrf>('good') },
            { weight: 2, arbitrary: fc.constantFrom<Csrf>('none', 'wrong', 'long') },
          ),
      csrfInForm: fc.boolean(),
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      accept: fc.oneof(
        { weight: 4, arbitrary: fc.constant(route.kind === 'page' ? (ACCEPTS[0] ?? null) : 'application/json') },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 2, arbitrary: fc.constantFrom(...ACCEPTS) },
      ),
      headers: fc.array(EXTRA_HEADERS, { maxLength: 3 }),
      body: bodyArb(route, route.sample?.(f), m),
      sign: fc.boolean(),
    }),
  );
}

// ---- turning a description into a Request ---------------------------------------------------

function encodePiece(p: Piece, realValue: string | undefined): string {
  if ('real' in p) return encodeURIComponent(realValue ?? 'x');
  if ('raw' in p) return p.raw;
  if ('long' in p) return p.ch.repeat(Math.ceil(p.long / p.ch.length));
  try {
    return encodeURIComponent(p.enc);
  } catch {
    // A lone surrogate cannot be encoded; the URL parser makes it U+FFFD.
    return p.enc;
  }
}

function applyTrick(path: string, trick: PathTrick): string {
  switch (trick) {
    case 'none':
      return path;
    case 'trailing-slash':
      return `${path}/`;
    case 'double-slash':
      return path.replace(/\//g, '//');
    case 'dot-segment':
      return `${path}/../..${path}`;
    case 'encoded-dot-segment':
      return `${path}/%2e%2e/%2E%2E/x`;
    case 'backslashes':
      return path.replace(/\//g, '\\');
    case 'nul':
      return `${path}%00`;
    case 'upper':
      return path.toUpperCase();
    case 'semicolon':
      return `${path};jsessionid=x`;
    case 'bad-escape':
      return `${path}%C3%28%FF`;
  }
}

/** The number a path id would be read as, by any of the ways a route might read it. */
function numbersIn(value: string): number[] {
  let decoded = value;
  try {
    decoded = decodeURIComponent(value);
  } catch {}
  return [Number(value), Number(decoded), Number.parseInt(value, 10), Number.parseInt(decoded, 10)];
}

function setPath(target: unknown, path: string, value: unknown, drop = false): unknown {
  const keys = path.split('.');
  const root = structuredClone(target ?? {}) as Record<string, unknown>;
  let node: Record<string, unknown> = root;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1) ?? 'x';
  if (drop) delete node[last];
  else node[last] = value;
  return root;
}

const deepArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

function formOf(value: unknown): URLSearchParams {
  const form = new URLSearchParams();
  if (value === null || typeof value !== 'object') {
    form.append('value', String(value));
    return form;
  }
  for (const [k, v] of Object.entries(value)) {
    for (const one of Array.isArray(v) ? v : [v]) form.append(k, typeof one === 'string' ? one : JSON.stringify(one));
  }
  return form;
}

/** The body text of `value`: JSON, or a urlencoded form for the routes that read forms. */
function serialise(value: unknown, asForm: boolean): string {
  return asForm ? formOf(value).toString() : (JSON.stringify(value) ?? 'null');
}

const MARKER = 'FUZZ_MARKER_7f3a';

interface BuiltBody {
  body: BodyInit | undefined;
  type: string | undefined;
}

function buildBody(route: FuzzRoute, desc: BodyDesc, sample: unknown): BuiltBody {
  const asForm = route.body === 'form';
  const own = asForm ? 'application/x-www-form-urlencoded' : route.body === 'none' ? undefined : 'application/json';
  const text = (s: string, type = own): BuiltBody => ({ body: s, type });
  switch (desc.t) {
    case 'empty':
      return { body: undefined, type: own };
    case 'sample':
      return text(serialise(sample ?? {}, asForm));
    case 'set':
      return text(serialise(setPath(sample, desc.field, desc.value), asForm));
    case 'drop':
      return text(serialise(setPath(sample, desc.field, undefined, true), asForm));
    case 'json':
      return text(serialise(desc.value, asForm));
    case 'text':
      return text(desc.text);
    case 'deep': {
      const deep = deepArrays(desc.depth);
      if (asForm) return text(serialise(desc.field ? setPath(sample, desc.field, deep) : { value: deep }, true));
      if (!desc.field) return text(deep);
      return text(serialise(setPath(sample, desc.field, MARKER), false).replace(`"${MARKER}"`, deep));
    }
    case 'huge': {
      const path = route.key.slice(route.key.indexOf(' ') + 1);
      const limit =
        route.key === 'POST /v1/subscribers'
          ? MAX_IMPORT_BYTES
          : isPublicBody(path)
            ? PUBLIC_BODY_MAX_BYTES
            : MAX_BODY_BYTES;
      const target = limit + (desc.over ? 1 : 0);
      const shell = serialise(desc.field ? setPath(sample, desc.field, MARKER) : { pad: MARKER }, asForm);
      const pad = 'a'.repeat(Math.max(0, target - (Buffer.byteLength(shell) - MARKER.length)));
      return text(shell.replace(MARKER, pad));
    }
    case 'bytes': {
      const shell = serialise(desc.field ? setPath(sample, desc.field, MARKER) : { value: MARKER }, asForm);
      const [before = '', after = ''] = shell.split(MARKER);
      const bytes = Buffer.concat([Buffer.from(before), Buffer.from(desc.bytes), Buffer.from(after)]);
      return { body: new Uint8Array(bytes), type: own };
    }
    case 'formtext':
      return text(desc.pieces.map(([k, v]) => `${encodePiece(k, undefined)}=${encodePiece(v, undefined)}`).join('&'));
    case 'multipart': {
      const form = new FormData();
      for (const [k, v] of formOf(sample ?? {})) form.append(k, v);
      if (desc.file) {
        form.append('title', new Blob([new Uint8Array([0xff, 0xfe, 0x00])]), '../../etc/passwd');
        form.append('_csrf', new Blob(['x']), 'csrf.txt');
      }
      // No type: FormData sets its own, with the boundary.
      return { body: form, type: undefined };
    }
    case 'csv':
      return text(desc.rows.map((r) => r.join(',')).join('\r\n'), 'text/csv');
  }
}

export interface Built {
  request: Request;
  /** The path as the app sees it after the URL parser. */
  pathname: string;
  acceptsHtml: boolean;
}

/** Makes the Request a description stands for. */
export function buildRequest(route: FuzzRoute, f: AbuseFixture, desc: RequestDesc): Built {
  const [, pattern = '/'] = route.key.split(' ');
  const real = route.params?.(f) ?? {};
  const protect = (name: string, value: string) =>
    /tokens\/:id/.test(pattern) && name === 'id' && numbersIn(value).some((n) => f.protectedTokenIds.has(n))
      ? '99999'
      : value;
  let path = pattern
    .replace(/:([A-Za-z]+)(\{[^}]*\}+)?/g, (_, name: string) =>
      protect(name, encodePiece(desc.params[name] ?? { real: true }, real[name])),
    )
    .replace('*', () => encodePiece(desc.params['*'] ?? { enc: 'x' }, real['*']));
  path = applyTrick(path, desc.trick);

  const query: string[] = [];
  if (desc.withGoodQuery) {
    for (const [k, v] of Object.entries(route.query?.(f) ?? {}))
      query.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  for (const [k, v] of desc.query) query.push(`${encodePiece(k, undefined)}=${encodePiece(v, undefined)}`);
  const url = `${ORIGIN}${path.startsWith('/') ? '' : '/'}${path}${query.length ? `?${query.join('&')}` : ''}`;

  const headers = new Headers();
  const admin = f.staff.admin;
  const author = f.staff.author;
  const consoleCookie = (c: typeof admin) => sessionCookie(c.console);
  const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(desc.method);
  const cookies: string[] = route.cookie ? [route.cookie] : [];
  switch (desc.identity) {
    case 'good':
      if (route.caller === 'staff') headers.set('authorization', `Bearer ${admin.token}`);
      if (route.caller === 'console') cookies.push(consoleCookie(admin));
      break;
    case 'author':
      if (route.caller === 'console') cookies.push(consoleCookie(author));
      else headers.set('authorization', `Bearer ${author.token}`);
      break;
    case 'none':
      break;
    case 'revoked':
    case 'resident': {
      const held = nonStaffCredentials(f, desc.identity);
      headers.set('authorization', held.authorization);
      cookies.push(held.cookie);
      break;
    }
    case 'garbage':
      headers.set('authorization', 'Bearer hbk_\u00e9\u00ff not-a-token');
      cookies.push('__Host-hibiki_console=%FF%C3%28; __Host-hibiki_console=x');
      break;
    case 'duplicate':
      headers.append('authorization', `Bearer ${admin.token}`);
      headers.append('authorization', `Bearer ${author.token}`);
      headers.append('cookie', consoleCookie(admin));
      headers.append('cookie', consoleCookie(author));
      break;
    case 'long':
      headers.set('authorization', `Bearer ${'a'.repeat(100_000)}`);
      cookies.push(`__Host-hibiki_console=${'a'.repeat(100_000)}`);
      break;
  }
  if (cookies.length > 0) headers.append('cookie', cookies.join('; '));

  const sample = route.sample?.(f);
  let csrfField: string | undefined;
  if (route.caller === 'console' && unsafe) {
    const token =
      desc.csrf === 'good'
        ? (desc.identity === 'author' ? author : admin).console.csrf
        : desc.csrf === 'wrong'
          ? 'not-the-session-token'
          : desc.csrf === 'long'
            ? 'x'.repeat(50_000)
            : undefined;
    if (token !== undefined) {
      if (desc.csrfInForm && route.body === 'form') csrfField = token;
      else headers.set('x-csrf-token', token);
    }
    headers.set('origin', ORIGIN);
  }
  const withCsrf =
    csrfField !== undefined && sample && !Array.isArray(sample) ? { _csrf: csrfField, ...sample } : sample;
  const built =
    desc.method === 'GET' || desc.method === 'HEAD'
      ? { body: undefined, type: undefined }
      : buildBody(route, desc.body, withCsrf);
  const type = desc.contentType ?? built.type;
  if (type !== undefined && built.body !== undefined && !(built.body instanceof FormData))
    headers.set('content-type', type);
  if (desc.contentType !== null && built.body instanceof FormData) headers.set('content-type', desc.contentType);
  if (desc.accept !== null) headers.set('accept', desc.accept);
  for (const [name, value] of desc.headers) {
    try {
      headers.append(name, typeof value === 'string' ? value : 'h'.repeat(value.long));
    } catch {
      // Not a valid header value (a control character): no client could send it either.
    }
  }
  if (route.body === 'line' && desc.sign && typeof built.body === 'string') {
    headers.set('x-line-signature', createHmac('sha256', LINE_SECRET).update(built.body).digest('base64'));
  }

  const request = new Request(url, {
    method: desc.method,
    headers,
    ...(built.body !== undefined ? { body: built.body } : {}),
  });
  return {
    request,
    pathname: new URL(request.url).pathname,
    acceptsHtml: (request.headers.get('accept') ?? '').includes('text/html'),
  };
}

/**
 * The shapes every route meets on every run, whatever the random ones happen to be: the
 * body at and just over the limit, 10,000-deep JSON, bytes that are not UTF-8, broken and
 * overlong escapes in the path, a path that climbs, a Content-Length that lies.
 */
export function examplesFor(route: FuzzRoute, f: AbuseFixture): RequestDesc[] {
  const [method, pattern = '/'] = route.key.split(' ') as [string, string];
  const names = [...pattern.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] ?? '');
  if (pattern.includes('*')) names.push('*');
  const real = route.params?.(f) ?? {};
  const params = (p: (name: string) => Piece) => Object.fromEntries(names.map((n) => [n, p(n)]));
  const realParams = params((n) => (n in real ? { real: true } : { enc: 'x' }));
  const m = method === 'ALL' ? 'POST' : method;
  const base: RequestDesc = {
    method: m,
    params: realParams,
    trick: 'none',
    withGoodQuery: true,
    query: [],
    identity: 'good',
    csrf: route.noCsrf ? 'none' : 'good',
    csrfInForm: false,
    contentType: null,
    accept: route.kind === 'page' ? (ACCEPTS[0] ?? null) : 'application/json',
    headers: [],
    body: { t: m === 'GET' ? 'empty' : 'sample' },
    sign: true,
  };
  const field = fieldsOf(route.sample?.(f))[0] ?? null;
  const withBody: RequestDesc[] =
    m === 'GET'
      ? []
      : [
          { ...base, body: { t: 'huge', over: false, field } },
          { ...base, body: { t: 'huge', over: true, field } },
          { ...base, body: { t: 'deep', depth: 10_000, field: null } },
          { ...base, body: { t: 'deep', depth: 10_000, field } },
          { ...base, body: { t: 'bytes', bytes: [0xc3, 0x28], field } },
          { ...base, body: { t: 'bytes', bytes: [0xc0, 0xaf], field } },
          { ...base, headers: [['content-length', '5']] },
          { ...base, headers: [['content-type', 'text/plain']] },
        ];
  return [
    base,
    ...withBody,
    { ...base, params: params(() => ({ raw: '%C3%28' })), query: [[{ raw: '%FF' }, { raw: '%C0%AF' }]] },
    { ...base, params: params(() => ({ raw: '%00' })) },
    { ...base, params: params(() => ({ raw: '%2e%2e%2f%2e%2e%2fpackage.json' })), trick: 'dot-segment' },
    { ...base, params: params(() => ({ long: 15_000, ch: 'あ' })) },
  ];
}
