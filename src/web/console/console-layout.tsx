import type { Context } from 'hono';
import type { Child, FC } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { hasRole, roleLabel } from '../../domain/staff.ts';
import type { ConsoleSession } from '../../store/staff-sessions.ts';

/**
 * The console's look: the public pages' type and focus ring, wider for tables, with a
 * navigation bar. Works at 320 px: the two-column compose view stacks on a phone.
 */
const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP","Yu Gothic UI",Meiryo,sans-serif;font-size:1rem;line-height:1.7;color:#1a1a1a;background:#fff}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem}
header.console{background:#12355b;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;align-items:center}
header.console a,header.console button.link{color:#fff}
header.console .brand{font-weight:700;margin:0}
header.console nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
header.console nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
header.console .who{margin-left:auto;display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}
main{max-width:76rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.4;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
h3{font-size:1.05rem;margin:1rem 0 .25rem}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 5px #1a1a1a}
.en{font-size:.85rem;color:#4a4a4a}
header.console .en{color:#dfe7f1}
label{font-weight:700;display:block;margin:.75rem 0 .25rem}
fieldset{border:1px solid #8a8a8a;border-radius:.375rem;margin:.75rem 0;padding:.5rem .75rem}
legend{font-weight:700;padding:0 .25rem}
fieldset label{font-weight:400;display:inline-flex;gap:.35rem;align-items:center;margin:.15rem 1rem .15rem 0}
input[type=text],input[type=password],input[type=datetime-local],input[type=search],input[type=date],select,textarea{font:inherit;width:100%;max-width:40rem;padding:.45rem .6rem;border:2px solid #5a5a5a;border-radius:.25rem;background:#fff;color:#1a1a1a}
textarea{min-height:10rem}
input[type=checkbox],input[type=radio]{width:1.2rem;height:1.2rem}
.hint{font-size:.9rem;color:#4a4a4a;margin:.15rem 0}
.error{color:#b00020;font-weight:700}
[aria-invalid=true]{border-color:#b00020}
button,.button{font:inherit;font-weight:700;min-height:2.75rem;padding:.4rem 1.2rem;border:2px solid #12355b;border-radius:.375rem;background:#12355b;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:#12355b}
button.danger{background:#b00020;border-color:#b00020}
button.link{background:none;border:none;padding:0;min-height:auto;text-decoration:underline;font-weight:400}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0;align-items:flex-start}
.actions form{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #c8c8c8;vertical-align:top}
th{background:#f2f4f7;white-space:nowrap}
time,.nowrap{white-space:nowrap}
.table-wrap{overflow-x:auto}
.badge{display:inline-block;padding:0 .5rem;border-radius:.25rem;color:#fff;font-weight:700;white-space:nowrap}
.status{display:inline-block;padding:0 .5rem;border:1px solid #5a5a5a;border-radius:.25rem;white-space:nowrap}
.flash{border-left:.5rem solid #1a7f37;background:#e9f6ec;padding:.5rem 1rem;margin:1rem 0}
.flash.warn{border-color:#b35c00;background:#fff4e5}
.flash.bad{border-color:#b00020;background:#fdecee}
.compose{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.5rem}
.preview{border:1px solid #c8c8c8;border-radius:.375rem;padding:.5rem 1rem;margin:.5rem 0;background:#fafafa}
.preview pre{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit;margin:.25rem 0}
.warn:not(.flash){color:#8a4500;font-weight:700}
progress{width:100%;height:1.25rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}
dl.facts dt{font-weight:700}
dl.facts dd{margin:0}
.muted{color:#4a4a4a}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:50rem){.compose{grid-template-columns:1fr}}
@media (max-width:30rem){dl.facts{grid-template-columns:1fr}header.console .who{margin-left:0}}
`;

export type ConsoleSection = 'notices' | 'compose' | 'approvals' | 'audit' | 'tokens' | 'queues' | 'none';

interface NavItem {
  section: ConsoleSection;
  href: string;
  ja: string;
  en: string;
  role: 'author' | 'approver' | 'admin';
}

const NAV: NavItem[] = [
  { section: 'notices', href: '/console/notices', ja: '通知一覧', en: 'Notices', role: 'author' },
  { section: 'compose', href: '/console/notices/new', ja: '新規作成', en: 'New notice', role: 'author' },
  { section: 'approvals', href: '/console/approvals', ja: '承認待ち', en: 'Approvals', role: 'approver' },
  { section: 'audit', href: '/console/audit', ja: '監査ログ', en: 'Audit log', role: 'approver' },
  { section: 'tokens', href: '/console/tokens', ja: 'トークン管理', en: 'Tokens', role: 'admin' },
  { section: 'queues', href: '/console/queues', ja: 'キュー', en: 'Queues', role: 'admin' },
];

/** The hidden field every console form carries; checked by checkConsoleRequest. */
export const CsrfField: FC<{ session: ConsoleSession }> = ({ session }) => (
  <input type="hidden" name="_csrf" value={session.csrfToken} />
);

/** The public pages' En: the console's CSS shows it inline, smaller, beside the Japanese. */
export { En } from '../layout.tsx';

export interface ConsoleLayoutProps {
  title: string;
  /** Absent on the sign-in page. */
  session?: ConsoleSession | undefined;
  section: ConsoleSection;
  /** The page's own CSS, after the console's in <head> (a <style> in <body> is invalid HTML where it stands). */
  styles?: string;
  /** Names of scripts under /console/assets/, loaded with defer. */
  scripts?: string[];
  /** A console path to go on to at once: a navigation from our own page, so SameSite=Strict cookies go with it. */
  refresh?: string;
  children: Child;
}

export const ConsoleLayout: FC<ConsoleLayoutProps> = (props) => (
  <html lang="ja">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      {props.session ? <meta name="csrf-token" content={props.session.csrfToken} /> : null}
      {props.refresh ? <meta http-equiv="refresh" content={`0;url=${props.refresh}`} /> : null}
      <title>{`${props.title} | 響 Hibiki 管理画面`}</title>
      <style dangerouslySetInnerHTML={{ __html: CSS }} />
      {props.styles ? <style dangerouslySetInnerHTML={{ __html: props.styles }} /> : null}
      {(props.scripts ?? []).map((name) => (
        <script src={`/console/assets/${name}.js`} defer />
      ))}
    </head>
    <body>
      <a class="skip" href="#main">
        本文へ移動
      </a>
      <header class="console">
        <p class="brand">
          響 Hibiki 管理画面 <span lang="en">/ Console</span>
        </p>
        {props.session ? (
          <>
            <nav aria-label="管理画面メニュー">
              <ul>
                {NAV.filter((item) => props.session && hasRole(props.session.identity, item.role)).map((item) => (
                  <li>
                    <a href={item.href} aria-current={item.section === props.section ? 'page' : undefined}>
                      {item.ja}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <div class="who">
              <span>
                {props.session.identity.name}（{roleLabel(props.session.identity.role)}）
              </span>
              <form method="post" action="/console/logout">
                <CsrfField session={props.session} />
                <button type="submit" class="link">
                  サインアウト <span lang="en">/ Sign out</span>
                </button>
              </form>
            </div>
          </>
        ) : null}
      </header>
      <main id="main">{props.children}</main>
    </body>
  </html>
);

/**
 * Sends a console page. Scripts only from /console/assets (no inline script), nothing cached
 * (pages show live state and a CSRF token), never framed.
 */
export async function sendConsolePage(
  c: Context,
  page: ReturnType<FC>,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  const body = `<!DOCTYPE html>${await Promise.resolve(page?.toString() ?? '')}`;
  return c.html(body, status, {
    'Cache-Control': 'no-store',
    'Content-Security-Policy':
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  });
}
