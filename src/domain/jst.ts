const JST_OFFSET_MS = 9 * 60 * 60_000;

/** 12月7日 17時05分 / 2026-12-07 17:05 JST: a moment as staff read it, whatever the host's time zone. */
export function jstWords(date: Date): { ja: string; en: string } {
  const d = new Date(date.getTime() + JST_OFFSET_MS);
  const mi = String(d.getUTCMinutes()).padStart(2, '0');
  return {
    ja: `${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${d.getUTCHours()}時${mi}分`,
    en: `${d.toISOString().slice(0, 16).replace('T', ' ')} JST`,
  };
}
