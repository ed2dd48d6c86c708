import { isIP } from 'node:net';
import { type AddressPolicy, createAddressPolicy, hostRefusal, type InternalKind } from '../shared/address-policy.ts';

/** A reason in both languages: Japanese for staff in the API, English for delivery rows and logs. */
export interface UrlProblem {
  ja: string;
  en: string;
  /** Set when the host is an internal address (or localhost) that the address policy refuses. */
  internal?: InternalKind;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach, and only when allowed (tests, local receivers). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === 'localhost.') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** Loopback, which WEBHOOK_ALLOW_HTTP_LOOPBACK opts into for webhooks (a receiver on the same machine, tests). */
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/**
 * The addresses webhooks may reach although internal: OUTBOUND_ALLOW, and loopback when
 * WEBHOOK_ALLOW_HTTP_LOOPBACK is on (that setting has always meant "a receiver on this
 * machine is fine", so it keeps meaning it for the address check too).
 */
export function webhookAllow(options: { allowHttpLoopback: boolean; allow?: readonly string[] }): string[] {
  return [...(options.allow ?? []), ...(options.allowHttpLoopback ? LOOPBACK : [])];
}

const defaultPolicies = {
  strict: createAddressPolicy([]),
  loopback: createAddressPolicy(LOOPBACK),
};

/**
 * Why this URL may not be a webhook endpoint, or undefined when it may. The API checks it
 * before storing an endpoint and the channel again before each request, so an endpoint
 * stored under a laxer setting is still refused. An address literal (in any of the forms
 * WHATWG URL turns into one: 2130706433, 0x7f.0.0.1, 127.1…) and localhost are checked
 * against the address policy here; names are checked as what they resolve to, when the
 * outbound layer connects.
 */
export function webhookUrlProblem(
  raw: string,
  allowHttpLoopback: boolean,
  policy: AddressPolicy = allowHttpLoopback ? defaultPolicies.loopback : defaultPolicies.strict,
): UrlProblem | undefined {
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
  if (url.protocol === 'http:' && !(allowHttpLoopback && isLoopbackHost(url.hostname))) {
    return allowHttpLoopback
      ? {
          ja: 'http:// はループバック（127.0.0.1、::1、localhost）にだけ使えます。https:// の URL にしてください',
          en: 'http:// is allowed only to a loopback host (127.0.0.1, ::1, localhost); use an https:// URL',
        }
      : { ja: 'https:// の URL にしてください', en: 'only https:// URLs are allowed' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ja: 'https:// の URL にしてください', en: `only https:// URLs are allowed, not ${url.protocol}//` };
  }
  const internal = hostRefusal(url.hostname, policy);
  if (internal) {
    return {
      ja: `宛先は内部アドレス（${internal}）のため登録できません。市のネットワーク内の受信先は、運用担当者が OUTBOUND_ALLOW に指定したときだけ使えます`,
      en: `the address is internal (${internal}); a receiver inside the network can be used only when the operator names it in OUTBOUND_ALLOW`,
      internal,
    };
  }
  return undefined;
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
