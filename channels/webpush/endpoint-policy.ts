/**
 * Which push endpoints Hibiki will POST to. An endpoint comes from a resident's browser,
 * that is from anyone on the internet, and the server sends to it: without a list of push
 * services the subscribe API would let anyone make Hibiki send requests into the city's
 * own network (SSRF). These are the services the major browsers use.
 */
export const DEFAULT_PUSH_HOSTS: readonly string[] = [
  // Chrome, Edge on Android, Samsung Internet, Opera, Brave…
  'fcm.googleapis.com',
  'android.googleapis.com',
  // Firefox
  'push.services.mozilla.com',
  // Safari on macOS, and iPhone/iPad (16.4+) home-screen web apps
  'push.apple.com',
  // Edge on Windows
  'notify.windows.com',
];

export const ENDPOINT_MAX_CHARS = 2_048;

/** What a push service's host name is made of (WHATWG URL has already lower-cased it). */
const PUSH_HOST_CHARS = /^[a-z0-9.-]+$/;

/** A host matches an entry when it is that host or a subdomain of it. */
function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((entry) => h === entry || h.endsWith(`.${entry}`));
}

export interface EndpointProblem {
  ja: string;
  en: string;
  /** No list of hosts will ever accept this endpoint: a subscription stored with it can be switched off. */
  never?: true;
}

/** Why an endpoint is refused, in both languages, or undefined when it may be used. */
export function pushEndpointProblem(endpoint: string, allowedHosts: readonly string[]): EndpointProblem | undefined {
  if (endpoint.length > ENDPOINT_MAX_CHARS) {
    return { ja: `${ENDPOINT_MAX_CHARS} 文字以内にしてください`, en: `at most ${ENDPOINT_MAX_CHARS} characters` };
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ja: 'URL ではありません', en: 'not a URL' };
  }
  if (url.protocol !== 'https:') return { ja: 'https:// の URL にしてください', en: 'must be an https:// URL' };
  if (url.username || url.password) {
    return { ja: 'ユーザー名やパスワードを含められません', en: 'must not carry a user name or password' };
  }
  // WHATWG URL keeps characters such as { ; ` in a host that other parsers (Node's legacy
  // url.parse, which web-push used) cut the host at: 127.0.0.1{.fcm.googleapis.com passed
  // the list below as a Google host and was sent to 127.0.0.1. No push service's host has them.
  if (!PUSH_HOST_CHARS.test(url.hostname)) {
    return {
      ja: 'プッシュサービスのホスト名に使えない文字が含まれています（英小文字・数字・「.」「-」だけが使えます）',
      en: 'the host may contain only a–z, 0–9, "." and "-"',
      never: true,
    };
  }
  if (!hostAllowed(url.hostname, allowedHosts)) {
    return {
      ja: 'このブラウザーのプッシュサービスには対応していません',
      en: "this browser's push service is not supported",
    };
  }
  return undefined;
}

/**
 * The endpoint as it is stored and sent to: WHATWG URL's serialisation, the same parse
 * the checks above read, so what was checked is what is used. An endpoint that is not a
 * URL is returned as given (it is refused elsewhere, or simply matches nothing).
 */
export function normalisedEndpoint(endpoint: string): string {
  try {
    return new URL(endpoint).href;
  } catch {
    return endpoint;
  }
}

/** The push service's host, which is all a log line or a reason may name: the endpoint itself is personal. */
export function pushHostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return 'an invalid endpoint';
  }
}
