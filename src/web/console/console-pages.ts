import type { ConsolePageModule } from './console-routes.tsx';

/** Every console page module, in the order their routes are tried. */
export const CONSOLE_PAGES: ConsolePageModule[] = [];
