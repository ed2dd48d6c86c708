import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../api/auth.ts';
import { clientAddress } from '../api/client-address.ts';
import { withAuditOrigin } from '../store/audit-origin.ts';

/** Puts the request's client address in scope for the audit log (src/store/audit-origin.ts). */
export function auditRequestOrigin(): MiddlewareHandler<AppEnv> {
  return (c, next) => withAuditOrigin({ clientAddress: clientAddress(c) }, next);
}
