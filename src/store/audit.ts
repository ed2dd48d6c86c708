import type { Db } from './db.ts';
import { toIso } from './time.ts';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;

/** Every state-changing staff action, with the name of the token that did it. */
export function createAuditRepo(db: Db) {
  const k = db.kysely;
  return {
    async record(
      actor: string,
      action: string,
      target: string | null,
      detail?: unknown,
      now = new Date(),
    ): Promise<void> {
      await k
        .insertInto('audit_log')
        .values({
          at: toIso(now),
          actor,
          action,
          target,
          detail: detail === undefined ? null : JSON.stringify(detail),
        })
        .execute();
    },

    async list(options: { limit: number; before?: number }): Promise<AuditEntry[]> {
      let q = k.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(options.limit);
      if (options.before) q = q.where('id', '<', options.before);
      const rows = await q.execute();
      return rows.map((r) => ({
        id: Number(r.id),
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        detail: r.detail === null ? null : JSON.parse(r.detail),
      }));
    },
  };
}
