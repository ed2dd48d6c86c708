import { fileURLToPath } from 'node:url';
import { createApp, createServices } from '../../src/app.ts';
import type { Deps } from '../../src/deps.ts';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import { loadCatalogue } from '../../src/domain/load-catalogue.ts';
import type { ResidentService } from '../../src/services/residents.ts';

export const EXAMPLE_CATALOGUE = fileURLToPath(new URL('../../templates/catalogue.example.json', import.meta.url));

/** Kikuchi's four districts from templates/catalogue.example.json, for deps built with the default catalogue. */
export function exampleCatalogue(deps: Deps): Promise<Catalogue> {
  return loadCatalogue(EXAMPLE_CATALOGUE, deps.config.city);
}

export interface ResidentApp {
  app: ReturnType<typeof createApp>;
  residents: ResidentService;
}

/**
 * The real app, with the resident service its pages and public API use. Requests made
 * in-process carry no socket, so X-Forwarded-For names the client.
 */
export function residentApp(deps: Deps, catalogue: Catalogue = deps.catalogue): ResidentApp {
  const withCatalogue = { ...deps, catalogue };
  const services = createServices(withCatalogue);
  const app = createApp(withCatalogue, { services });
  return { app, residents: services.residents };
}

/** The confirmation or manage link in a mail's text, as a path on the app. */
export function linkIn(
  text: string | undefined,
  kind: 'confirm' | 'manage',
): { url: string; path: string; token: string } {
  const pattern =
    kind === 'confirm'
      ? /(https?:\/\/[^/\s]+)(\/subscribe\/confirm\?t=([A-Za-z0-9_-]{43}))/
      : /(https?:\/\/[^/\s]+)(\/manage\?t=([A-Za-z0-9_.-]+))/;
  const match = pattern.exec(text ?? '');
  if (!match) throw new Error(`no ${kind} link in the mail text:\n${text}`);
  return { url: `${match[1]}${match[2]}`, path: match[2] as string, token: match[3] as string };
}
