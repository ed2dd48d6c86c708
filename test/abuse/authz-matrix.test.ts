import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffRole } from '../../src/domain/staff.ts';
import { formToken } from '../../src/web/resident-forms.tsx';
import { formBody, signedInConsole } from '../helpers/console.ts';
import {
  type AbuseFixture,
  bodyText,
  createAbuseFixture,
  LINE_SECRET,
  nonStaffCredentials,
  ORIGIN,
  pushSubscription,
  SHELTER_NOTICE,
  sessionCookie,
} from './abuse-fixture.ts';
import { appRouteKeys, missingFrom, openApiRouteKeys, type RouteKey } from './app-routes.ts';

/**
 * Who gets in where: every route of the app against every kind of caller, with the answer
 * each must get. The table is checked against the app's own router and /openapi.json, so a
 * route added without a row fails here. It is the only such table: staff API roles,
 * console roles and CSRF, and the residents' secret links are all in it.
 *
 * Callers (columns), each holding what such a person would hold:
 *   anon      nothing
 *   revoked   an admin token that was revoked, and the cookie of a console session it had
 *   resident  a resident's secrets (manage link, confirmation link, unsubscribe link), also
 *             tried as a bearer token and as a console cookie
 *   author, approver, admin
 *             a live token of the role (as the bearer) and a console session signed in with
 *             it (cookie, and the session's CSRF token on every POST/PUT/PATCH/DELETE)
 *   noCsrf    an admin's console session cookie, without its CSRF token
 *   bearer    an admin token as the bearer, and no console session
 *
 * Answers: a status, or 'login' (303 to /console/login: sent to sign in). Rows marked
 * public answer without credentials; link rows put each caller's secret into the link,
 * and only the resident's opens it.
 */

const CALLERS = ['anon', 'revoked', 'resident', 'author', 'approver', 'admin', 'noCsrf', 'bearer'] as const;
type Caller = (typeof CALLERS)[number];
type Outcome = number | 'login';
type Cells = [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome];

let tokenNames = 0;
const newTokenName = (): string => `新しい人 ${++tokenNames}`;

/** What a caller sends besides its credentials; the link's secret is the caller's own. */
interface Probe {
  method: string;
  path: string | ((secret: string) => string);
  /** A function makes a new body for each caller (a webhook URL may be registered once). */
  json?: unknown;
  form?: Record<string, string | string[]> | ((secret: string) => Record<string, string | string[]>);
  headers?: Record<string, string>;
  /** The body's raw text and headers of their own (the LINE webhook's signature). */
  raw?: { body: string; headers: Record<string, string> };
}

interface Row {
  kind: 'staff' | 'console' | 'public' | 'link';
  cells: Cells;
  /** Each signed-in caller uses a session of its own for this row (signing out ends it). */
  fresh?: true;
}

const L = 'login';
const all = (outcome: Outcome): Cells => [outcome, outcome, outcome, outcome, outcome, outcome, outcome, outcome];
const staff = (cells: Cells): Row => ({ kind: 'staff', cells });
const console_ = (cells: Cells, fresh?: true): Row => ({ kind: 'console', cells, ...(fresh ? { fresh } : {}) });
/** Public: answers without credentials; one outcome for every caller, or a row of them. */
const open = (cells: Cells | Outcome): Row => ({
  kind: 'public',
  cells: typeof cells === 'object' ? cells : all(cells),
});
/** A resident's link: only the resident's own secret opens it; 400 (a bad link) for every other caller's secret. */
const link = (opened: number): Row => ({ kind: 'link', cells: [400, 400, opened, 400, 400, 400, 400, 400] });

const get = (path: string): Probe => ({ method: 'GET', path });
const NO_SUCH = 'n0000000000nosuchnotice';
const NOTICE = SHELTER_NOTICE;
const NOTICE_FORM = { ...NOTICE, category: 'お知らせ', channels: ['mail', 'cap'], mode: 'actual', _action: 'preview' };
const PUSH_ENDPOINT = 'https://fcm.googleapis.com/fcm/send/authz-matrix';
const SIGNIN_CSRF = 'authz-matrix-login-csrf';
const LINE_BODY = JSON.stringify({ destination: 'U0', events: [] });

/** Filled in beforeAll: ids and secrets the probes point at. */
const at = { notice: '', pending: '', webhook: 0, capFile: '', contact: 0, signinToken: '' };

