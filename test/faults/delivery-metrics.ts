/** `hibiki_deliveries_total` from a /metrics page, as `channel/status` → value. */
export function deliveryTotals(metricsText: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    const m = /^hibiki_deliveries_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] as string, l[2] as string]),
    );
    totals.set(`${labels.channel}/${labels.status}`, Number(m[2]));
  }
  return totals;
}
