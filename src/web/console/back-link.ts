/**
 * Where an error page's "back" link may point: the Referer, when it is a console page of
 * this very origin. The origin is compared whole, never as a prefix: with startsWith,
 * `http://127.0.0.1:18601.evil.example/` passed for `http://127.0.0.1:18601`, and the
 * error page linked staff to the attacker's site.
 */
export function consoleBackLink(referer: string | undefined, origin: string, fallback = '/console/notices'): string {
  if (!referer) return fallback;
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return fallback;
  }
  if (url.origin !== origin) return fallback;
  if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return fallback;
  // A path of ours, not the URL as sent: the link cannot leave this origin whatever it held.
  return `${url.pathname}${url.search}`;
}
