const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/i;

/**
 * Retry-After (RFC 9110 §10.2.3) in ms from `now`: delay-seconds or an HTTP date (a date
 * already past is 0). Undefined when absent or unreadable, so the caller's own default
 * applies. Capped at maxMs: a provider's whim of a day must not hold back an emergency.
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: Date | number,
  maxMs = Number.POSITIVE_INFINITY,
): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    // All three HTTP-date forms begin with the day's name; Date.parse alone would read "1.5" as 2001.
    if (!HTTP_DATE_START.test(value)) return undefined;
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - (typeof now === 'number' ? now : now.getTime());
  }
  return Math.min(Math.max(ms, 0), maxMs);
}
