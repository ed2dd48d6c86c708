import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createStorm, type Storm } from './storm.ts';

/**
 * A local LINE Messaging API that checks what LINE checks: the bearer token (401), at
 * most 500 recipients (400), the messages (at most 5, text ≤ 5,000, altText ≤ 400,
 * Flex ≤ 30 KB, URIs, labels, quick replies), X-Line-Retry-Key as a UUID, a repeated
 * retry key answered 409 with x-line-accepted-request-id and nothing delivered again,
 * the monthly quota (429 "You have reached your monthly limit."), and reply tokens used
 * once. It records what each user id received, and can be told to fail.
 */

export type LineQuota = { type: 'none' } | { type: 'limited'; value: number };

export interface LineFakeOptions {
  /** The token the fake accepts; default 'test-line-token'. */
  channelAccessToken?: string;
  quota?: LineQuota;
  /** Messages already sent this month. */
  totalUsage?: number;
  /** Friends of the account: a broadcast reaches these user ids. */
  friends?: string[];
}

export type LineEndpoint = 'multicast' | 'broadcast' | 'push' | 'reply' | 'quota' | 'consumption' | 'profile' | 'other';

export interface LineFakeRequest {
  endpoint: LineEndpoint;
  method: string;
  path: string;
  status: number;
  requestId: string;
  retryKey?: string;
  /** User ids in a multicast or push. */
  recipients?: number;
  /** The user ids themselves, to count how often one recipient was asked. */
  to?: string[];
  /** Date.now() when the request arrived, and when its answer went out (unset while unanswered). */
  at: number;
  answeredAt?: number;
}

export interface LineFakeDelivery {
  requestId: string;
  endpoint: 'multicast' | 'broadcast' | 'push';
  messages: unknown[];
}

export interface LineFakeReply {
  replyToken: string;
  messages: Array<Record<string, unknown>>;
}

export interface LineFailure {
  /** LINE's error body message; a sensible one per status by default. */
  message?: string;
  details?: Array<{ message?: string; property?: string }>;
  /** Sent as Retry-After. */
  retryAfter?: string;
  /** Which requests fail: message sending (multicast, broadcast, push; the default), the quota endpoints, or replies. */
  on?: 'send' | 'quota' | 'reply';
}

export interface LineFake {
  baseUrl: string;
  readonly token: string;
  /** Every request in arrival order (the answer's status as decided, even if the client gave up waiting). */
  readonly requests: LineFakeRequest[];
  readonly replies: LineFakeReply[];
  /** What one user id has received, one entry per accepted request. */
  deliveriesTo(userId: string): LineFakeDelivery[];
  /** Deliveries to user ids over all accepted requests (a user reached twice counts twice). */
  readonly delivered: number;
  /** User ids reached at least once. */
  readonly usersReached: number;
  /** How many accepted requests reached each user id (a fault test's "received twice" is a 2 here). */
  receivedCounts(): Map<string, number>;
  /** Retry keys accepted so far (a repeat of one is answered 409 and delivers nothing). */
  readonly acceptedRetryKeys: number;
  /** Requests to an endpoint, optionally only those answered with a status. */
  count(endpoint: LineEndpoint, status?: number): number;
  /** The next `count` requests of a kind (message sending by default) fail with this status, before anything is accepted. */
  failNext(count: number, status: number, failure?: LineFailure): void;
  /**
   * The next `count` message-sending requests are accepted and recorded, then answered only
   * after delayMs: a client with a shorter timeout sees a timeout although LINE delivered.
   */
  acceptThenStall(count: number, delayMs: number): void;
  setQuota(quota: LineQuota, totalUsage?: number): void;
  readonly totalUsage: number;
  /** From now on only this token is accepted (the client's old one gets 401). */
  setToken(token: string): void;
  /** LINE refuses this well-formed user id as invalid: a request naming it is answered 400 `to[i]`, nothing sent. */
  rejectUser(userId: string): void;
  /** Provider storm phases (5xx at random, 429 with Retry-After, no answer), switched at run time. */
  readonly storm: Storm;
  addFriends(userIds: string[]): void;
  setProfile(userId: string, profile: { displayName: string; language?: string }): void;
  /** A reply token as a webhook event carries one: valid for one reply. */
  issueReplyToken(): string;
  /** Forgets requests, deliveries, retry keys, faults and usage (not the token, quota, friends or profiles). */
  reset(): void;
  close(): Promise<void>;
}

