import { AsyncLocalStorage } from 'node:async_hooks';

/** Where the action being done came from: set once per HTTP request, read by the audit log. */
export interface AuditOrigin {
  /** The client's address as src/http/client-address.ts derives it. */
  clientAddress: string;
}

const storage = new AsyncLocalStorage<AuditOrigin>();

/**
 * Runs `fn` (a request's handling) with its origin in scope, so every audit row it writes,
 * however deep in a service, names the client without each caller passing it along.
 */
export function withAuditOrigin<T>(origin: AuditOrigin, fn: () => T): T {
  return storage.run(origin, fn);
}

/** The origin of the request in progress; undefined outside one (the command line, a worker). */
export function currentAuditOrigin(): AuditOrigin | undefined {
  return storage.getStore();
}
