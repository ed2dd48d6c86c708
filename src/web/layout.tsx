import type { Context } from 'hono';
import type { Child, FC } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Shared look of the public pages: readable on a phone, visible focus, no scripts, no external files. */
const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP","Yu Gothic UI",Meiryo,sans-serif;font-size:1.0625rem;line-height:1.8;color:#1a1a1a;background:#fff}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem}
.skip:focus{left:.5rem}
header.site,footer.site{background:#f2f4f7;padding:.75rem 1rem}
header.site p{margin:0;font-weight:700}
main{max-width:42rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.4;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,summary:focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 5px #1a1a1a}
.en{display:block;font-size:.875rem;color:#4a4a4a}
.banner{border-left:.5rem solid;padding:.75rem 1rem;margin:1rem 0;font-weight:700}
.banner.cancel{border-color:#1a1a1a;background:#ececec}
.banner.update{border-color:#0b57d0;background:#eaf1fb}
.banner.drill{border-color:#7a4cc2;background:#f3edfb}
.badge{display:inline-block;padding:0 .6rem;border-radius:.25rem;color:#fff;font-weight:700}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}
dl.facts dt{font-weight:700}
dl.facts dd{margin:0}
.body p{margin:0 0 1rem;overflow-wrap:anywhere}
ol.history{padding-left:1.5rem}
button{font:inherit;font-weight:700;min-height:3rem;padding:.5rem 1.5rem;border:2px solid #1a1a1a;border-radius:.375rem;background:#b00020;color:#fff;cursor:pointer}
.muted{color:#4a4a4a}
@media (max-width:30rem){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.5rem}}
`;

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/** 2026年11月26日 19時39分 — from UTC fields shifted by nine hours, so the host's time zone does not matter. */
export function formatJst(date: Date): string {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  const mi = String(d.getUTCMinutes()).padStart(2, '0');
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${d.getUTCHours()}時${mi}分`;
}

/** 2026-11-26 19:39 JST, for the English lines. */
export function formatJstEn(date: Date): string {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} JST`;
}

/** The same instant as an ISO string with +09:00, for <time datetime>. */
export function isoJst(date: Date): string {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  return `${d.toISOString().slice(0, 19)}+09:00`;
}

export const En: FC<{ children: Child }> = ({ children }) => (
  <span class="en" lang="en">
    {children}
  </span>
);

export const Layout: FC<{ title: string; siteName: string; siteNameEn: string; children: Child }> = (props) => (
  <html lang="ja">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>{props.title}</title>
      <style dangerouslySetInnerHTML={{ __html: CSS }} />
    </head>
    <body>
      <a class="skip" href="#main">
        本文へ移動
      </a>
      <header class="site">
        <p>
          {props.siteName} 防災・お知らせ配信 <span lang="en">/ {props.siteNameEn} alerts</span>
        </p>
      </header>
      <main id="main">{props.children}</main>
      <footer class="site">
        <p class="muted">
          発信: {props.siteName} <span lang="en">/ Issued by {props.siteNameEn}</span>
        </p>
      </footer>
    </body>
  </html>
);

/** Sends a page with the headers every public page shares: no scripts may run, no framing. */
export async function sendPage(
  c: Context,
  page: ReturnType<FC>,
  status: ContentfulStatusCode,
  cacheControl: string,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const body = `<!DOCTYPE html>${await Promise.resolve(page?.toString() ?? '')}`;
  return c.html(body, status, {
    'Cache-Control': cacheControl,
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    ...extraHeaders,
  });
}
