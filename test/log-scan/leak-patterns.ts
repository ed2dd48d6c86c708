/**
 * What must never be in a log line: the shapes of Hibiki's own secrets and of residents'
 * personal data, and the exact values of the secrets a deployment is configured with.
 */

export type LeakKind =
  | 'staff token'
  | 'webhook secret'
  | 'e-mail address'
  | 'LINE user id'
  | 'random secret'
  | 'CSRF token'
  | 'configured secret';

export interface Leak {
  kind: LeakKind;
  match: string;
}

/** Characters of base64url, for the "not part of a longer word" look-arounds. */
const B64 = 'A-Za-z0-9_-';

/**
 * Random secrets are base64url of random bytes: 32 bytes (43 characters: session cookies,
 * resident links, the generated HIBIKI_SECRET, a VAPID private key), 24 bytes (32: the
 * session's CSRF token) and 18 bytes (24: the sign-in form's CSRF cookie). Random text of
 * that length nearly always mixes capitals, small letters and digits; identifiers and
 * words in a log line do not.
 */
const RANDOM_LENGTHS: [number, LeakKind][] = [
  [43, 'random secret'],
  [32, 'CSRF token'],
  [24, 'CSRF token'],
];
const looksRandom = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);

const SHAPES: [LeakKind, RegExp][] = [
  ['staff token', /hbk_[A-Za-z0-9_-]{16,}/g],
  ['webhook secret', /whsec_[A-Za-z0-9+/]{16,}={0,2}/g],
  ['LINE user id', /(?<![A-Za-z0-9])U[0-9a-f]{32}(?![0-9a-f])/g],
  // A dot in the domain: `noreply@localhost`, the default sender, is nobody's address.
  ['e-mail address', /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g],
];

export interface LeakPatterns {
  /** Every leak in one log line. */
  find(line: string): Leak[];
}

/**
 * @param secrets exact values (tokens, passwords) that must not appear anywhere.
 * @param allowedAddresses the deployment's own addresses (its sender, its contact for push
 *   services): configuration, not a resident's personal data.
 */
export function createLeakPatterns(secrets: Iterable<string>, allowedAddresses: Iterable<string> = []): LeakPatterns {
  const known = [...new Set(secrets)].filter((s) => s.length > 0);
  const allowed = new Set([...allowedAddresses].map((a) => a.toLowerCase()));
  const random = RANDOM_LENGTHS.map(
    ([length, kind]) => [kind, new RegExp(`(?<![${B64}])[${B64}]{${length}}(?![${B64}])`, 'g')] as const,
  );
  return {
    find(line) {
      const leaks: Leak[] = [];
      for (const [kind, re] of SHAPES) {
        for (const m of line.matchAll(re)) {
          if (kind === 'e-mail address' && allowed.has(m[0].toLowerCase())) continue;
          leaks.push({ kind, match: m[0] });
        }
      }
      for (const [kind, re] of random) {
        for (const m of line.matchAll(re)) if (looksRandom(m[0])) leaks.push({ kind, match: m[0] });
      }
      for (const secret of known) if (line.includes(secret)) leaks.push({ kind: 'configured secret', match: secret });
      return leaks;
    },
  };
}

/** A leak as a failing test shows it: enough to find the line, not the whole secret again. */
export function maskLeak(match: string): string {
  return match.length <= 8 ? match : `${match.slice(0, 6)}…(${match.length} chars)`;
}
