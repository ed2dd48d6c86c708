import { isIP } from 'node:net';

/** A reason in both languages: Japanese for staff in the API, English for delivery rows and logs. */
export interface UrlProblem {
  ja: string;
  en: string;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach, and only when allowed (tests, local receivers). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === 'localhost.') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Why this URL may not be a webhook endpoint, or undefined when it may. The API checks it
 * before storing an endpoint and the channel again before each request, so an endpoint
 * stored under a laxer setting is still refused.
 */
export function webhookUrlProblem(raw: string, allowHttpLoopback: boolean): UrlProblem | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ja: 'URL の形式が正しくありません', en: 'not a valid URL' };
  }
  if (url.username || url.password) {
    // Credentials in a URL end up in logs and proxies; the signature already authenticates us.
    return {
      ja: 'URL に利用者名やパスワードを含めることはできません（署名で送信元を確認できます）',
      en: 'the URL must not contain a user name or password (receivers verify the signature instead)',
    };
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (allowHttpLoopback && isLoopbackHost(url.hostname)) return undefined;
    return allowHttpLoopback
      ? {
          ja: 'http:// はループバック（127.0.0.1、::1、localhost）にだけ使えます。https:// の URL にしてください',
          en: 'http:// is allowed only to a loopback host (127.0.0.1, ::1, localhost); use an https:// URL',
        }
      : { ja: 'https:// の URL にしてください', en: 'only https:// URLs are allowed' };
  }
  return { ja: 'https:// の URL にしてください', en: `only https:// URLs are allowed, not ${url.protocol}//` };
}

/**
 * What of a URL may appear in logs and the audit log: its host. Paths carry secrets too
 * (chat services put the token in the path), and queries often do.
 */
export function hostOf(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '(invalid URL)';
  }
}
