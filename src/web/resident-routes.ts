import type { OpenAPIHono } from '@hono/zod-openapi';
import { createPublicSubscriptionRoutes } from '../api/public-subscriptions.ts';
import { createRouter } from '../api/router.ts';
import type { Deps } from '../deps.ts';
import type { AppEnv } from '../http/auth.ts';
import { createResidentService, type ResidentService } from '../services/residents.ts';
import { createManagePageRoutes } from './manage-page.tsx';
import type { ResidentPageDeps } from './subscribe-page.tsx';
import { createSubscribePageRoutes } from './subscribe-page.tsx';

/**
 * Everything residents use to sign up for mail and manage it: the pages (/subscribe,
 * /subscribe/confirm, /manage, /manage/link) and the public API (/v1/public/subscriptions).
 * An OpenAPIHono, so mounting it with app.route() adds the API to /openapi.json.
 */
export function createResidentRoutes(
  deps: Pick<Deps, 'config' | 'logger' | 'store' | 'redis' | 'links' | 'catalogue'>,
  options: { residents?: ResidentService; clientOf?: ResidentPageDeps['clientOf'] } = {},
): OpenAPIHono<AppEnv> {
  const residents = options.residents ?? createResidentService(deps);
  const pageDeps: ResidentPageDeps = {
    residents,
    catalogue: deps.catalogue,
    config: deps.config,
    logger: deps.logger,
    ...(options.clientOf ? { clientOf: options.clientOf } : {}),
  };
  const app = createRouter();
  app.route(
    '/',
    createPublicSubscriptionRoutes({ residents, ...(options.clientOf ? { clientOf: options.clientOf } : {}) }),
  );
  app.route('/', createSubscribePageRoutes(pageDeps));
  app.route('/', createManagePageRoutes(pageDeps));
  return app;
}
