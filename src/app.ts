import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { DEFAULT_PUSH_HOSTS } from '../channels/webpush/endpoint-policy.ts';
import { createVapidResolver } from '../channels/webpush/vapid.ts';
import { createLineWebhookRoutes } from './api/line-webhook.ts';
import { createNoticeRoutes } from './api/notices/routes.ts';
import { serveOpenApiDocument } from './api/openapi-document.ts';
import { createOpsRoutes } from './api/ops.ts';
import { createPublicSubscriptionRoutes } from './api/public-subscriptions.ts';
import { createPushRoutes } from './api/push.ts';
import { createSubscriberRoutes } from './api/subscribers.ts';
import { createTokenRoutes } from './api/tokens.ts';
import { createWebhookRoutes } from './api/webhooks.ts';
import type { Deps } from './deps.ts';
import { createFeedRoutes } from './feeds/feeds.ts';
import { createNoticesFeedRoutes } from './feeds/notices-feed.ts';
import type { AppEnv } from './http/auth.ts';
import { clientAddress, clientAddressMiddleware, createClientAddress } from './http/client-address.ts';
import { createErrorHandler, errorResponseFor, notFound, payloadTooLarge, validationHook } from './http/errors.ts';
import { strictTransportSecurity } from './http/hsts.ts';
import { refuseNulInUrl } from './http/nul-guard.ts';
import { publicBodies } from './http/public-bodies.ts';
import { linkedPublicPostsLimit } from './http/public-post-limit.ts';
import { auditRequestOrigin } from './http/request-context.ts';
import { serverRequestId } from './http/request-id.ts';
import { onlySurface, type Surface } from './http/surface.ts';
import type { Logger } from './logger.ts';
import { createRateLimiter } from './queue/rate-limit.ts';
import { createNoticeService, type NoticeService } from './services/notices/index.ts';
import { createResidentService, type ResidentService } from './services/residents.ts';
import { createTokenService, type TokenService } from './services/tokens.ts';
import { createPublicNoticeQuery } from './store/public-notices.ts';
import { createApiDocsRoutes } from './web/api-docs.ts';
import { CONSOLE_PAGES } from './web/console/console-pages.ts';
import { createConsoleRoutes } from './web/console/console-routes.tsx';
import { createNoticePageRoutes } from './web/notice-page.tsx';
import { createPushPageRoutes } from './web/push-page.tsx';
import { createResidentRoutes } from './web/resident-routes.ts';
import { createUnsubscribeRoutes } from './web/unsubscribe.tsx';

/** Every request body but an import of subscribers (which has its own, larger limit). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Aggregators poll the CAP feed and files every few seconds, thousands of requests a
 * second at peak: a line for each answered one would drown the log (and cost 5 % of the
 * CPU). Those log at debug; their failures still log at info or error.
 */
function isPolledRead(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && (path.startsWith('/feeds/') || path === '/notices.atom');
}

/**
 * One line per request: method, path (never the query, which may carry a token), status,
 * time, the server's request id and the client's address (who to look for after an attack).
 */
function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const status = c.res.status;
    const entry = {
      requestId: c.get('requestId'),
      clientAddress: clientAddress(c),
      method: c.req.method,
      path: c.req.path,
      status,
      ms,
    };
    if (status >= 500) logger.error(entry, 'request');
    else if (status < 400 && isPolledRead(c.req.method, c.req.path)) logger.debug(entry, 'request');
    else logger.info(entry, 'request');
  };
}

/** The use cases every surface (staff API, console, residents' pages and API) shares. */
export interface Services {
  notices: NoticeService;
  /** For the staff import (confirmation mails), the residents' own pages and their API. */
  residents: ResidentService;
  tokens: TokenService;
}

/** The one place the services are built: the surfaces are handed these, and build none. */
export function createServices(deps: Deps): Services {
  return {
    notices: createNoticeService(deps),
    residents: createResidentService(deps),
    tokens: createTokenService({ tokens: deps.store.tokens, audit: deps.store.audit }),
  };
}

export interface AppOptions {
  /**
   * Which listener this app answers for (src/http/surface.ts): `all` (the default, one port
   * for everything), or with ADMIN_PORT `public` (residents) and `admin` (staff, operations).
   */
  surface?: Surface;
  /** Built once for every listener (src/http/listen.ts); by default, for this app alone. */
  services?: Services;
}

/**
 * The HTTP surface: staff API, operations, feeds and public pages, or one listener's part of
 * it. Each listener's app answers only its own paths (onlySurface, first of all); the public
 * one does not even build the console and the docs. The admin app keeps the public API's
 * routes, answering 404 for them, so that its /openapi.json still describes the whole API.
 */