// biome-ignore format: a table reads best as one
const TABLE: Record<RouteKey, Row> = {
  //                                                                                        anon revoked resident author approver admin noCsrf bearer
  // ---- every path, and operations
  'ALL /*':                                                                       open(404),
  'GET /healthz':                                                                 open(200),
  'GET /readyz':                                                                  open(200),
  'GET /metrics':                                                                 open(200),
  'GET /openapi.json':                                                            open(200),
  'GET /docs':                                                                    open(200),
  'GET /docs/assets/:file':                                                       open(200),

  // ---- staff API: bearer tokens only (a console cookie is no credential here)
  'POST /v1/notices':                                                             staff(   [401, 401,    401,     202,   202,     202,  401,   202]),
  'GET /v1/notices':                                                              staff(   [401, 401,    401,     200,   200,     200,  401,   200]),
  'GET /v1/notices/:id':                                                          staff(   [401, 401,    401,     200,   200,     200,  401,   200]),
  'GET /v1/notices/:id/deliveries':                                               staff(   [401, 401,    401,     200,   200,     200,  401,   200]),
  'POST /v1/notices/:id/revisions':                                               staff(   [401, 401,    401,     404,   404,     404,  401,   404]),
  'POST /v1/notices/:id/cancel':                                                  staff(   [401, 401,    401,     404,   404,     404,  401,   404]),
  'POST /v1/notices/:id/retry':                                                   staff(   [401, 401,    401,     404,   404,     404,  401,   404]),
  'POST /v1/notices/:id/approve':                                                 staff(   [401, 401,    401,     403,   404,     404,  401,   404]),
  'POST /v1/notices/:id/return':                                                  staff(   [401, 401,    401,     403,   404,     404,  401,   404]),
  'POST /v1/notices/:id/resubmit':                                                staff(   [401, 401,    401,     404,   404,     404,  401,   404]),
  'POST /v1/preview':                                                             staff(   [401, 401,    401,     200,   200,     200,  401,   200]),
  'POST /v1/subscribers':                                                         staff(   [401, 401,    401,     403,   403,     200,  401,   200]),
  'GET /v1/subscribers/export.csv':                                               staff(   [401, 401,    401,     403,   403,     200,  401,   200]),
  'GET /v1/tokens':                                                               staff(   [401, 401,    401,     403,   403,     200,  401,   200]),
  'POST /v1/tokens':                                                              staff(   [401, 401,    401,     403,   403,     201,  401,   201]),
  'DELETE /v1/tokens/:id':                                                        staff(   [401, 401,    401,     403,   403,     404,  401,   404]),
  'GET /v1/webhooks':                                                             staff(   [401, 401,    401,     403,   403,     200,  401,   200]),
  'GET /v1/webhooks/:id':                                                         staff(   [401, 401,    401,     403,   403,     200,  401,   200]),
  'POST /v1/webhooks':                                                            staff(   [401, 401,    401,     403,   403,     201,  401,   201]),
  'PATCH /v1/webhooks/:id':                                                       staff(   [401, 401,    401,     403,   403,     404,  401,   404]),
  'DELETE /v1/webhooks/:id':                                                      staff(   [401, 401,    401,     403,   403,     404,  401,   404]),
  'POST /v1/webhooks/:id/rotate-secret':                                          staff(   [401, 401,    401,     403,   403,     404,  401,   404]),

  // ---- residents: public API and pages, and links that only the resident's secret opens
  'POST /v1/public/subscriptions':                                                open(202),
  'GET /push/vapid-public-key':                                                   open(200),
  'POST /push/subscriptions':                                                     open(201),
  'POST /push/subscriptions/current':                                             open(200),
  'DELETE /push/subscriptions':                                                   open(204),
  'GET /push':                                                                    open(200),
  'GET /push/app.js':                                                             open(200),
  'GET /sw.js':                                                                   open(200),
  'GET /manifest.webmanifest':                                                    open(200),
  'GET /push/icon.svg':                                                           open(200),
  'GET /push/icon-180.png':                                                       open(200),
  'GET /push/icon-192.png':                                                       open(200),
  'GET /push/icon-512.png':                                                       open(200),
  'GET /push/badge-96.png':                                                       open(200),
  'GET /notices':                                                                 open(200),
  'GET /notices/:id':                                                             open(200),
  'GET /notices.atom':                                                            open(200),
  'GET /feeds/cap.atom':                                                          open(200),
  'GET /feeds/cap/:file':                                                         open(200),
  // Signed with the channel secret, as LINE signs it: the signature is the credential, not the caller.
  'POST /webhooks/line':                                                          open(200),
  'GET /subscribe':                                                               open(200),
  'POST /subscribe':                                                              open(200),
  'POST /manage/link':                                                            open(200),
  // Before the unsubscribe rows: an unsubscribe voids every manage link the resident holds (issue 12, finding 9).
  'GET /manage':                                                                  link(200),
  'POST /manage':                                                                 link(200),
  'GET /unsubscribe':                                                             link(200),
  'POST /unsubscribe':                                                            link(200),
  'GET /subscribe/confirm':                                                       link(200),
  'POST /subscribe/confirm':                                                      link(200),

  // ---- console: a session cookie (a bearer token is no credential here), CSRF on every change
  'GET /console/assets/:file{[a-z-]+\\.js}':                                      open(200),
  'GET /console/login':                                                           open([200, 200,    200,     303,   303,     303,  303,   200]),
  'POST /console/login':                                                          open(303),
  'POST /console/logout':                                                         console_([401, 401,    401,     L,     L,       L,    403,   401], true),
  'ALL /console':                                                                 console_([L,   L,      L,       303,   303,     303,  303,   L]),
  'GET /console':                                                                 console_([L,   L,      L,       303,   303,     303,  303,   L]),
  'ALL /console/*':                                                               console_([L,   L,      L,       404,   404,     404,  404,   L]),
  'GET /console/notices':                                                         console_([L,   L,      L,       200,   200,     200,  200,   L]),
  'GET /console/notices/new':                                                     console_([L,   L,      L,       200,   200,     200,  200,   L]),
  'POST /console/notices/new/template':                                           console_([401, 401,    401,     404,   404,     404,  403,   401]),
  'POST /console/notices/preview':                                                console_([401, 401,    401,     200,   200,     200,  403,   401]),
  'POST /console/notices':                                                        console_([401, 401,    401,     200,   200,     200,  403,   401]),
  'GET /console/notices/:id':                                                     console_([L,   L,      L,       200,   200,     200,  200,   L]),
  'GET /console/notices/:id/events':                                              console_([L,   L,      L,       200,   200,     200,  200,   L]),
  'POST /console/notices/:id/retry':                                              console_([401, 401,    401,     404,   404,     404,  403,   401]),
  'GET /console/notices/:id/cancel':                                              console_([L,   L,      L,       200,   200,     200,  200,   L]),
  'POST /console/notices/:id/cancel':                                             console_([401, 401,    401,     404,   404,     404,  403,   401]),
  'GET /console/notices/:id/correct':                                             console_([L,   L,      L,       200,   200,     200,  200,   L]),
  'POST /console/notices/:id/correct/preview':                                    console_([401, 401,    401,     404,   404,     404,  403,   401]),
  'POST /console/notices/:id/correct':                                            console_([401, 401,    401,     404,   404,     404,  403,   401]),
  'GET /console/notices/:id/resubmit':                                            console_([L,   L,      L,       404,   404,     404,  404,   L]),
  'POST /console/notices/:id/resubmit':                                           console_([401, 401,    401,     404,   404,     404,  403,   401]),
  'GET /console/approvals':                                                       console_([L,   L,      L,       403,   200,     200,  200,   L]),
  'POST /console/notices/:id/approve':                                            console_([401, 401,    401,     403,   404,     404,  403,   401]),
  'POST /console/notices/:id/return':                                             console_([401, 401,    401,     403,   404,     404,  403,   401]),
  'GET /console/audit':                                                           console_([L,   L,      L,       403,   200,     200,  200,   L]),
  'GET /console/tokens':                                                          console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'POST /console/tokens':                                                         console_([401, 401,    401,     403,   403,     200,  403,   401]),
  'GET /console/tokens/:id{[0-9]{1,15}}/revoke':                                  console_([L,   L,      L,       403,   403,     404,  404,   L]),
  'POST /console/tokens/:id{[0-9]{1,15}}/revoke':                                 console_([401, 401,    401,     403,   403,     404,  403,   401]),

  // ---- Bull Board: admins only, read-only (every change is refused even with the CSRF token)
  'ALL /console/queues':                                                          console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'ALL /console/queues/*':                                                        console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues':                                                          console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/':                                                         console_([L,   L,      L,       403,   403,     301,  301,   L]),
  'GET /console/queues/static/*':                                                 console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/metrics-history':                                          console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/job-schedulers':                                           console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/queue/:queueName':                                         console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/queue/:queueName/:jobId':                                  console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/redis/stats':                                          console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues':                                               console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/job-schedulers':                                       console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/metrics':                            console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/default-job-options':                console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/workers':                            console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/rate-limit':                         console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/job-data-schema':                    console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/:jobId/logs':                        console_([L,   L,      L,       403,   403,     200,  200,   L]),
  'GET /console/queues/api/queues/:queueName/:jobId/flow':                        console_([L,   L,      L,       403,   403,     404,  404,   L]),
  'GET /console/queues/api/queues/:queueName/:jobId':                             console_([L,   L,      L,       403,   403,     404,  404,   L]),
  'POST /console/queues/api/*':                                                   console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/*':                                                    console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PATCH /console/queues/api/*':                                                  console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'DELETE /console/queues/api/*':                                                 console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/pause':                                         console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/resume':                                        console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'POST /console/queues/api/queues/:queueName/add':                               console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/retry/:queueStatus':                 console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/promote':                            console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/clean/:queueStatus':                 console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/pause':                              console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/resume':                             console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/concurrency':                        console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/rate-limit':                         console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/rate-limit/release':                 console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/empty':                              console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/obliterate':                         console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/job-schedulers/:schedulerId/remove': console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PATCH /console/queues/api/queues/:queueName/job-schedulers/:schedulerId':      console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/job-schedulers/:schedulerId/run':    console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/:jobId/retry':                       console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/:jobId/clean':                       console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/:jobId/promote':                     console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PATCH /console/queues/api/queues/:queueName/:jobId/update-data':               console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PATCH /console/queues/api/queues/:queueName/:jobId/delay':                     console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PATCH /console/queues/api/queues/:queueName/:jobId/priority':                  console_([401, 401,    401,     403,   403,     405,  403,   401]),
  'PUT /console/queues/api/queues/:queueName/:jobId/remove-unprocessed-children': console_([401, 401,    401,     403,   403,     405,  403,   401]),
};

/** How each route is called: a real record where reading one proves the way in, a missing one where a change would. */
const PROBES: Record<RouteKey, Probe> = {
  // ---- every path, and operations
  'ALL /*': get('/no-such-route'),
  'GET /healthz': get('/healthz'),
  'GET /readyz': get('/readyz'),
  'GET /metrics': get('/metrics'),
  'GET /openapi.json': get('/openapi.json'),
  'GET /docs': get('/docs'),
  'GET /docs/assets/:file': get('/docs/assets/docs.js'),

  // ---- staff API: bearer tokens only (a console cookie is no credential here)
  'POST /v1/notices': { method: 'POST', path: '/v1/notices', json: NOTICE },
  'GET /v1/notices': get('/v1/notices'),
  'GET /v1/notices/:id': { method: 'GET', path: () => `/v1/notices/${at.notice}` },
  'GET /v1/notices/:id/deliveries': { method: 'GET', path: () => `/v1/notices/${at.notice}/deliveries` },
  'POST /v1/notices/:id/revisions': {
    method: 'POST',
    path: `/v1/notices/${NO_SUCH}/revisions`,
    json: { title: '訂正' },
  },
  'POST /v1/notices/:id/cancel': { method: 'POST', path: `/v1/notices/${NO_SUCH}/cancel`, json: {} },
  'POST /v1/notices/:id/retry': { method: 'POST', path: `/v1/notices/${NO_SUCH}/retry` },
  'POST /v1/notices/:id/approve': { method: 'POST', path: `/v1/notices/${NO_SUCH}/approve`, json: {} },
  'POST /v1/notices/:id/return': {
    method: 'POST',
    path: `/v1/notices/${NO_SUCH}/return`,
    json: { comment: '直してください' },
  },
  'POST /v1/notices/:id/resubmit': {
    method: 'POST',
    path: `/v1/notices/${NO_SUCH}/resubmit`,
    json: { title: '再申請' },
  },
  'POST /v1/preview': { method: 'POST', path: '/v1/preview', json: NOTICE },
  'POST /v1/subscribers': { method: 'POST', path: '/v1/subscribers', json: [] },
  'GET /v1/subscribers/export.csv': get('/v1/subscribers/export.csv'),
  'GET /v1/tokens': get('/v1/tokens'),
  // A new name each time: a live token's name is taken (finding 15).
  'POST /v1/tokens': { method: 'POST', path: '/v1/tokens', json: () => ({ name: newTokenName(), role: 'author' }) },
  'DELETE /v1/tokens/:id': { method: 'DELETE', path: '/v1/tokens/99999' },
  'GET /v1/webhooks': get('/v1/webhooks'),
  'GET /v1/webhooks/:id': { method: 'GET', path: () => `/v1/webhooks/${at.webhook}` },
  'POST /v1/webhooks': {
    method: 'POST',
    path: '/v1/webhooks',
    json: () => ({ name: 'CMS', url: `https://cms.example.jp/${randomUUID()}` }),
  },
  'PATCH /v1/webhooks/:id': { method: 'PATCH', path: '/v1/webhooks/99999', json: { name: 'x' } },
  'DELETE /v1/webhooks/:id': { method: 'DELETE', path: '/v1/webhooks/99999' },
  'POST /v1/webhooks/:id/rotate-secret': { method: 'POST', path: '/v1/webhooks/99999/rotate-secret' },

  // ---- residents: public API and pages, and links that only the resident's secret opens
  'POST /v1/public/subscriptions': {
    method: 'POST',
    path: '/v1/public/subscriptions',
    json: { email: 'hanako@example.jp' },
  },
  'GET /push/vapid-public-key': get('/push/vapid-public-key'),
  'POST /push/subscriptions': {
    method: 'POST',
    path: '/push/subscriptions',
    json: pushSubscription(PUSH_ENDPOINT),
  },
  'POST /push/subscriptions/current': {
    method: 'POST',
    path: '/push/subscriptions/current',
    json: { endpoint: PUSH_ENDPOINT },
  },
  'DELETE /push/subscriptions': { method: 'DELETE', path: '/push/subscriptions', json: { endpoint: PUSH_ENDPOINT } },
  'GET /push': get('/push'),
  'GET /push/app.js': get('/push/app.js'),
  'GET /sw.js': get('/sw.js'),
  'GET /manifest.webmanifest': get('/manifest.webmanifest'),
  'GET /push/icon.svg': get('/push/icon.svg'),
  'GET /push/icon-180.png': get('/push/icon-180.png'),
  'GET /push/icon-192.png': get('/push/icon-192.png'),
  'GET /push/icon-512.png': get('/push/icon-512.png'),
  'GET /push/badge-96.png': get('/push/badge-96.png'),
  'GET /notices': get('/notices'),
  'GET /notices/:id': { method: 'GET', path: () => `/notices/${at.notice}` },
  'GET /notices.atom': get('/notices.atom'),
  'GET /feeds/cap.atom': get('/feeds/cap.atom'),
  'GET /feeds/cap/:file': { method: 'GET', path: () => `/feeds/cap/${at.capFile}` },
  // Signed with the channel secret, as LINE signs it: the signature is the credential, not the caller.
  'POST /webhooks/line': {
    method: 'POST',
    path: '/webhooks/line',
    raw: {
      body: LINE_BODY,
      headers: {
        'content-type': 'application/json',
        'x-line-signature': createHmac('sha256', LINE_SECRET).update(LINE_BODY).digest('base64'),
      },
    },
  },
  'GET /subscribe': get('/subscribe'),
  'POST /subscribe': {
    method: 'POST',
    path: '/subscribe',
    form: { email: 'jiro@example.jp', topics: ['disaster'], locale: 'ja' },
  },
  'POST /manage/link': { method: 'POST', path: '/manage/link', form: { email: 'resident@example.jp', locale: 'ja' } },
  'GET /unsubscribe': { method: 'GET', path: (t) => `/unsubscribe?c=${at.contact}&t=${encodeURIComponent(t)}` },
  'POST /unsubscribe': {
    method: 'POST',
    path: (t) => `/unsubscribe?c=${at.contact}&t=${encodeURIComponent(t)}`,
    form: { 'List-Unsubscribe': 'One-Click' },
  },
  'GET /subscribe/confirm': { method: 'GET', path: (t) => `/subscribe/confirm?t=${encodeURIComponent(t)}` },
  'POST /subscribe/confirm': {
    method: 'POST',
    path: (t) => `/subscribe/confirm?t=${encodeURIComponent(t)}`,
    form: (t) => ({ form: formToken('confirm', t) }),
  },
  'GET /manage': { method: 'GET', path: (t) => `/manage?t=${encodeURIComponent(t)}` },
  'POST /manage': {
    method: 'POST',
    path: (t) => `/manage?t=${encodeURIComponent(t)}`,
    form: (t) => ({ action: 'save', form: formToken('save', t), topics: ['disaster'], locale: 'en' }),
  },

  // ---- console: a session cookie (a bearer token is no credential here), CSRF on every change
  'GET /console/assets/:file{[a-z-]+\\.js}': get('/console/assets/compose.js'),
  'GET /console/login': get('/console/login'),
  'POST /console/login': {
    method: 'POST',
    path: '/console/login',
    headers: { cookie: `hibiki_login_csrf=${SIGNIN_CSRF}` },
    form: () => ({ _csrf: SIGNIN_CSRF, token: at.signinToken }),
  },
  'POST /console/logout': { method: 'POST', path: '/console/logout', form: {} },
  'ALL /console': get('/console'),
  'GET /console': get('/console'),
  'ALL /console/*': get('/console/no-such-page'),
  'GET /console/notices': get('/console/notices'),
  'GET /console/notices/new': get('/console/notices/new'),
  'POST /console/notices/new/template': {
    method: 'POST',
    path: '/console/notices/new/template',
    form: { template: 'no-such-template' },
  },
  'POST /console/notices/preview': { method: 'POST', path: '/console/notices/preview', form: NOTICE_FORM },
  'POST /console/notices': { method: 'POST', path: '/console/notices', form: NOTICE_FORM },
  'GET /console/notices/:id': { method: 'GET', path: () => `/console/notices/${at.notice}` },
  'GET /console/notices/:id/events': { method: 'GET', path: () => `/console/notices/${at.notice}/events` },
  'POST /console/notices/:id/retry': { method: 'POST', path: `/console/notices/${NO_SUCH}/retry`, form: {} },
  'GET /console/notices/:id/cancel': { method: 'GET', path: () => `/console/notices/${at.notice}/cancel` },
  'POST /console/notices/:id/cancel': {
    method: 'POST',
    path: `/console/notices/${NO_SUCH}/cancel`,
    form: { confirm: 'yes' },
  },
  'GET /console/notices/:id/correct': { method: 'GET', path: () => `/console/notices/${at.notice}/correct` },
  'POST /console/notices/:id/correct/preview': {
    method: 'POST',
    path: `/console/notices/${NO_SUCH}/correct/preview`,
    form: NOTICE_FORM,
  },
  'POST /console/notices/:id/correct': {
    method: 'POST',
    path: `/console/notices/${NO_SUCH}/correct`,
    form: NOTICE_FORM,
  },
  'GET /console/notices/:id/resubmit': { method: 'GET', path: `/console/notices/${NO_SUCH}/resubmit` },
  'POST /console/notices/:id/resubmit': {
    method: 'POST',
    path: `/console/notices/${NO_SUCH}/resubmit`,
    form: NOTICE_FORM,
  },
  'GET /console/approvals': get('/console/approvals'),
  'POST /console/notices/:id/approve': { method: 'POST', path: `/console/notices/${NO_SUCH}/approve`, form: {} },
  'POST /console/notices/:id/return': {
    method: 'POST',
    path: `/console/notices/${NO_SUCH}/return`,
    form: { comment: '直してください' },
  },
  'GET /console/audit': get('/console/audit'),
  'GET /console/tokens': get('/console/tokens'),
  'POST /console/tokens': {
    method: 'POST',
    path: '/console/tokens',
    form: () => ({ name: newTokenName(), role: 'author' }),
  },
  'GET /console/tokens/:id{[0-9]{1,15}}/revoke': get('/console/tokens/99999/revoke'),
  'POST /console/tokens/:id{[0-9]{1,15}}/revoke': {
    method: 'POST',
    path: '/console/tokens/99999/revoke',
    form: { confirm: 'yes' },
  },

  // ---- Bull Board: admins only, read-only (every change is refused even with the CSRF token)
  'ALL /console/queues': get('/console/queues'),
  'ALL /console/queues/*': get('/console/queues/api/queues'),
  'GET /console/queues': get('/console/queues'),
  'GET /console/queues/': get('/console/queues/'),
  'GET /console/queues/static/*': get('/console/queues/static/favicon.ico'),
  'GET /console/queues/metrics-history': get('/console/queues/metrics-history'),
  'GET /console/queues/job-schedulers': get('/console/queues/job-schedulers'),
  'GET /console/queues/queue/:queueName': get('/console/queues/queue/dispatch'),
  'GET /console/queues/queue/:queueName/:jobId': get('/console/queues/queue/dispatch/no-such-job'),
  'GET /console/queues/api/redis/stats': get('/console/queues/api/redis/stats'),
  'GET /console/queues/api/queues': get('/console/queues/api/queues'),
  'GET /console/queues/api/job-schedulers': get('/console/queues/api/job-schedulers'),
  'GET /console/queues/api/queues/:queueName/metrics': get('/console/queues/api/queues/dispatch/metrics'),
  'GET /console/queues/api/queues/:queueName/default-job-options': get(
    '/console/queues/api/queues/dispatch/default-job-options',
  ),
  'GET /console/queues/api/queues/:queueName/workers': get('/console/queues/api/queues/dispatch/workers'),
  'GET /console/queues/api/queues/:queueName/rate-limit': get('/console/queues/api/queues/dispatch/rate-limit'),
  'GET /console/queues/api/queues/:queueName/job-data-schema': get(
    '/console/queues/api/queues/dispatch/job-data-schema',
  ),
  'GET /console/queues/api/queues/:queueName/:jobId/logs': get('/console/queues/api/queues/dispatch/no-such-job/logs'),
  'GET /console/queues/api/queues/:queueName/:jobId/flow': get('/console/queues/api/queues/dispatch/no-such-job/flow'),
  'GET /console/queues/api/queues/:queueName/:jobId': get('/console/queues/api/queues/dispatch/no-such-job'),
  'POST /console/queues/api/*': { method: 'POST', path: '/console/queues/api/anything', json: {} },
  'PUT /console/queues/api/*': { method: 'PUT', path: '/console/queues/api/anything' },
  'PATCH /console/queues/api/*': { method: 'PATCH', path: '/console/queues/api/anything', json: {} },
  'DELETE /console/queues/api/*': { method: 'DELETE', path: '/console/queues/api/queues/dispatch' },
  'PUT /console/queues/api/queues/pause': { method: 'PUT', path: '/console/queues/api/queues/pause' },
  'PUT /console/queues/api/queues/resume': { method: 'PUT', path: '/console/queues/api/queues/resume' },
  'POST /console/queues/api/queues/:queueName/add': {
    method: 'POST',
    path: '/console/queues/api/queues/dispatch/add',
    json: { name: 'x', data: {} },
  },
  'PUT /console/queues/api/queues/:queueName/retry/:queueStatus': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/retry/failed',
  },
  'PUT /console/queues/api/queues/:queueName/promote': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/promote',
  },
  'PUT /console/queues/api/queues/:queueName/clean/:queueStatus': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/clean/failed',
  },
  'PUT /console/queues/api/queues/:queueName/pause': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/pause',
  },
  'PUT /console/queues/api/queues/:queueName/resume': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/resume',
  },
  'PUT /console/queues/api/queues/:queueName/concurrency': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/concurrency',
    json: { concurrency: 1 },
  },
  'PUT /console/queues/api/queues/:queueName/rate-limit': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/rate-limit',
    json: { max: 1, duration: 1000 },
  },
  'PUT /console/queues/api/queues/:queueName/rate-limit/release': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/rate-limit/release',
  },
  'PUT /console/queues/api/queues/:queueName/empty': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/empty',
  },
  'PUT /console/queues/api/queues/:queueName/obliterate': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/obliterate',
  },
  'PUT /console/queues/api/queues/:queueName/job-schedulers/:schedulerId/remove': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/job-schedulers/none/remove',
  },
  'PATCH /console/queues/api/queues/:queueName/job-schedulers/:schedulerId': {
    method: 'PATCH',
    path: '/console/queues/api/queues/dispatch/job-schedulers/none',
    json: {},
  },
  'PUT /console/queues/api/queues/:queueName/job-schedulers/:schedulerId/run': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/job-schedulers/none/run',
  },
  'PUT /console/queues/api/queues/:queueName/:jobId/retry': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/no-such-job/retry',
  },
  'PUT /console/queues/api/queues/:queueName/:jobId/clean': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/no-such-job/clean',
  },
  'PUT /console/queues/api/queues/:queueName/:jobId/promote': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/no-such-job/promote',
  },
  'PATCH /console/queues/api/queues/:queueName/:jobId/update-data': {
    method: 'PATCH',
    path: '/console/queues/api/queues/dispatch/no-such-job/update-data',
    json: {},
  },
  'PATCH /console/queues/api/queues/:queueName/:jobId/delay': {
    method: 'PATCH',
    path: '/console/queues/api/queues/dispatch/no-such-job/delay',
    json: { delay: 1 },
  },
  'PATCH /console/queues/api/queues/:queueName/:jobId/priority': {
    method: 'PATCH',
    path: '/console/queues/api/queues/dispatch/no-such-job/priority',
    json: { priority: 1 },
  },
  'PUT /console/queues/api/queues/:queueName/:jobId/remove-unprocessed-children': {
    method: 'PUT',
    path: '/console/queues/api/queues/dispatch/no-such-job/remove-unprocessed-children',
  },
};

