import { randomBytes } from 'node:crypto';
import { formToken } from '../../src/web/resident-forms.tsx';
import { type AbuseFixture, pushSubscription, SHELTER_NOTICE } from './abuse-fixture.ts';
import type { RouteKey } from './app-routes.ts';

/**
 * Every route of the app, as the fuzzer sees it: what answers (the API's JSON errors, an
 * HTML page, or something else: feeds, scripts, the board's JSON), who calls it, what body
 * it reads, and a request that passes validation, so that mutations of it reach past the
 * first check. Path parameters get real values (a notice, a webhook) besides hostile ones.
 */
export interface FuzzRoute {
  key: RouteKey;
  /** api: 4xx is the `{ error: { code, message, … } }` body; page: 4xx is an HTML page. */
  kind: 'api' | 'page' | 'other';
  /** staff: a bearer token; console: a session cookie and CSRF token; public: nobody. */
  caller: 'staff' | 'console' | 'public';
  body: 'json' | 'form' | 'csv' | 'line' | 'none';
  sample?: (f: AbuseFixture) => Record<string, unknown> | unknown[];
  /** Query parameters the route reads, with good values. */
  query?: (f: AbuseFixture) => Record<string, string>;
  /** Real values for the path's parameters. */
  params?: (f: AbuseFixture) => Record<string, string>;
  /** Never with a valid CSRF token: signing out would end the fuzzer's session. */
  noCsrf?: true;
  /** Extra cookies a real caller has (the sign-in form's double-submit cookie). */
  cookie?: string;
}

const NOTICE = {
  ...SHELTER_NOTICE,
  areas: [],
  channels: ['mail', 'cap'],
  mode: 'exercise',
  link: 'https://www.city.example.jp/bousai',
  expiresAt: '2036-11-26T19:40:00+09:00',
  department: '危機管理防災課',
};

/** The console's compose form, as the browser posts it. */
const NOTICE_FORM = {
  title: '避難所の開設について',
  body: '本日18時から市民体育館を避難所として開設します。',
  severity: 'info',
  category: 'お知らせ',
  topics: ['shelter', 'disaster'],
  areas: [],
  channels: ['mail', 'cap'],
  mode: 'exercise',
  scheduledAt: '',
  expiresAt: '2036-11-26T19:40',
  department: '防災課',
  link: '',
  _action: 'preview',
};

const notice = (f: AbuseFixture) => ({ id: f.notices.sent });
const pending = (f: AbuseFixture) => ({ id: f.notices.pending });
const webhook = (f: AbuseFixture) => ({ id: String(f.webhookId) });
const queue = () => ({ queueName: 'dispatch', jobId: '1', queueStatus: 'failed', schedulerId: 'none' });
const PUSH = pushSubscription('https://fcm.googleapis.com/fcm/send/abc123');

const staff = (
  method: string,
  path: string,
  body: FuzzRoute['body'] = 'none',
  extra: Partial<FuzzRoute> = {},
): FuzzRoute => ({ key: `${method} ${path}` as RouteKey, kind: 'api', caller: 'staff', body, ...extra });

const console_ = (method: string, path: string, extra: Partial<FuzzRoute> = {}): FuzzRoute => ({
  key: `${method} ${path}` as RouteKey,
  kind: 'page',
  caller: 'console',
  body: method === 'GET' ? 'none' : 'form',
  ...extra,
});

const board = (method: string, path: string): FuzzRoute => ({
  key: `${method} ${path}` as RouteKey,
  kind: 'other',
  caller: 'console',
  body: method === 'GET' ? 'none' : 'json',
  params: queue,
  sample: () => ({ name: 'x', data: {} }),
});

const open = (
  method: string,
  path: string,
  kind: FuzzRoute['kind'],
  body: FuzzRoute['body'] = 'none',
  extra: Partial<FuzzRoute> = {},
): FuzzRoute => ({ key: `${method} ${path}` as RouteKey, kind, caller: 'public', body, ...extra });

