import type { MiddlewareHandler } from 'hono';
import { withAuditOrigin } from '../store/audit-origin.ts';
import type { AppEnv } from './auth.ts';
import { clientAddress } from './client-address.ts';

/** Puts the request's client address in scope for the audit log (src/store/audit-origin.ts). */
export function auditRequestOrigin(): MiddlewareHandler<AppEnv> {
  return (c, next) => withAuditOrigin({ clientAddress: clientAddress(c) }, next);
}
