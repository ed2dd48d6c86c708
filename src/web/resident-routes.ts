import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import type { AppEnv } from '../http/auth.ts';
import type { ResidentService } from '../services/residents.ts';
import { createManagePageRoutes } from './manage-page.tsx';
import type { ResidentPageDeps } from './subscribe-page.tsx';
import { createSubscribePageRoutes } from './subscribe-page.tsx';

/**
 * The pages residents use to sign up for mail and manage it: /subscribe,
 * /subscribe/confirm, /manage, /manage/link. Their JSON twin, /v1/public/subscriptions, is
 * src/api/public-subscriptions.ts, mounted beside them by src/app.ts with the same service.
 */
export function createResidentRoutes(
  deps: Pick<Deps, 'config' | 'logger' | 'catalogue'>,
  options: { residents: ResidentService; clientOf?: ResidentPageDeps['clientOf'] },
): Hono<AppEnv> {
  const pageDeps: ResidentPageDeps = {
    residents: options.residents,
    catalogue: deps.catalogue,
    config: deps.config,
    logger: deps.logger,
    ...(options.clientOf ? { clientOf: options.clientOf } : {}),
  };
  const app = new Hono<AppEnv>();
  app.route('/', createSubscribePageRoutes(pageDeps));
  app.route('/', createManagePageRoutes(pageDeps));
  return app;
}