const ROLE_OF: Partial<Record<Caller, StaffRole>> = { author: 'author', approver: 'approver', admin: 'admin' };

interface Session {
  cookie: string;
  csrf: string;
}

let f: AbuseFixture;

/** The caller's credentials for a route of this kind, with a session of its own when `sessions` says so. */
function credentials(caller: Caller, unsafe: boolean, sessions: Partial<Record<Caller, Session>>): Headers {
  const headers = new Headers();
  const cookies: string[] = [];
  const session = sessions[caller];
  const role = ROLE_OF[caller];
  switch (caller) {
    case 'anon':
      break;
    case 'revoked':
    case 'resident': {
      const held = nonStaffCredentials(f, caller);
      headers.set('authorization', held.authorization);
      cookies.push(held.cookie);
      break;
    }
    case 'noCsrf':
      if (session) cookies.push(session.cookie);
      break;
    case 'bearer':
      headers.set('authorization', `Bearer ${f.staff.admin.token}`);
      break;
    default:
      if (role) headers.set('authorization', `Bearer ${f.staff[role].token}`);
      if (session) {
        cookies.push(session.cookie);
        if (unsafe) headers.set('x-csrf-token', session.csrf);
      }
  }
  if (cookies.length > 0) headers.set('cookie', cookies.join('; '));
  // Every form a browser posts says where it comes from.
  if (unsafe) headers.set('origin', ORIGIN);
  return headers;
}

