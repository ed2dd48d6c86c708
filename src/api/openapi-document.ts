import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../config.ts';
import type { AppEnv } from '../http/auth.ts';

type Document = ReturnType<OpenAPIHono<AppEnv>['getOpenAPIDocument']>;
type Operation = { operationId?: string; security?: unknown[] } & Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The operations anyone may call, with no token: probes and scrapers, and what residents'
 * browsers call. Listed, not inferred: an operation that declares no `security` and is not
 * named here keeps none, and `redocly lint` (test/checks/openapi-lint.test.ts) fails on it,
 * so a staff route that forgot its token is caught rather than documented as public.
 */
export const PUBLIC_OPERATIONS: ReadonlySet<string> = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /v1/public/subscriptions',
  'GET /push/vapid-public-key',
  'POST /push/subscriptions',
  'POST /push/subscriptions/current',
  'DELETE /push/subscriptions',
]);

const camel = (words: string[]): string =>
  words
    .filter((w) => w !== '')
    .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join('');

/**
 * A stable camelCase id from the method and the path: `POST /v1/notices/{id}/approve` →
 * `postNoticesByIdApprove`. The version segment is left out unless two operations would then
 * share an id (see withOperationIds).
 */
export function operationIdOf(method: string, path: string, keepVersion = false): string {
  const segments = path.split('/').filter((s) => s !== '');
  const words = [method];
  segments.forEach((segment, i) => {
    if (i === 0 && !keepVersion && /^v\d+$/.test(segment)) return;
    const param = /^\{(.+)\}$/.exec(segment);
    if (param) words.push('by', ...(param[1] ?? '').split(/[^A-Za-z0-9]+/));
    else words.push(...segment.split(/[^A-Za-z0-9]+/));
  });
  return camel(words);
}

/** Every operation of the document, with its method and path. */
function* operations(doc: Document): Generator<[string, string, Operation]> {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, unknown> | undefined)?.[method];
      if (op && typeof op === 'object') yield [method, path, op as Operation];
    }
  }
}

/**
 * Gives every operation an operationId (one given on the route wins) and `security: []` to
 * the listed public ones that declare none.
 */
export function withOperationIds(doc: Document): Document {
  const all = [...operations(doc)];
  const taken = new Set(all.flatMap(([, , op]) => (op.operationId ? [op.operationId] : [])));
  const derived = new Map<string, number>();
  for (const [method, path, op] of all) {
    if (!op.operationId) {
      const id = operationIdOf(method, path);
      derived.set(id, (derived.get(id) ?? 0) + 1);
    }
  }
  for (const [method, path, op] of all) {
    if (!op.operationId) {
      const short = operationIdOf(method, path);
      op.operationId = (derived.get(short) ?? 0) > 1 || taken.has(short) ? operationIdOf(method, path, true) : short;
    }
    if (op.security === undefined && PUBLIC_OPERATIONS.has(`${method.toUpperCase()} ${path}`)) op.security = [];
  }
  return doc;
}

/**
 * `nullable` means something in OpenAPI 3.0 only beside a `type`; zod's `z.unknown()` comes out
 * as `{ nullable: true }` alone, which redocly's nullable-type-sibling rule refuses. Without a
 * type the schema already allows any value, so the bare `nullable` is dropped, wherever it is.
 */
export function dropUntypedNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropUntypedNullable(item);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (record.nullable === true && record.type === undefined && record.$ref === undefined) delete record.nullable;
  for (const value of Object.values(record)) dropUntypedNullable(value);
}

/** Where the API answers: the console's address (the staff API's listener) and, if other, the public one. */
function serversOf(config: Pick<Config, 'publicBaseUrl' | 'consoleBaseUrl'>) {
  if (config.consoleBaseUrl === config.publicBaseUrl) return [{ url: config.publicBaseUrl }];
  return [
    { url: config.consoleBaseUrl, description: '職員用（スタッフ API・運用） / Staff API and operations' },
    { url: config.publicBaseUrl, description: '住民向け（公開 API） / Residents’ public API' },
  ];
}

/** Serves /openapi.json: the routes' own document, completed where the routes cannot say it. */
export function serveOpenApiDocument(
  app: OpenAPIHono<AppEnv>,
  config: Pick<Config, 'publicBaseUrl' | 'consoleBaseUrl'>,
): void {
  app.get('/openapi.json', (c) => {
    const doc = app.getOpenAPIDocument({
      openapi: '3.0.0',
      info: {
        title: 'Hibiki API',
        version: '1.0.0',
        description:
          '響 Hibiki: 市の職員が一つの通知を住民の使うすべてのチャネルへ配信する API。 / Staff API of Hibiki, which broadcasts one notice to every channel residents use.',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: serversOf(config),
    });
    withOperationIds(doc);
    dropUntypedNullable(doc.components);
    dropUntypedNullable(doc.paths);
    return c.json(doc);
  });
}