const USER_ID = /^U[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIMITS = {
  recipients: 500,
  messages: 5,
  text: 5_000,
  altText: 400,
  flexBytes: 30_000,
  uri: 1_000,
  buttonLabel: 40,
  quickReplyItems: 13,
  quickReplyLabel: 20,
  postbackData: 300,
};
const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'The request body has 1 error(s)',
  401: 'Authentication failed. Confirm that the access token in the authorization header is valid.',
  403: 'Not authorized to use this endpoint.',
  429: 'Too Many Requests',
  500: 'Internal server error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

type Detail = { message: string; property: string };

export async function startLineFake(options: LineFakeOptions = {}): Promise<LineFake> {
  let token = options.channelAccessToken ?? 'test-line-token';
  let quota: LineQuota = options.quota ?? { type: 'none' };
  let totalUsage = options.totalUsage ?? 0;
  const friends = new Set(options.friends ?? []);
  const profiles = new Map<string, { displayName: string; language?: string }>();
  const replyTokens = new Set<string>();

  let requests: LineFakeRequest[] = [];
  let replies: LineFakeReply[] = [];
  let byUser = new Map<string, LineFakeDelivery[]>();
  let delivered = 0;
  /** Accepted retry keys and the request id that accepted each. */
  let retryKeys = new Map<string, string>();
  let faults: Array<{ status: number; failure: LineFailure }> = [];
  let stalls: Array<{ delayMs: number }> = [];
  let rejectedUsers = new Set<string>();
  const storm = createStorm();
  let stormErrors = 0;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function endpointOf(method: string, path: string): LineEndpoint {
    if (method === 'POST' && path === '/v2/bot/message/multicast') return 'multicast';
    if (method === 'POST' && path === '/v2/bot/message/broadcast') return 'broadcast';
    if (method === 'POST' && path === '/v2/bot/message/push') return 'push';
    if (method === 'POST' && path === '/v2/bot/message/reply') return 'reply';
    if (method === 'GET' && path === '/v2/bot/message/quota') return 'quota';
    if (method === 'GET' && path === '/v2/bot/message/quota/consumption') return 'consumption';
    if (method === 'GET' && /^\/v2\/bot\/profile\/[^/]+$/.test(path)) return 'profile';
    return 'other';
  }

  function faultFor(endpoint: LineEndpoint) {
    const kind =
      endpoint === 'multicast' || endpoint === 'broadcast' || endpoint === 'push'
        ? 'send'
        : endpoint === 'quota' || endpoint === 'consumption'
          ? 'quota'
          : endpoint === 'reply'
            ? 'reply'
            : undefined;
    const i = faults.findIndex((f) => (f.failure.on ?? 'send') === kind);
    if (i < 0) return undefined;
    const [fault] = faults.splice(i, 1);
    return fault;
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const endpoint = endpointOf(method, path);
    const requestId = randomUUID();
    const record: LineFakeRequest = { endpoint, method, path, status: 0, requestId, at: Date.now() };
    if (endpoint === 'multicast' || endpoint === 'push') record.to = userIdsIn(raw);
    requests.push(record);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, delayMs = 0) => {
      record.status = status;
      const write = () => {
        if (res.destroyed || res.writableEnded) return;
        record.answeredAt = Date.now();
        res.writeHead(status, { 'content-type': 'application/json', 'x-line-request-id': requestId, ...headers });
        res.end(JSON.stringify(body));
      };
      if (delayMs <= 0) return write();
      const timer = setTimeout(() => {
        timers.delete(timer);
        write();
      }, delayMs);
      timers.add(timer);
    };
    const error = (status: number, message?: string, details?: Detail[] | LineFailure['details'], headers = {}) =>
      send(
        status,
        { message: message ?? DEFAULT_MESSAGES[status] ?? 'Error', ...(details ? { details } : {}) },
        headers,
      );

    if (endpoint === 'other') return error(404, 'Not found');
    if (req.headers.authorization !== `Bearer ${token}`) return error(401);

    const retryKey = req.headers['x-line-retry-key'];
    if (typeof retryKey === 'string') record.retryKey = retryKey;
    if (typeof retryKey === 'string' && !UUID.test(retryKey)) {
      return error(400, "The value for the 'X-Line-Retry-Key' header is invalid");
    }

    const verdict = storm.decide();
    if (verdict?.kind === 'hang') return storm.hold(() => res.destroy());
    if (verdict?.kind === 'rate-limit') {
      return error(429, undefined, undefined, { 'retry-after': String(verdict.retryAfterSeconds) });
    }
    if (verdict?.kind === 'error') return error(stormErrors++ % 2 === 0 ? 500 : 503);

    const fault = faultFor(endpoint);
    if (fault) {
      const headers: Record<string, string> = fault.failure.retryAfter
        ? { 'retry-after': fault.failure.retryAfter }
        : {};
      return error(fault.status, fault.failure.message, fault.failure.details, headers);
    }

    if (endpoint === 'quota') return send(200, quota);
    if (endpoint === 'consumption') return send(200, { totalUsage });
    if (endpoint === 'profile') {
      const userId = decodeURIComponent(path.slice('/v2/bot/profile/'.length));
      const profile = profiles.get(userId);
      return profile ? send(200, { userId, ...profile }) : error(404, 'Not found');
    }

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return error(400, 'The request body has 1 error(s)', [{ message: 'Invalid JSON', property: '' }]);
    }

    const details = validateMessages(body.messages);
    let to: string[] = [];
    if (endpoint === 'multicast') {
      if (!Array.isArray(body.to) || body.to.length < 1 || body.to.length > LIMITS.recipients) {
        details.push({ message: `Size must be between 1 and ${LIMITS.recipients}`, property: 'to' });
      } else {
        to = body.to as string[];
        const bad = to.findIndex((id) => typeof id !== 'string' || !USER_ID.test(id) || rejectedUsers.has(id));
        if (bad >= 0) {
          return error(400, `The property, 'to[${bad}]', in the request body is invalid (line: -, column: -)`);
        }
      }
      record.recipients = Array.isArray(body.to) ? body.to.length : 0;
    } else if (endpoint === 'push') {
      if (typeof body.to !== 'string' || !USER_ID.test(body.to) || rejectedUsers.has(body.to)) {
        return error(400, "The property, 'to', in the request body is invalid (line: -, column: -)");
      }
      to = [body.to];
      record.recipients = 1;
    } else if (endpoint === 'broadcast') {
      to = [...friends];
    }

    if (endpoint === 'reply') {
      if (details.length > 0) return error(400, `The request body has ${details.length} error(s)`, details);
      const replyToken = body.replyToken;
      if (typeof replyToken !== 'string' || !replyTokens.delete(replyToken)) return error(400, 'Invalid reply token');
      replies.push({ replyToken, messages: body.messages as Array<Record<string, unknown>> });
      return send(200, { sentMessages: sentMessages(body.messages) });
    }

    // A key LINE already accepted: 409, and nothing is sent again (checked before validation, as LINE does).
    if (typeof retryKey === 'string') {
      const acceptedId = retryKeys.get(retryKey);
      if (acceptedId) {
        return send(
          409,
          { message: 'The retry key is already accepted', sentMessages: sentMessages(body.messages) },
          { 'x-line-accepted-request-id': acceptedId },
        );
      }
    }
    if (details.length > 0) return error(400, `The request body has ${details.length} error(s)`, details);

    const unique = [...new Set(to)];
    if (quota.type === 'limited' && totalUsage + unique.length > quota.value) {
      return error(429, 'You have reached your monthly limit.');
    }

    // Accepted: from here on the messages are delivered, whatever happens to the answer.
    totalUsage += unique.length;
    if (typeof retryKey === 'string') retryKeys.set(retryKey, requestId);
    const delivery: LineFakeDelivery = {
      requestId,
      endpoint: endpoint as LineFakeDelivery['endpoint'],
      messages: body.messages as unknown[],
    };
    for (const userId of unique) {
      const list = byUser.get(userId);
      if (list) list.push(delivery);
      else byUser.set(userId, [delivery]);
      delivered++;
    }
    const stall = stalls.shift();
    const answer = endpoint === 'push' ? { sentMessages: sentMessages(body.messages) } : {};
    return send(200, answer, {}, stall?.delayMs ?? 0);
  }

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get token() {
      return token;
    },
    get requests() {
      return requests;
    },
    get replies() {
      return replies;
    },
    deliveriesTo: (userId) => byUser.get(userId) ?? [],
    get delivered() {
      return delivered;
    },
    get usersReached() {
      return byUser.size;
    },
    receivedCounts: () => new Map([...byUser].map(([userId, list]) => [userId, list.length])),
    get acceptedRetryKeys() {
      return retryKeys.size;
    },
    count: (endpoint, status) =>
      requests.filter((r) => r.endpoint === endpoint && (status === undefined || r.status === status)).length,
    failNext(count, status, failure = {}) {
      for (let i = 0; i < count; i++) faults.push({ status, failure });
    },
    acceptThenStall(count, delayMs) {
      for (let i = 0; i < count; i++) stalls.push({ delayMs });
    },
    setQuota(q, usage) {
      quota = q;
      if (usage !== undefined) totalUsage = usage;
    },
    get totalUsage() {
      return totalUsage;
    },
    setToken(t) {
      token = t;
    },
    rejectUser(userId) {
      rejectedUsers.add(userId);
    },
    storm,
    addFriends(ids) {
      for (const id of ids) friends.add(id);
    },
    setProfile(userId, profile) {
      profiles.set(userId, profile);
    },
    issueReplyToken() {
      const t = randomUUID().replaceAll('-', '');
      replyTokens.add(t);
      return t;
    },
    reset() {
      requests = [];
      replies = [];
      byUser = new Map();
      delivered = 0;
      retryKeys = new Map();
      faults = [];
      stalls = [];
      rejectedUsers = new Set();
      storm.set({ kind: 'calm' });
      totalUsage = 0;
    },
    async close() {
      storm.release();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The user ids a multicast or push names, read before any check, for the request log. */
function userIdsIn(raw: string): string[] | undefined {
  try {
    const to = (JSON.parse(raw) as { to?: unknown }).to;
    if (typeof to === 'string') return [to];
    return Array.isArray(to) ? to.filter((id): id is string => typeof id === 'string') : undefined;
  } catch {
    return undefined;
  }
}

function sentMessages(messages: unknown): Array<{ id: string; quoteToken: string }> {
  const n = Array.isArray(messages) ? messages.length : 0;
  return Array.from({ length: n }, () => ({
    id: String(Math.floor(Math.random() * 1e17)),
    quoteToken: randomUUID().replaceAll('-', ''),
  }));
}

/** LINE's checks on message objects, as 400 details ({ property, message }). */
function validateMessages(messages: unknown): Detail[] {
  const details: Detail[] = [];
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > LIMITS.messages) {
    details.push({ message: `Size must be between 1 and ${LIMITS.messages}`, property: 'messages' });
    return details;
  }
  messages.forEach((m: unknown, i) => {
    const at = `messages[${i}]`;
    const msg = m as Record<string, unknown>;
    if (typeof msg !== 'object' || msg === null) {
      details.push({ message: 'Must be an object', property: at });
      return;
    }
    if (msg.type === 'text') {
      if (typeof msg.text !== 'string' || msg.text.length === 0) {
        details.push({ message: 'Must not be empty', property: `${at}.text` });
      } else if (msg.text.length > LIMITS.text) {
        details.push({ message: `Length must be between 0 and ${LIMITS.text}`, property: `${at}.text` });
      }
    } else if (msg.type === 'flex') {
      if (typeof msg.altText !== 'string' || msg.altText.length === 0) {
        details.push({ message: 'Must not be empty', property: `${at}.altText` });
      } else if (msg.altText.length > LIMITS.altText) {
        details.push({ message: `Length must be between 0 and ${LIMITS.altText}`, property: `${at}.altText` });
      }
      const contents = msg.contents as Record<string, unknown> | undefined;
      if (!contents || (contents.type !== 'bubble' && contents.type !== 'carousel')) {
        details.push({
          message: 'Must be one of the following values: [bubble, carousel]',
          property: `${at}.contents.type`,
        });
      } else if (Buffer.byteLength(JSON.stringify(msg), 'utf8') > LIMITS.flexBytes) {
        details.push({ message: 'Size of the flex message must be at most 30KB', property: `${at}.contents` });
      } else {
        walkFlex(contents, `${at}.contents`, details);
      }
    } else {
      details.push({ message: 'Must be one of the message types Hibiki sends: [text, flex]', property: `${at}.type` });
    }
    const quick = (msg.quickReply as { items?: unknown } | undefined)?.items;
    if (quick !== undefined) {
      if (!Array.isArray(quick) || quick.length < 1 || quick.length > LIMITS.quickReplyItems) {
        details.push({
          message: `Size must be between 1 and ${LIMITS.quickReplyItems}`,
          property: `${at}.quickReply.items`,
        });
      } else {
        quick.forEach((item: unknown, j) => {
          const action = (item as { action?: Record<string, unknown> }).action;
          if (!action) details.push({ message: 'Must be specified', property: `${at}.quickReply.items[${j}].action` });
          else checkAction(action, `${at}.quickReply.items[${j}].action`, LIMITS.quickReplyLabel, details);
        });
      }
    }
  });
  return details;
}