/** The secret a caller would put in a resident's link: its own, whatever that is. */
function secretOf(caller: Caller, route: RouteKey): string {
  const confirm = route.includes('/subscribe/confirm');
  const unsubscribe = route.includes('/unsubscribe');
  switch (caller) {
    case 'anon':
      return '';
    case 'revoked':
      return f.revoked.token;
    case 'resident':
      return confirm ? f.resident.confirm : unsubscribe ? f.resident.unsubscribe.token : f.resident.manage;
    case 'noCsrf':
      return sessionCookie(f.staff.admin.console).split('=').slice(1).join('=');
    case 'bearer':
      return f.staff.admin.token;
    default:
      return f.staff[ROLE_OF[caller] ?? 'author'].token;
  }
}

async function sessionsFor(fresh: boolean): Promise<Partial<Record<Caller, Session>>> {
  const of = async (role: StaffRole): Promise<Session> => {
    const c = fresh
      ? await signedInConsole(f.app, f.deps.store.tokens, role, `authz-fresh-${role}`)
      : f.staff[role].console;
    return { cookie: sessionCookie(c), csrf: c.csrf ?? '' };
  };
  return {
    author: await of('author'),
    approver: await of('approver'),
    admin: await of('admin'),
    noCsrf: await of('admin'),
  };
}

