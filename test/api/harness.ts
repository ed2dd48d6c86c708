import { createApp } from '../../src/app.ts';
import type { StaffRole } from '../../src/domain/staff.ts';
import type { StoreKind } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
export interface Harness {
  deps: TestDeps;
  app: ReturnType<typeof createApp>;
  /** One live token per role, named after it (`staff-author` …). */
  tokens: Record<StaffRole, string>;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  dispose(): Promise<void>;
}

export interface RequestOptions {
  /** A role's token, a literal token string, or null for no Authorization header. */
  as?: StaffRole | null | { token: string };
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** The real app over real deps (a fresh database and queue prefix), called in-process. */
export async function createHarness(store: StoreKind = 'sqlite', env: Record<string, string> = {}): Promise<Harness> {
  const deps = await createTestDeps({ store, env });
  const app = createApp(deps);
  const tokens = {} as Record<StaffRole, string>;
  for (const role of ['author', 'approver', 'admin'] as const)
    tokens[role] = (await deps.store.tokens.create(`staff-${role}`, role)).token;
  return {
    deps,
    app,
    tokens,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const as = options.as === undefined ? 'author' : options.as;
      if (as !== null) headers.authorization = `Bearer ${typeof as === 'string' ? tokens[as] : as.token}`;
      let body = options.body;
      if (options.json !== undefined) {
        body = JSON.stringify(options.json);
        headers['content-type'] ??= 'application/json';
      }
      return app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    },
    dispose: () => deps.dispose(),
  };
}

export const aNotice = (overrides: Record<string, unknown> = {}) => ({
  title: '避難所の開設について',
  body: '本日18時から市民体育館を避難所として開設します。\n\n食料と水をお持ちください。',
  severity: 'info',
  category: '避難所情報',
  topics: ['shelter'],
  ...overrides,
});

export interface ErrorJson {
  error: {
    code: string;
    message: string;
    message_en: string;
    fields?: Record<string, string[]>;
    fields_en?: Record<string, string[]>;
    requestId?: string;
  };
}