function walkFlex(node: Record<string, unknown>, at: string, details: Detail[]) {
  switch (node.type) {
    case 'carousel':
      for (const [i, b] of (node.contents as Array<Record<string, unknown>>).entries()) {
        walkFlex(b, `${at}.contents[${i}]`, details);
      }
      return;
    case 'bubble':
      for (const block of ['header', 'hero', 'body', 'footer'] as const) {
        const b = node[block] as Record<string, unknown> | undefined;
        if (b) walkFlex(b, `${at}.${block}`, details);
      }
      return;
    case 'box':
      if (!Array.isArray(node.contents)) details.push({ message: 'Must be specified', property: `${at}.contents` });
      else
        for (const [i, c] of (node.contents as Array<Record<string, unknown>>).entries()) {
          walkFlex(c, `${at}.contents[${i}]`, details);
        }
      return;
    case 'text':
      if (typeof node.text !== 'string' || node.text.length === 0) {
        details.push({ message: 'Must not be empty', property: `${at}.text` });
      }
      return;
    case 'button':
      if (!node.action) details.push({ message: 'Must be specified', property: `${at}.action` });
      else checkAction(node.action as Record<string, unknown>, `${at}.action`, LIMITS.buttonLabel, details);
      return;
    case 'separator':
    case 'filler':
    case 'spacer':
    case 'image':
    case 'icon':
      return;
    default:
      details.push({ message: 'Unknown component type', property: `${at}.type` });
  }
}