export function createApp(deps: Deps, options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const surface = options.surface ?? 'all';
  const staffSide = surface !== 'public';
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const logger = deps.logger.child({ component: 'http', ...(surface === 'all' ? {} : { surface }) });

  app.use(serverRequestId());
  app.use(strictTransportSecurity(surface === 'admin' ? deps.config.consoleBaseUrl : deps.config.publicBaseUrl));
  // Before anything counts per client: the limits, lockouts and audit read the address it finds.
  app.use(clientAddressMiddleware(createClientAddress(deps.config.trustedProxies)));
  app.use(requestLog(logger));
  app.use(onlySurface(surface));
  app.use(auditRequestOrigin());
  app.use(refuseNulInUrl());
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => errorResponseFor(c, payloadTooLarge(MAX_BODY_BYTES)),
  });
  // GET and HEAD never read a body: the limit's check built a whole Request for each one,
  // 14 % of the CPU of a feed polled with If-None-Match.
  app.use(async (c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.path === '/v1/subscribers' ? next() : limit(c, next),
  );
  // Public routes: counted per client and held to 16 KiB before their bodies are parsed.
  app.use(
    publicBodies({
      limiter: createRateLimiter(deps.redis, `${deps.config.queuePrefix}:ratelimit:public-post`),
      ...deps.config.publicPostLimits,
      logger,
    }),
  );
  app.use(
    linkedPublicPostsLimit({
      limiter: createRateLimiter(deps.redis, `${deps.config.queuePrefix}:ratelimit:public-post`),
      ...deps.config.publicPostLimits,
      logger,
    }),
  );
  app.onError(createErrorHandler(logger));
  app.notFound(notFound);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      '`hibiki token create --role author|approver|admin --name NAME` で作ったトークン / a token from `hibiki token create`',
  });

  const services = options.services ?? createServices(deps);
  const { notices, residents } = services;
  app.route('/', createOpsRoutes(deps));
  app.route('/', createNoticeRoutes({ tokens: deps.store.tokens, notices, links: deps.links }));
  app.route(
    '/',
    createSubscriberRoutes({
      tokens: deps.store.tokens,
      subscribers: deps.store.subscribers,
      residents,
      audit: deps.store.audit,
      catalogue: deps.catalogue,
    }),
  );
  app.route('/', createTokenRoutes({ tokens: deps.store.tokens, service: services.tokens }));
  app.route(
    '/',
    createWebhookRoutes({
      tokens: deps.store.tokens,
      webhooks: deps.store.webhooks,
      audit: deps.store.audit,
      catalogue: deps.catalogue,
      config: deps.config,
    }),
  );
  app.route(
    '/',
    createUnsubscribeRoutes({
      subscribers: deps.store.subscribers,
      links: deps.links,
      city: { name: deps.config.city.name, nameEn: deps.config.city.nameEn },
      logger,
    }),
  );
  app.route('/', createNoticePageRoutes(deps));
  app.route(
    '/',
    createNoticesFeedRoutes({ query: createPublicNoticeQuery(deps.store), links: deps.links, config: deps.config }),
  );
  app.route('/', createLineWebhookRoutes(deps));
  app.route('/', createPublicSubscriptionRoutes({ residents }));
  app.route('/', createResidentRoutes(deps, { residents }));
  if (deps.channels.get('webpush')) {
    app.route(
      '/',
      createPushRoutes({
        subscriptions: deps.store.pushSubscriptions,
        catalogue: deps.catalogue,
        vapidKeys: createVapidResolver(deps.config.webpush, deps.store.settings),
        allowedHosts: [...DEFAULT_PUSH_HOSTS, ...deps.config.webpush.extraHosts],
        logger,
        rateLimit: {
          limiter: createRateLimiter(deps.redis, `${deps.config.queuePrefix}:ratelimit:push`),
          perClient: deps.config.signupLimits.perClient,
          windowSeconds: deps.config.signupLimits.windowSeconds,
        },
      }),
    );
    app.route(
      '/',
      createPushPageRoutes({
        catalogue: deps.catalogue,
        city: deps.config.city,
        defaultTopics: deps.config.line.defaultTopics,
      }),
    );
  }
  // The public app answers none of the console's paths anyway (onlySurface): it need not build it and Bull Board.
  if (staffSide) app.route('/', createConsoleRoutes(deps, CONSOLE_PAGES, { services }));
  app.route('/', createFeedRoutes({ capMessages: deps.store.capMessages, links: deps.links, city: deps.config.city }));

  serveOpenApiDocument(app, deps.config);
  if (deps.config.apiDocs && staffSide) app.route('/', createApiDocsRoutes());

  return app;
}
