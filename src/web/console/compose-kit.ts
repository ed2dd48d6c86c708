import { canSendEmergency, createComposePreview, formChoices } from './compose-preview.tsx';
import { createComposeScreens } from './compose-screens.tsx';
import { createOnceGuard, formRefusal } from './compose-submit-guards.ts';
import type { ConsolePageContext } from './console-routes.tsx';
import type { FormChoices } from './notice-form.ts';

/** Everything the compose routes share: the screens, the preview and the double-submit guard. */
export function createComposeKit(ctx: ConsolePageContext) {
  const choices = (): FormChoices => formChoices(ctx);
  return {
    choices,
    canSendEmergency,
    formRefusal,
    ...createComposePreview(ctx),
    ...createComposeScreens(ctx),
    ...createOnceGuard(ctx.deps),
  };
}

export type ComposeKit = ReturnType<typeof createComposeKit>;