function checkAction(action: Record<string, unknown>, at: string, maxLabel: number, details: Detail[]) {
  if (typeof action.label === 'string' && action.label.length > maxLabel) {
    details.push({ message: `Length must be between 0 and ${maxLabel}`, property: `${at}.label` });
  }
  if (action.type === 'uri') {
    const uri = action.uri;
    if (typeof uri !== 'string' || !/^(https?:\/\/|line:\/\/|tel:)/i.test(uri)) {
      details.push({ message: 'Must be a URI with the scheme http, https, line or tel', property: `${at}.uri` });
    } else if (uri.length > LIMITS.uri) {
      details.push({ message: `Length must be between 0 and ${LIMITS.uri}`, property: `${at}.uri` });
    }
  } else if (action.type === 'postback') {
    if (typeof action.data !== 'string' || action.data.length === 0 || action.data.length > LIMITS.postbackData) {
      details.push({ message: `Length must be between 1 and ${LIMITS.postbackData}`, property: `${at}.data` });
    }
    if (typeof action.displayText === 'string' && action.displayText.length > 300) {
      details.push({ message: 'Length must be between 0 and 300', property: `${at}.displayText` });
    }
  } else if (action.type !== 'message') {
    details.push({ message: 'Unsupported action type', property: `${at}.type` });
  }
}