export const FUZZ_ROUTES: FuzzRoute[] = [
  // Middleware on every path, and the console's catch-all 404 page.
  open('ALL', '/*', 'api'),
  console_('ALL', '/console/*'),
  console_('ALL', '/console'),
  console_('ALL', '/console/queues'),
  console_('ALL', '/console/queues/*'),

  // Operations and documentation.
  open('GET', '/healthz', 'api'),
  open('GET', '/readyz', 'api'),
  open('GET', '/metrics', 'api'),
  open('GET', '/openapi.json', 'other'),
  open('GET', '/docs', 'other'),
  open('GET', '/docs/assets/:file', 'other', 'none', { params: () => ({ file: 'docs.js' }) }),

  // Staff API.
  staff('POST', '/v1/notices', 'json', { sample: () => NOTICE }),
  staff('GET', '/v1/notices', 'none', { query: () => ({ limit: '10', cursor: 'n0', status: 'queued' }) }),
  staff('GET', '/v1/notices/:id', 'none', { params: notice }),
  staff('GET', '/v1/notices/:id/deliveries', 'none', {
    params: notice,
    query: () => ({ channel: 'mail', status: 'sent', revision: '1', cursor: '1', limit: '10' }),
  }),
  staff('POST', '/v1/notices/:id/revisions', 'json', {
    params: notice,
    sample: () => ({ title: '訂正: 避難所の開設について', body: '開設時刻を訂正します。' }),
  }),
  staff('POST', '/v1/notices/:id/cancel', 'json', { params: notice, sample: () => ({ reason: '誤報のため' }) }),
  staff('POST', '/v1/notices/:id/retry', 'none', { params: notice }),
  staff('POST', '/v1/notices/:id/approve', 'json', { params: pending, sample: () => ({ comment: '確認しました' }) }),
  staff('POST', '/v1/notices/:id/return', 'json', {
    params: pending,
    sample: () => ({ comment: '避難所の名前を確認してください' }),
  }),
  staff('POST', '/v1/notices/:id/resubmit', 'json', { params: pending, sample: () => ({ title: '避難指示' }) }),
  staff('POST', '/v1/preview', 'json', { sample: () => NOTICE }),
  staff('POST', '/v1/subscribers', 'json', {
    sample: () => [{ email: 'taro@example.jp', topics: ['disaster'], areas: [], locale: 'ja' }],
  }),
  staff('GET', '/v1/subscribers/export.csv'),
  staff('GET', '/v1/tokens'),
  staff('POST', '/v1/tokens', 'json', { sample: () => ({ name: '防災課 山田', role: 'author' }) }),
  staff('DELETE', '/v1/tokens/:id', 'none', { params: () => ({ id: '99999' }) }),
  staff('GET', '/v1/webhooks'),
  staff('GET', '/v1/webhooks/:id', 'none', { params: webhook }),
  staff('POST', '/v1/webhooks', 'json', {
    sample: () => ({ name: 'CMS', url: 'https://cms.example.jp/hook', topics: [], areas: [], minSeverity: 'info' }),
  }),
  staff('PATCH', '/v1/webhooks/:id', 'json', { params: webhook, sample: () => ({ name: 'CMS 2', active: true }) }),
  staff('POST', '/v1/webhooks/:id/rotate-secret', 'none', { params: webhook }),
  staff('DELETE', '/v1/webhooks/:id', 'none', { params: () => ({ id: '99999' }) }),

  // Residents: the public API, pages and forms.
  open('POST', '/v1/public/subscriptions', 'api', 'json', {
    sample: () => ({ email: 'hanako@example.jp', topics: ['disaster'], areas: [], locale: 'ja' }),
  }),
  open('GET', '/push/vapid-public-key', 'api'),
  open('POST', '/push/subscriptions', 'api', 'json', { sample: () => PUSH }),
  open('POST', '/push/subscriptions/current', 'api', 'json', { sample: () => ({ endpoint: PUSH.endpoint }) }),
  open('DELETE', '/push/subscriptions', 'api', 'json', { sample: () => ({ endpoint: PUSH.endpoint }) }),
  open('GET', '/unsubscribe', 'page', 'none', {
    query: (f) => ({ c: String(f.resident.unsubscribe.contactId), t: f.resident.unsubscribe.token }),
  }),
  // RFC 8058 one-click: mail clients get plain text, the page's own button gets a page.
  open('POST', '/unsubscribe', 'other', 'form', {
    query: (f) => ({ c: String(f.resident.unsubscribe.contactId), t: f.resident.unsubscribe.token }),
    sample: () => ({ 'List-Unsubscribe': 'One-Click', from: 'page' }),
  }),
  open('GET', '/notices', 'page'),
  open('GET', '/notices/:id', 'page', 'none', { params: notice }),
  open('GET', '/notices.atom', 'other'),
  open('GET', '/feeds/cap.atom', 'other'),
  open('GET', '/feeds/cap/:file', 'other', 'none', { params: (f) => ({ file: f.capFile }) }),
  open('POST', '/webhooks/line', 'other', 'line', {
    sample: () => ({
      destination: 'U0',
      events: [
        {
          type: 'message',
          mode: 'active',
          // A fresh event each time: a replayed id or a day-old event is ignored (issue 12, finding 17).
          timestamp: Date.now(),
          source: { type: 'user', userId: `U${'a'.repeat(32)}` },
          webhookEventId: `01H${randomBytes(11).toString('hex').toUpperCase()}`.slice(0, 26),
          deliveryContext: { isRedelivery: false },
          replyToken: 'r',
          message: { type: 'text', id: '1', text: '登録内容', quoteToken: 'q' },
        },
      ],
    }),
  }),
  open('GET', '/subscribe', 'page'),
  open('POST', '/subscribe', 'page', 'form', {
    sample: () => ({ email: 'jiro@example.jp', topics: ['disaster', 'shelter'], areas: [], locale: 'ja' }),
  }),
  open('GET', '/subscribe/confirm', 'page', 'none', { query: (f) => ({ t: f.resident.confirm }) }),
  open('POST', '/subscribe/confirm', 'page', 'form', {
    query: (f) => ({ t: f.resident.confirm }),
    sample: (f) => ({ form: formToken('confirm', f.resident.confirm) }),
  }),
  open('GET', '/manage', 'page', 'none', { query: (f) => ({ t: f.resident.manage }) }),
  open('POST', '/manage/link', 'page', 'form', { sample: () => ({ email: 'resident@example.jp', locale: 'ja' }) }),
  open('POST', '/manage', 'page', 'form', {
    query: (f) => ({ t: f.resident.manage }),
    sample: (f) => ({
      action: 'save',
      form: formToken('save', f.resident.manage),
      topics: ['disaster'],
      areas: [],
      locale: 'en',
    }),
  }),
  open('GET', '/push', 'page'),
  open('GET', '/push/app.js', 'other'),
  open('GET', '/sw.js', 'other'),
  open('GET', '/manifest.webmanifest', 'other'),
  open('GET', '/push/icon.svg', 'other'),
  open('GET', '/push/icon-180.png', 'other'),
  open('GET', '/push/icon-192.png', 'other'),
  open('GET', '/push/icon-512.png', 'other'),
  open('GET', '/push/badge-96.png', 'other'),

  // Staff console.
  console_('GET', '/console'),
  console_('GET', '/console/assets/:file{[a-z-]+\\.js}', { kind: 'other', params: () => ({ file: 'compose.js' }) }),
  console_('GET', '/console/login', { query: () => ({ next: '/console/audit' }) }),
  console_('POST', '/console/login', {
    query: () => ({ next: '/console/audit' }),
    cookie: 'hibiki_login_csrf=fuzz-login-csrf',
    sample: () => ({ _csrf: 'fuzz-login-csrf', token: 'hbk_not-a-real-token' }),
  }),
  console_('POST', '/console/logout', { noCsrf: true, sample: () => ({}) }),
  console_('GET', '/console/notices', {
    query: () => ({ status: 'queued', severity: 'info', from: '2026-01-01', to: '2036-12-31', cursor: 'n0' }),
  }),
  console_('GET', '/console/notices/:id', { params: notice, query: () => ({ done: 'retried', rows: '3' }) }),
  console_('GET', '/console/notices/:id/events', { params: notice }),
  console_('POST', '/console/notices/:id/retry', { params: notice, sample: () => ({}) }),
  console_('GET', '/console/notices/:id/cancel', { params: notice }),
  console_('POST', '/console/notices/:id/cancel', {
    params: notice,
    sample: () => ({ reason: '誤報のため', confirm: 'yes' }),
  }),
  console_('GET', '/console/notices/new', { query: () => ({ template: 'shelter-opening' }) }),
  console_('POST', '/console/notices/new/template', {
    sample: () => ({
      template: 'shelter-opening',
      'v.openedAt': '2026-11-26T18:00',
      'v.reason': '大雨',
      'v.shelters': '市民体育館',
      'v.note': '',
    }),
  }),
  console_('POST', '/console/notices/preview', { sample: () => NOTICE_FORM }),
  console_('POST', '/console/notices', { sample: () => NOTICE_FORM }),
  console_('POST', '/console/notices/:id/correct/preview', { params: notice, sample: () => NOTICE_FORM }),
  console_('GET', '/console/notices/:id/correct', { params: notice }),
  console_('POST', '/console/notices/:id/correct', { params: notice, sample: () => NOTICE_FORM }),
  console_('GET', '/console/notices/:id/resubmit', { params: pending }),
  console_('POST', '/console/notices/:id/resubmit', {
    params: pending,
    sample: () => ({ ...NOTICE_FORM, comment: '直しました', _action: 'submit' }),
  }),
  console_('GET', '/console/approvals'),
  console_('POST', '/console/notices/:id/approve', { params: pending, sample: () => ({ comment: '確認しました' }) }),
  console_('POST', '/console/notices/:id/return', { params: pending, sample: () => ({ comment: '直してください' }) }),
  console_('GET', '/console/audit', { query: () => ({ action: 'console.signin', actor: 'abuse-admin', before: '5' }) }),
  console_('GET', '/console/tokens', { query: () => ({ revoked: '1' }) }),
  console_('POST', '/console/tokens', { sample: () => ({ name: '防災課 佐藤', role: 'author' }) }),
  console_('GET', '/console/tokens/:id{[0-9]{1,15}}/revoke', { params: () => ({ id: '99999' }) }),
  console_('POST', '/console/tokens/:id{[0-9]{1,15}}/revoke', {
    params: () => ({ id: '99999' }),
    sample: () => ({ confirm: 'yes' }),
  }),

  // Bull Board (read-only, admins only): its page, static files and JSON API.
  console_('GET', '/console/queues'),
  console_('GET', '/console/queues/'),
  console_('GET', '/console/queues/static/*', { kind: 'other', params: () => ({ '*': 'favicon.ico' }) }),
  console_('GET', '/console/queues/metrics-history'),
  console_('GET', '/console/queues/job-schedulers'),
  console_('GET', '/console/queues/queue/:queueName', { params: queue }),
  console_('GET', '/console/queues/queue/:queueName/:jobId', { params: queue }),
  board('POST', '/console/queues/api/*'),
  board('PUT', '/console/queues/api/*'),
  board('PATCH', '/console/queues/api/*'),
  board('DELETE', '/console/queues/api/*'),
  board('GET', '/console/queues/api/redis/stats'),
  board('GET', '/console/queues/api/queues'),
  board('GET', '/console/queues/api/job-schedulers'),
  board('GET', '/console/queues/api/queues/:queueName/metrics'),
  board('GET', '/console/queues/api/queues/:queueName/default-job-options'),
  board('GET', '/console/queues/api/queues/:queueName/workers'),
  board('GET', '/console/queues/api/queues/:queueName/rate-limit'),
  board('GET', '/console/queues/api/queues/:queueName/job-data-schema'),
  board('PUT', '/console/queues/api/queues/pause'),
  board('PUT', '/console/queues/api/queues/resume'),
  board('GET', '/console/queues/api/queues/:queueName/:jobId/logs'),
  board('GET', '/console/queues/api/queues/:queueName/:jobId/flow'),
  board('GET', '/console/queues/api/queues/:queueName/:jobId'),
  board('POST', '/console/queues/api/queues/:queueName/add'),
  board('PUT', '/console/queues/api/queues/:queueName/retry/:queueStatus'),
  board('PUT', '/console/queues/api/queues/:queueName/promote'),
  board('PUT', '/console/queues/api/queues/:queueName/clean/:queueStatus'),
  board('PUT', '/console/queues/api/queues/:queueName/pause'),
  board('PUT', '/console/queues/api/queues/:queueName/resume'),
  board('PUT', '/console/queues/api/queues/:queueName/concurrency'),
  board('PUT', '/console/queues/api/queues/:queueName/rate-limit'),
  board('PUT', '/console/queues/api/queues/:queueName/rate-limit/release'),
  board('PUT', '/console/queues/api/queues/:queueName/empty'),
  board('PUT', '/console/queues/api/queues/:queueName/obliterate'),
  board('PUT', '/console/queues/api/queues/:queueName/job-schedulers/:schedulerId/remove'),
  board('PATCH', '/console/queues/api/queues/:queueName/job-schedulers/:schedulerId'),
  board('PUT', '/console/queues/api/queues/:queueName/job-schedulers/:schedulerId/run'),
  board('PUT', '/console/queues/api/queues/:queueName/:jobId/retry'),
  board('PUT', '/console/queues/api/queues/:queueName/:jobId/clean'),
  board('PUT', '/console/queues/api/queues/:queueName/:jobId/promote'),
  board('PATCH', '/console/queues/api/queues/:queueName/:jobId/update-data'),
  board('PATCH', '/console/queues/api/queues/:queueName/:jobId/delay'),
  board('PATCH', '/console/queues/api/queues/:queueName/:jobId/priority'),
  board('PUT', '/console/queues/api/queues/:queueName/:jobId/remove-unprocessed-children'),
];
