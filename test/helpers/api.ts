import { createApp } from '../../src/app.ts';
import type { Deps } from '../../src/deps.ts';

import type { StaffRole } from '../../src/domain/staff.ts';
export interface StaffClient {
  token: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
}

/** Calls the real Hono app in-process with a real staff token of the given role. */
export async function staffClient(
  deps: Deps,
  role: StaffRole = 'approver',
  name = `test-${role}`,
): Promise<StaffClient> {
  const app = createApp(deps);
  const { token } = await deps.store.tokens.create(name, role);
  const auth = { authorization: `Bearer ${token}` };
  return {
    token,
    post: async (path, body, headers = {}) =>
      app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth, ...headers },
        body: JSON.stringify(body),
      }),
    get: async (path) => app.request(path, { headers: auth }),
  };
}

export const notice = (overrides: Record<string, unknown> = {}) => ({
  title: '避難所の開設について',
  body: '本日18時から市民体育館を避難所として開設します。',
  severity: 'info',
  category: '避難所情報',
  topics: ['disaster'],
  ...overrides,
});

/** Posts a notice and returns its id, failing with the API's own error body if refused. */
export async function postNotice(client: StaffClient, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await client.post('/v1/notices', notice(overrides));
  const body = (await res.json()) as { id?: string };
  if (res.status !== 202 || !body.id)
    throw new Error(`POST /v1/notices answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}
