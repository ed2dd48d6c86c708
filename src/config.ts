import { isIP } from 'node:net';
import { z } from 'zod';
import { CATALOG, CATALOG_IDS, type ChannelSettings } from '../channels/catalog.ts';
import { commaList, isSecret, type SettingIssue } from '../channels/plugin.ts';
import { cidrProblem } from '../channels/shared/address-policy.ts';
import { isJisX0402Code } from './domain/jis-x0402.ts';
import { DEFAULT_NOTICE_TEMPLATES_DIR } from './domain/load-notice-templates.ts';

const DURATION_UNIT_MS = { s: 1_000, m: 60_000, h: 60 * 60_000, d: 24 * 60 * 60_000 } as const;

/** `24h`, `90m`, `30s`, `2d`, or a bare number of seconds, as milliseconds (checked by the caller's regex). */
function durationMs(value: string): number {
  const unit = (/[smhd]$/.exec(value)?.[0] ?? 's') as keyof typeof DURATION_UNIT_MS;
  return Number.parseInt(value, 10) * DURATION_UNIT_MS[unit];
}

/** `10.0.0.5`, `fd00::1`, `172.28.0.0/24` or `fd00::/8`. */
function isAddressOrCidr(value: string): boolean {
  const [address = '', bits, ...rest] = value.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

/** The catalogue's channels, in the order these messages have always listed them. */
const CHANNEL_IDS = CATALOG_IDS;
/** What WORKER_QUEUES may name: the dispatch queue, or a channel's delivery queue by the channel's id. */
export const WORKER_QUEUE_NAMES = ['dispatch', ...CHANNEL_IDS] as const;
export type WorkerQueue = (typeof WORKER_QUEUE_NAMES)[number];

/**
 * The only reader of process.env. Every setting is parsed here once, so a bad value
 * stops start-up with one line naming the variable, instead of failing later mid-send.
 * These are Hibiki's own; each channel's come from its plug-in (CHANNEL_ENV below).
 */
const CoreEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  // Set: Redis is found through Sentinel (REDIS_URL then gives only the master's user, password and db).
  REDIS_SENTINELS: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : commaList(s)))
    .pipe(
      z
        .array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'host:port of each Sentinel, comma-separated'))
        .min(1, 'host:port of each Sentinel, comma-separated')
        .optional(),
    ),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'the master name of `sentinel monitor <name> …`')
    .optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('hibiki'),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'must start with sqlite: or postgres://')
    .default('sqlite:./data/hibiki.db'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case PostgreSQL schema name')
    .optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  OUTBOX_DIR: z.string().min(1).default('./data/outbox'),
  MAIL_FROM: z.string().min(3).default('"Hibiki 防災・お知らせ配信" <noreply@localhost>'),
  CITY_CODE: z
    .string()
    .refine(isJisX0402Code, 'must be a 6-digit JIS X 0402 code with a valid check digit, e.g. 432105')
    .default('432105'),
  CITY_NAME: z.string().min(1).default('菊池市'),
  CITY_NAME_EN: z.string().min(1).default('Kikuchi City'),
  HIBIKI_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CHANNELS: z
    .string()
    .default('mail,cap')
    .transform(commaList)
    .pipe(z.array(z.enum(CHANNEL_IDS)).min(1, 'name at least one channel')),
  // Unset: every queue (dispatch and each channel in CHANNELS), as one machine runs them.
  WORKER_QUEUES: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : commaList(s)))
    .pipe(
      z
        .array(z.string())
        .min(1, `name at least one of ${WORKER_QUEUE_NAMES.join(', ')}`)
        .optional(),
    )
    .superRefine((queues, ctx) => {
      const unknown = (queues ?? []).filter((q) => !(WORKER_QUEUE_NAMES as readonly string[]).includes(q));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${unknown.join(', ')}: not a queue; name dispatch or channels (${WORKER_QUEUE_NAMES.join(', ')})`,
        });
      }
    })
    .transform((queues) => queues as WorkerQueue[] | undefined),
  CATALOGUE_FILE: z.string().min(1).optional(),
  NOTICE_TEMPLATES_DIR: z.string().min(1).optional(),
  SIGNUP_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(3),
  SIGNUP_LIMIT_PER_CLIENT: z.coerce.number().int().min(1).default(20),
  SIGNUP_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(3_600),
  // LINE's servers deliver every resident's events from a few addresses: high enough for a
  // city account's busiest minute (a follow wave after a broadcast), low enough to stop a flood.
  LINE_WEBHOOK_LIMIT_PER_CLIENT: z.coerce.number().int().min(1).default(600),
  LINE_WEBHOOK_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  PUBLIC_POST_LIMIT_PER_CLIENT: z.coerce.number().int().min(1).default(600),
  PUBLIC_POST_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  RETRY_BASE_MS: z.coerce.number().int().min(1).default(2_000),
  RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 60_000),
  STALLED_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(4),
  /** Caps every channel's recipients per delivery job; 1 is the one-job-per-recipient design the benchmark compares. */
  DELIVERY_BATCH_LIMIT: z.coerce.number().int().min(1).max(1_000).optional(),
  EMERGENCY_APPROVALS: z.coerce.number().int().min(1).max(2).default(1),
  // — staff sign-in through the city's identity provider (OpenID Connect) —
  // The issuer's own URL (discovery appends /.well-known/openid-configuration); https, or
  // http only on loopback, for a provider run beside a test.
  OIDC_ISSUER: z
    .url({ protocol: /^https?$/ })
    .refine((u) => {
      const url = new URL(u);
      return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    }, 'https://… (http only for a provider on loopback)')
    .optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  // The claim carrying the role(s) author/approver/admin; a dotted path reaches into an object (realm_access.roles).
  OIDC_ROLE_CLAIM: z
    .string()
    .regex(/^[A-Za-z0-9_:/.-]+$/, 'a claim name such as roles or realm_access.roles')
    .default('roles'),
  // Unset: PUBLIC_BASE_URL + /console/oidc/callback; register exactly this at the provider.
  OIDC_REDIRECT_URL: z
    .url({ protocol: /^https?$/ })
    .refine((u) => new URL(u).pathname === '/console/oidc/callback', 'its path must be /console/oidc/callback')
    .optional(),
  // — residents & mail trust —
  /** DKIM signing: all three, or none (then mail goes out unsigned). */
  MAIL_DKIM_DOMAIN: z
    .string()
    .regex(
      /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/,
      'a domain name, e.g. city.example.jp',
    )
    .optional(),
  MAIL_DKIM_SELECTOR: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/, 'a selector such as hibiki2026 (letters, digits, . - _)')
    .optional(),
  MAIL_DKIM_KEY_FILE: z.string().min(1).optional(),
  // — ops (issue 12: admin listener, API docs) —
  // Set: the console, the staff API, /metrics, /docs, /openapi.json and Bull Board answer only
  // on this port (on ADMIN_HOST); PORT serves residents' pages, feeds and webhooks alone.
  ADMIN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  // The console's address as staff browsers reach the admin listener (its Origin check and cookie).
  ADMIN_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  API_DOCS: z.enum(['on', 'off']).default('on'),
  // — outbound —
  // Internal addresses (IPs or CIDRs) that channels may still connect to, e.g. a city's intranet receiver.
  OUTBOUND_ALLOW: z
    .string()
    .default('')
    .transform(commaList)
    .superRefine((entries, ctx) => {
      for (const entry of entries) {
        const problem = cidrProblem(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: `${problem}; comma-separated IPs or CIDRs` });
      }
    }),
  // — provider outage —
  /**
   * How long deliveries wait out their channel's provider being down before they are failed
   * (unless their notice expires first): a number with a unit, s, m, h or d (`24h`, `90m`,
   * `30s`); a bare number is seconds.
   */
  DELIVERY_GIVE_UP_AFTER: z
    .string()
    .trim()
    .regex(/^\d+(s|m|h|d)?$/, {
      message:
        'give a duration such as 24h, 90m or 30s (a bare number is seconds) / 24h・90m・30s のように指定してください',
    })
    .transform(durationMs)
    .refine((ms) => ms >= 1_000 && ms <= 30 * 24 * 60 * 60_000, {
      message: 'between 1s and 30d / 1 秒から 30 日までで指定してください',
    })
    .default(24 * 60 * 60_000),
  // — limits (client address, sign-up mail caps, HTTP timeouts) —
  // Empty: no proxy is trusted, and the socket's peer is the client whatever X-Forwarded-For says.
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform(commaList)
    .pipe(
      z.array(z.string().refine(isAddressOrCidr, 'IP addresses or CIDRs, comma-separated (e.g. 10.0.0.5,fd00::/8)')),
    ),
  // Confirmation and manage-link mail per recipient domain and in all, per SIGNUP_LIMIT_WINDOW_SECONDS.
  SIGNUP_LIMIT_PER_DOMAIN: z.coerce.number().int().min(1).default(200),
  SIGNUP_LIMIT_GLOBAL: z.coerce.number().int().min(1).default(2_000),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every channel's settings, by variable name, from the catalogue. */
const CHANNEL_ENV: Record<string, z.ZodType> = Object.assign({}, ...CATALOG.map((p) => p.env.shape));
const Env = z.object({ ...CoreEnv.shape, ...CHANNEL_ENV });
/** The parsed environment: Hibiki's own settings typed, each channel's for its plug-in to read. */
type EnvValues = z.output<typeof CoreEnv> & Record<string, unknown>;

/** Settings whose whole value is a secret (the log scan looks for these values too); channels mark theirs with secret(). */
export const SECRET_SETTINGS: readonly string[] = [
  'HIBIKI_SECRET',
  'REDIS_SENTINEL_PASSWORD',
  'OIDC_CLIENT_SECRET',
  ...Object.entries(CHANNEL_ENV)
    .filter(([, schema]) => isSecret(schema))
    .map(([name]) => name),
];
/** Settings that are URLs, whose password (if any) is a secret. */
export const URL_SETTINGS = ['SMTP_URL', 'DATABASE_URL', 'REDIS_URL'] as const;

const SECRET_BEARING = new Set<string>([...SECRET_SETTINGS, ...URL_SETTINGS]);

/** An enabled channel must have its credentials; say which variable is missing. */
const EnvWithChannels = Env.superRefine((parsed, ctx) => {
  const env = parsed as EnvValues;
  for (const plugin of CATALOG) {
    const check = plugin.checkEnv as ((env: unknown, enabled: boolean) => SettingIssue[]) | undefined;
    for (const issue of check?.(env, env.CHANNELS.includes(plugin.id)) ?? []) {
      ctx.addIssue({ code: 'custom', path: [issue.setting], message: issue.message });
    }
  }
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINEL_NAME'],
      message: 'REDIS_SENTINELS is set: name the master the Sentinels watch (sentinel monitor <name> …)',
    });
  }
  if (!env.REDIS_SENTINELS && (env.REDIS_SENTINEL_NAME || env.REDIS_SENTINEL_PASSWORD)) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINELS'],
      message: 'REDIS_SENTINEL_NAME or REDIS_SENTINEL_PASSWORD is set: list the Sentinels as host:port,host:port',
    });
  }
  if (env.REDIS_SENTINELS && env.REDIS_URL.startsWith('rediss:')) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_URL'],
      message:
        'TLS (rediss://) through Sentinel is not supported: use redis:// with REDIS_SENTINELS, or a TLS REDIS_URL alone',
    });
  }
  // A queue no channel fills would be an operator's typo: a worker waiting on it takes nothing.
  const notEnabled = (env.WORKER_QUEUES ?? []).filter(
    (q) => WORKER_QUEUE_NAMES.includes(q) && q !== 'dispatch' && !env.CHANNELS.includes(q),
  );
  if (notEnabled.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKER_QUEUES'],
      message: `${notEnabled.join(', ')}: not in CHANNELS (${env.CHANNELS.join(',')}), so no job ever comes to that queue; name dispatch or an enabled channel`,
    });
  }
  // — staff sign-in through the city's identity provider (OpenID Connect) —
  const oidc = ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const;
  const oidcSet = oidc.filter((k) => env[k]);
  if (oidcSet.length > 0 && oidcSet.length < oidc.length) {
    for (const k of oidc.filter((k) => !env[k])) {
      ctx.addIssue({
        code: 'custom',
        path: [k],
        message: `${oidcSet.join(', ')} set: set all of ${oidc.join(', ')} for sign-in with the city account, or none`,
      });
    }
  }
  // Half a DKIM setting would send unsigned mail while the operator believes it signed.
  const dkim = ['MAIL_DKIM_DOMAIN', 'MAIL_DKIM_SELECTOR', 'MAIL_DKIM_KEY_FILE'] as const;
  const dkimSet = dkim.filter((k) => env[k]);
  if (dkimSet.length > 0 && dkimSet.length < dkim.length) {
    for (const k of dkim.filter((k) => !env[k])) {
      ctx.addIssue({
        code: 'custom',
        path: [k],
        message: `${dkimSet.join(' と ')} が設定されています。DKIM 署名には ${k} も必要です（3つとも設定するか、どれも設定しない） / ${dkimSet.join(' and ')} set: DKIM signing needs ${k} too (set all three, or none)`,
      });
    }
  }
  if (env.ADMIN_PORT !== undefined && env.ADMIN_PORT !== 0 && env.ADMIN_PORT === env.PORT) {
    ctx.addIssue({
      code: 'custom',
      path: ['ADMIN_PORT'],
      message: `the same as PORT (${env.PORT}): give the staff listener a port of its own, or leave ADMIN_PORT unset / PORT と別の番号にするか、未設定にしてください`,
    });
  }
});

/** A listening address as a URL's host: a wildcard as localhost, an IPv6 address in brackets. */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export type Config = ReturnType<typeof toConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Each channel's settings under its id, as its plug-in reads them from the environment. */
function channelSettings(env: EnvValues, publicBaseUrl: string): ChannelSettings {
  const entries = CATALOG.map((plugin) => {
    const settings = plugin.settings as (env: unknown, common: { publicBaseUrl: string }) => unknown;
    return [plugin.id, settings(env, { publicBaseUrl })];
  });
  return Object.fromEntries(entries) as ChannelSettings;
}

function toConfig(env: EnvValues) {
  const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  const consoleBaseUrl =
    env.ADMIN_PORT === undefined
      ? publicBaseUrl
      : (env.ADMIN_BASE_URL ?? `http://${hostForUrl(env.ADMIN_HOST)}:${env.ADMIN_PORT}`).replace(/\/+$/, '');
  return {
    port: env.PORT,
    host: env.HOST,
    publicBaseUrl,
    redisUrl: env.REDIS_URL,
    /** Set: connect through these Sentinels to the master they name; see src/queue/redis-connection.ts. */
    redisSentinel:
      env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME
        ? {
            sentinels: env.REDIS_SENTINELS.map((hostPort) => {
              const at = hostPort.lastIndexOf(':');
              return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
            }),
            name: env.REDIS_SENTINEL_NAME,
            password: env.REDIS_SENTINEL_PASSWORD,
          }
        : undefined,
    queuePrefix: env.QUEUE_PREFIX,
    databaseUrl: env.DATABASE_URL,
    databaseSchema: env.DATABASE_SCHEMA,
    smtpUrl: env.SMTP_URL,
    outboxDir: env.OUTBOX_DIR,
    mailFrom: env.MAIL_FROM,
    city: { code: env.CITY_CODE, name: env.CITY_NAME, nameEn: env.CITY_NAME_EN },
    secret: env.HIBIKI_SECRET,
    channels: env.CHANNELS,
    /**
     * The queues a worker process takes jobs from (WORKER_QUEUES); unset: every queue,
     * including a channel that a test or an embedding adds beside CHANNELS.
     */
    workerQueues: env.WORKER_QUEUES ? [...new Set(env.WORKER_QUEUES)] : undefined,
    delivery: {
      attempts: env.DELIVERY_ATTEMPTS,
      retryBaseMs: env.RETRY_BASE_MS,
      retryMaxMs: env.RETRY_MAX_MS,
      stalledIntervalMs: env.STALLED_INTERVAL_MS,
      concurrency: env.WORKER_CONCURRENCY,
      batchLimit: env.DELIVERY_BATCH_LIMIT,
    },
    ...channelSettings(env, publicBaseUrl),
    catalogueFile: env.CATALOGUE_FILE,
    // Unset: the templates shipped beside the source, whatever the working directory.
    noticeTemplatesDir: env.NOTICE_TEMPLATES_DIR ?? DEFAULT_NOTICE_TEMPLATES_DIR,
    signupLimits: {
      perAddress: env.SIGNUP_LIMIT_PER_ADDRESS,
      perClient: env.SIGNUP_LIMIT_PER_CLIENT,
      windowSeconds: env.SIGNUP_LIMIT_WINDOW_SECONDS,
    },
    /** Per client on POST /webhooks/line. */
    lineWebhookLimits: {
      perClient: env.LINE_WEBHOOK_LIMIT_PER_CLIENT,
      windowSeconds: env.LINE_WEBHOOK_LIMIT_WINDOW_SECONDS,
    },
    /** Per client on the public POSTs that carry a resident's link (unsubscribe, confirm, manage, push lookup). */
    publicPostLimits: {
      perClient: env.PUBLIC_POST_LIMIT_PER_CLIENT,
      windowSeconds: env.PUBLIC_POST_LIMIT_WINDOW_SECONDS,
    },
    /** How many distinct approvers an emergency notice needs before it is sent. */
    approvals: { emergency: env.EMERGENCY_APPROVALS },
    // — staff sign-in through the city's identity provider (OpenID Connect) —
    /** Set: the console offers 自治体のアカウントでサインイン beside token sign-in. */
    oidc:
      env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET
        ? {
            issuer: env.OIDC_ISSUER,
            clientId: env.OIDC_CLIENT_ID,
            clientSecret: env.OIDC_CLIENT_SECRET,
            roleClaim: env.OIDC_ROLE_CLAIM,
            // The console's own address: on the admin listener when ADMIN_PORT is set.
            redirectUrl: env.OIDC_REDIRECT_URL ?? `${consoleBaseUrl}/console/oidc/callback`,
          }
        : undefined,
    // — residents & mail trust —
    /** Set: every mail is DKIM-signed with this key (see channels/mail/dkim.ts). */
    mailDkim:
      env.MAIL_DKIM_DOMAIN && env.MAIL_DKIM_SELECTOR && env.MAIL_DKIM_KEY_FILE
        ? { domain: env.MAIL_DKIM_DOMAIN, selector: env.MAIL_DKIM_SELECTOR, keyFile: env.MAIL_DKIM_KEY_FILE }
        : undefined,
    // — ops —
    /** Set: a second listener for staff and operations (src/http/surface.ts says which routes). */
    admin: env.ADMIN_PORT === undefined ? undefined : { port: env.ADMIN_PORT, host: env.ADMIN_HOST },
    /**
     * Where staff open the console: ADMIN_BASE_URL (by default the admin listener's own
     * address) with ADMIN_PORT, else PUBLIC_BASE_URL. Its origin is the one console forms
     * must come from; https makes the session cookie Secure.
     */
    consoleBaseUrl,
    /** /docs (Swagger UI from the pinned swagger-ui-dist); /openapi.json is served either way. */
    apiDocs: env.API_DOCS === 'on',
    // — outbound —
    /** Internal addresses the outbound HTTP layer lets channels connect to (OUTBOUND_ALLOW); none by default. */
    outbound: { allow: env.OUTBOUND_ALLOW },
    // — provider outage —
    /** ms a delivery waits out its provider being down (DELIVERY_GIVE_UP_AFTER). */
    giveUpAfterMs: env.DELIVERY_GIVE_UP_AFTER,
    // — limits —
    /** Reverse proxies whose X-Forwarded-For names the client (src/http/client-address.ts). */
    trustedProxies: env.TRUSTED_PROXIES,
    /** Caps on sign-up mail per recipient domain and for the whole city, per signupLimits.windowSeconds. */
    signupMailCaps: { perDomain: env.SIGNUP_LIMIT_PER_DOMAIN, global: env.SIGNUP_LIMIT_GLOBAL },
    /** node:http's timeouts for receiving a request; the headers' never longer than the whole request's. */
    httpTimeouts: {
      headersMs: Math.min(env.HTTP_HEADERS_TIMEOUT_MS, env.HTTP_REQUEST_TIMEOUT_MS),
      requestMs: env.HTTP_REQUEST_TIMEOUT_MS,
    },
    logLevel: env.LOG_LEVEL,
  };
}

/** Parses the environment; throws a ConfigError whose message is one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as they do in most .env files and compose files.
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvWithChannels.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      // URLs and secrets may hold passwords: name the variable, never echo its value.
      const shown = SECRET_BEARING.has(name) ? '' : ` (got ${JSON.stringify(defined[name] ?? null)})`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  return toConfig(parsed.data as EnvValues);
}
