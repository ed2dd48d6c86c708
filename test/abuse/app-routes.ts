/**
 * The routes the app really has, as `METHOD /path` keys in Hono's own spelling
 * (`/v1/notices/:id`, `/console/tokens/:id{[0-9]{1,15}}/revoke`), so that a test's table of
 * routes can be checked against the app: a route added without a row fails the test.
 */

export type RouteKey = `${string} /${string}`;

export const routeKey = (method: string, path: string): RouteKey => `${method.toUpperCase()} ${path}` as RouteKey;

/** Every distinct method+path in the app's router, middleware (method ALL) included. */
export function appRouteKeys(app: { routes: { method: string; path: string }[] }): RouteKey[] {
  return [...new Set(app.routes.map((r) => routeKey(r.method, r.path)))];
}

/** The operations /openapi.json documents, with `{id}` written as Hono writes it (`:id`). */
export function openApiRouteKeys(doc: { paths: Record<string, Record<string, unknown>> }): RouteKey[] {
  const keys: RouteKey[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    const path = template.replace(/\{([^}]+)\}/g, ':$1');
    for (const method of Object.keys(operations)) keys.push(routeKey(method, path));
  }
  return keys;
}

/** Keys in `actual` that `table` has no row for. */
export function missingFrom(table: Iterable<RouteKey>, actual: Iterable<RouteKey>): RouteKey[] {
  const known = new Set(table);
  return [...new Set(actual)].filter((k) => !known.has(k)).sort();
}
