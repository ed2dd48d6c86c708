import { currentAuditOrigin } from './audit-origin.ts';
import type { Db } from './db.ts';
import { toIso } from './time.ts';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
  /** The client's address for an action over HTTP; null from the command line or a worker. */
  clientAddress: string | null;
}

export interface AuditListOptions {
  limit: number;
  /** Only entries older than this id. */
  before?: number | undefined;
  action?: string | undefined;
  actor?: string | undefined;
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;

/**
 * Every state-changing staff action, with the name of the token that did it and, for one
 * made over HTTP, the client's address (taken from the request in scope, see audit-origin.ts).
 */
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
          client_address: currentAuditOrigin()?.clientAddress ?? null,
        })
        .execute();
    },

    /**
     * Newest first. `before` is the cursor (the last id of the previous page), so paging stays
     * right while new entries arrive; `action` and `actor` match exactly.
     */
    async list(options: AuditListOptions): Promise<AuditEntry[]> {
      let q = k.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(options.limit);
      if (options.before) q = q.where('id', '<', options.before);
      if (options.action) q = q.where('action', '=', options.action);
      if (options.actor) q = q.where('actor', '=', options.actor);
      const rows = await q.execute();
      return rows.map((r) => ({
        id: Number(r.id),
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        detail: r.detail === null ? null : JSON.parse(r.detail),
        clientAddress: r.client_address ?? null,
      }));
    },

    /** Everyone who has an entry, for the actor filter: names only of staff who acted. */
    async actors(): Promise<string[]> {
      const rows = await k.selectFrom('audit_log').select('actor').distinct().orderBy('actor').execute();
      return rows.map((r) => r.actor);
    },
  };
}
