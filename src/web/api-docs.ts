import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';

/**
 * /docs: Swagger UI over /openapi.json, every file from our own origin. It used to come from
 * a CDN, unpinned and without SRI, and ran on the console's origin: whoever controlled the
 * CDN could have acted as any member of staff who opened it. Now the scripts and style are
 * the swagger-ui-dist package's own files (its version pinned in package.json, reviewed with
 * every other dependency), the set-up is a served file rather than an inline script, and the
 * page's CSP lets nothing else run or be fetched.
 */

export const API_DOCS_PATH = '/docs';
const ASSETS = `${API_DOCS_PATH}/assets`;

/**
 * What the page needs to run: scripts from 'self' only (no inline script, no eval), styles
 * and images of its own (the CSS has data: icons), the spec and "Try it out" calls to our API
 * only. Never framed, so a page elsewhere cannot overlay its buttons.
 */
export const API_DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The set-up Swagger UI's own index.html does inline. The spec's address comes from the page,
 * never the query string (queryConfigEnabled: false, so ?url= cannot load another spec), and
 * the validator badge, which would fetch an image from swagger.io, is off.
 */
const DOCS_SCRIPT = `'use strict';
(function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-spec-url'),
    dom_id: '#swagger-ui',
    queryConfigEnabled: false,
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
})();
`;

const PAGE = `<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hibiki API</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
<noscript>この画面には JavaScript が必要です。API の定義は <a href="/openapi.json">/openapi.json</a> にあります。 / This page needs JavaScript; the API definition is at /openapi.json.</noscript>
<div id="swagger-ui" data-spec-url="/openapi.json"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/docs.js"></script>
</body>
</html>
`;

interface Asset {
  body: Uint8Array | string;
  type: string;
  etag: string;
}

const etagOf = (body: Uint8Array | string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;

/** The package's files by the name they are served under; nothing else of the package is. */
const PACKAGE_FILES: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
};

/** Read once, on the first request for docs: the bundle is 1.8 MB that a process not showing docs never loads. */
function loadAssets(): Map<string, Asset> {
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(PACKAGE_FILES)) {
    const body = new Uint8Array(readFileSync(join(dist, name)));
    assets.set(name, { body, type, etag: etagOf(body) });
  }
  assets.set('docs.js', { body: DOCS_SCRIPT, type: 'text/javascript; charset=utf-8', etag: etagOf(DOCS_SCRIPT) });
  return assets;
}

export function createApiDocsRoutes(): Hono {
  const app = new Hono();
  let assets: Map<string, Asset> | undefined;

  app.get(API_DOCS_PATH, (c) =>
    c.html(PAGE, 200, {
      'Content-Security-Policy': API_DOCS_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-cache',
    }),
  );

  app.get(`${ASSETS}/:file`, (c) => {
    assets ??= loadAssets();
    const asset = assets.get(c.req.param('file'));
    if (!asset) return c.notFound();
    const headers = {
      'Content-Type': asset.type,
      'Cache-Control': 'no-cache',
      ETag: asset.etag,
      'X-Content-Type-Options': 'nosniff',
    };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
  });

  return app;
}
