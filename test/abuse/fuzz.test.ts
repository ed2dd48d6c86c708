import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreKind } from '../helpers/db.ts';
import { bodyText, createAbuseFixture, suiteFixture } from './abuse-fixture.ts';
import { appRouteKeys, missingFrom, openApiRouteKeys } from './app-routes.ts';
import { type Built, buildRequest, examplesFor, requestArb } from './fuzz-requests.ts';
import { FUZZ_ROUTES, type FuzzRoute } from './fuzz-routes.ts';

/**
 * Property-based fuzzing of every route, in-process (app.request over the real wiring):
 * wrong types, bodies at and just over the size limit, 10,000-deep JSON, bytes that are not
 * UTF-8 in bodies, paths and queries, odd and duplicated headers, lying Content-Length,
 * path tricks and hostile ids. Whatever arrives, the answer is never a 5xx and nothing is
 * left rejected; an API refusal says what was wrong (code, message, and for a validation
 * failure the field), and a page refusal is a page.
 *
 * Every route first meets a fixed set of those shapes (examplesFor), then random ones: each
 * run is different (FUZZ_SEED=<n> repeats one, FUZZ_REQUESTS=<n> hunts longer); a failure
 * prints the seed and the smallest request fast-check could shrink it to.
 */

/** Both stores: PostgreSQL refuses what SQLite lets through (NUL bytes, integers past 32 bits). */
const STORES: StoreKind[] = ['sqlite', 'postgres'];
/** Requests over the whole file (FUZZ_REQUESTS=<n> for a longer hunt); routes that read a body get twice the share. */
const TARGET_REQUESTS = Math.max(10_000, Number(process.env.FUZZ_REQUESTS ?? 0));
const weightOf = (r: FuzzRoute) => (r.body === 'none' ? 1 : 2);
const RUNS_PER_WEIGHT = Math.ceil(TARGET_REQUESTS / (STORES.length * FUZZ_ROUTES.reduce((n, r) => n + weightOf(r), 0)));
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

let sent = 0;
const sentByStore: Record<string, number> = {};
const rejections: unknown[] = [];
const uncaught: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);
const onUncaught = (err: unknown) => void uncaught.push(err);
const started = performance.now();

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onUncaught);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onUncaught);
});

/** Codes whose refusal is about particular fields, and so must name them. */
const FIELD_CODES = new Set(['validation_failed', 'unknown_field']);

interface ErrorJson {
  error?: {
    code?: unknown;
    message?: unknown;
    message_en?: unknown;
    fields?: Record<string, unknown>;
  };
}

function expectApiError(text: string, type: string, where: string) {
  expect(type, `${where}: a JSON error body`).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorJson;
  const error = body.error;
  expect(typeof error?.code === 'string' && error.code.length > 0, `${where}: error.code in ${text}`).toBe(true);
  expect(typeof error?.message === 'string' && error.message.trim().length > 0, `${where}: error.message`).toBe(true);
  expect(typeof error?.message_en === 'string' && error.message_en.trim().length > 0, `${where}: message_en`).toBe(
    true,
  );
  if (FIELD_CODES.has(String(error?.code))) {
    const fields = Object.entries(error?.fields ?? {});
    expect(fields.length, `${where}: a validation error names a field: ${text.slice(0, 500)}`).toBeGreaterThan(0);
    for (const [name, reasons] of fields) {
      expect(Array.isArray(reasons) && reasons.length > 0, `${where}: reasons for ${name}`).toBe(true);
    }
    // The message names what to fix, not only the fields object ("" is a key a client can send).
    const messages = `${String(error?.message)} ${String(error?.message_en)}`;
    expect(
      fields.some(([name]) => messages.includes(name === '' ? '""' : (name.split('.')[0] ?? name))),
      `${where}: message names a field: ${messages}`,
    ).toBe(true);
  }
}

/** What every answer must be, whatever was asked. */
async function expectSound(route: FuzzRoute, built: Built, res: Response) {
  const where = `${route.key} → ${built.request.method} ${built.pathname.slice(0, 200)} answered ${res.status}`;
  const type = res.headers.get('content-type') ?? '';
  const text = await bodyText(res);
  expect(res.status, `${where}: ${text.slice(0, 500)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const underConsole = built.pathname === '/console' || built.pathname.startsWith('/console/');
    if (built.pathname.startsWith('/v1/') || (route.kind === 'api' && !built.acceptsHtml && !underConsole)) {
      expectApiError(text, type, where);
    } else if (route.kind === 'page' && built.acceptsHtml) {
      expect(type, `${where}: a browser gets a page`).toMatch(/^text\/html/);
      expect(text, `${where}: a whole page`).toMatch(/<html[^>]*lang="ja"/);
    }
  }
  if (route.key.includes('/static/')) {
    // Path tricks must never reach a file outside the board's own static directory.
    for (const secret of ['"name": "hibiki"', 'root:x:0:0', 'HIBIKI_SECRET', '"devDependencies"']) {
      expect(text, `${where}: served a file from outside the static directory`).not.toContain(secret);
    }
  }
}

describe.each(STORES)('fuzzing every route (%s store)', (store) => {
  const fixture = suiteFixture(() => createAbuseFixture(store));

  it('has a fuzz entry for every route the app has and /openapi.json documents', async () => {
    const f = fixture();
    const doc = (await (await f.app.request('/openapi.json')).json()) as Parameters<typeof openApiRouteKeys>[0];
    const table = FUZZ_ROUTES.map((r) => r.key);
    expect(missingFrom(table, [...appRouteKeys(f.app), ...openApiRouteKeys(doc)])).toEqual([]);
    expect(new Set(table).size, 'one entry per route').toBe(table.length);
  });

  it.each(FUZZ_ROUTES.map((r) => [r.key, r] as const))('%s', async (_key, route) => {
    const f = fixture();
    const numRuns = RUNS_PER_WEIGHT * weightOf(route);
    await fc.assert(
      fc.asyncProperty(requestArb(route, f), async (desc) => {
        const built = buildRequest(route, f, desc);
        sent++;
        sentByStore[store] = (sentByStore[store] ?? 0) + 1;
        const res = await f.app.request(built.request);
        await expectSound(route, built, res);
      }),
      { numRuns, examples: examplesFor(route, f).map((e) => [e]), ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    // The fuzzer must not have locked itself out (revoking its own token, signing out).
    for (const role of ['author', 'admin'] as const) {
      expect(await f.deps.store.tokens.verify(f.staff[role].token), `${role} token still valid`).toBeDefined();
    }
  });
});

describe('the whole run', () => {
  it(`sent at least ${TARGET_REQUESTS} requests, and left no promise rejected and no exception uncaught`, () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ${sent} requests to ${FUZZ_ROUTES.length} routes × ${STORES.length} stores (${JSON.stringify(sentByStore)}) in ${seconds} s; ` +
        `${RUNS_PER_WEIGHT} runs per route without a body, ${RUNS_PER_WEIGHT * 2} with one`,
    );
    expect(sent).toBeGreaterThanOrEqual(TARGET_REQUESTS);
    expect(rejections).toEqual([]);
    expect(uncaught).toEqual([]);
  });
});