async function call(route: RouteKey, caller: Caller, sessions: Partial<Record<Caller, Session>>) {
  const probe = PROBES[route];
  if (!probe) throw new Error(`no probe for ${route}`);
  const unsafe = !['GET', 'HEAD'].includes(probe.method);
  const headers = credentials(caller, unsafe, sessions);
  const secret = secretOf(caller, route);
  const path = typeof probe.path === 'function' ? probe.path(secret) : probe.path;
  for (const [name, value] of Object.entries(probe.headers ?? {})) {
    headers.set(name, name === 'cookie' && headers.has('cookie') ? `${headers.get('cookie')}; ${value}` : value);
  }
  let body: BodyInit | undefined;
  if (probe.raw) {
    body = probe.raw.body;
    for (const [name, value] of Object.entries(probe.raw.headers)) headers.set(name, value);
  } else if (probe.json !== undefined) {
    body = JSON.stringify(typeof probe.json === 'function' ? probe.json() : probe.json);
    headers.set('content-type', 'application/json');
  } else if (probe.form) {
    body = formBody(typeof probe.form === 'function' ? probe.form(secret) : probe.form);
    headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  headers.set('accept', route.includes('/v1/') ? 'application/json' : 'text/html,*/*');
  const res = await f.app.request(`${ORIGIN}${path}`, { method: probe.method, headers, ...(body ? { body } : {}) });
  return { res, text: await bodyText(res) };
}

function outcomeOf(res: Response): Outcome {
  if (res.status === 303 && (res.headers.get('location') ?? '').startsWith('/console/login')) return 'login';
  return res.status;
}

/** The least role a staff or console row lets in, read from its cells. */
function needs(cells: Cells): StaffRole | undefined {
  const byCaller = Object.fromEntries(CALLERS.map((c, i) => [c, cells[i]]));
  return (['author', 'approver', 'admin'] as const).find((r) => byCaller[r] !== 403);
}

describe('authorisation matrix: every route × every kind of caller', () => {
  beforeAll(async () => {
    f = await createAbuseFixture();
    at.notice = f.notices.sent;
    at.pending = f.notices.pending;
    at.webhook = f.webhookId;
    at.capFile = f.capFile;
    at.contact = f.resident.unsubscribe.contactId;
    at.signinToken = (await f.deps.store.tokens.create('authz-signin', 'author')).token;
  });
  afterAll(async () => {
    await f?.dispose();
  });

  it('has a row for every route the app has and /openapi.json documents, and none for a route it lacks', async () => {
    const doc = (await (await f.app.request('/openapi.json')).json()) as Parameters<typeof openApiRouteKeys>[0];
    const actual = [...appRouteKeys(f.app), ...openApiRouteKeys(doc)];
    const table = Object.keys(TABLE) as RouteKey[];
    expect(missingFrom(table, actual), 'add a row to TABLE for each of these routes').toEqual([]);
    expect(missingFrom(actual, table), 'these rows name routes the app no longer has').toEqual([]);
    expect(Object.keys(PROBES).sort(), 'a probe for every row').toEqual([...table].sort());
    const size = table.length * CALLERS.length;
    console.log(`authz matrix: ${table.length} routes × ${CALLERS.length} callers = ${size} cells`);
  });

  it.each(Object.entries(TABLE) as [RouteKey, Row][])('%s', async (route, row) => {
    const sessions = await sessionsFor(row.fresh === true);
    const got: Record<string, Outcome> = {};
    const want: Record<string, Outcome> = {};
    const problems: string[] = [];
    for (const [i, caller] of CALLERS.entries()) {
      const expected = row.cells[i] as Outcome;
      const { res, text } = await call(route, caller, sessions);
      const outcome = outcomeOf(res);
      got[caller] = outcome;
      want[caller] = expected;
      if (res.status >= 500) problems.push(`${caller}: ${res.status} ${text.slice(0, 300)}`);
      if (outcome !== expected) continue;
      // The refusals say why, in the form the caller reads.
      if (row.kind === 'staff' && res.status === 401) {
        const challenge = res.headers.get('www-authenticate') ?? '';
        const sentToken = caller === 'revoked' || caller === 'resident';
        if (sentToken ? !challenge.includes('error="invalid_token"') : challenge !== 'Bearer realm="hibiki"')
          problems.push(`${caller}: WWW-Authenticate ${challenge}`);
      }
      if (row.kind === 'staff' && res.status === 403) {
        const role = needs(row.cells);
        const body = JSON.parse(text) as { error: { code: string; message: string; message_en: string } };
        if (
          body.error.code !== 'forbidden' ||
          !body.error.message.includes(`(${role})`) ||
          !body.error.message_en.includes(String(role))
        )
          problems.push(`${caller}: 403 does not name the role ${role}: ${text.slice(0, 300)}`);
      }
      if (
        row.kind === 'console' &&
        res.status === 403 &&
        caller === 'noCsrf' &&
        !text.includes('操作を確認できませんでした')
      )
        problems.push(`${caller}: 403 is not the CSRF refusal page`);
      if (row.kind === 'console' && res.status === 403 && ROLE_OF[caller] && !text.includes('権限がありません'))
        problems.push(`${caller}: 403 is not the role refusal page`);
    }
    if (row.kind === 'public') {
      // Public: the caller's credentials never open or close it.
      if ([401, 403, 'login'].includes(got.anon as Outcome))
        problems.push(`anon refused on a public route: ${got.anon}`);
    }
    expect({ route, got, problems }).toEqual({ route, got: want, problems: [] });
  });

  it('a malformed or doubled Authorization header is 401, not a 5xx and not a way in', async () => {
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer a b',
      `Bearer ${f.staff.admin.token}, Bearer x`,
    ]) {
      const res = await f.app.request('/v1/tokens', { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
    }
  });
});
