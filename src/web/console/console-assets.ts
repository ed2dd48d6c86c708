import { COMPOSE_SCRIPT } from './compose-script.ts';
import { PROGRESS_SCRIPT } from './progress-script.ts';

/**
 * The console's scripts, served from /console/assets/<name>.js. Plain ES2017 with no build
 * step, so what is served is what is reviewed; each page works without them (they add
 * live previews and live progress on top of forms and links that work alone).
 */
export const CONSOLE_SCRIPTS: Record<string, string> = {
  progress: PROGRESS_SCRIPT,
  compose: COMPOSE_SCRIPT,
};
