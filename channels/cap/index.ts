import { z } from 'zod';
import { defineChannel } from '../plugin.ts';
import { createCapChannel } from './cap-channel.ts';

/** The CAP 1.2 feed aggregators (L-Alert) poll: one public message per revision, kept in the archive. */
export const capPlugin = defineChannel({
  id: 'cap',
  labels: { ja: 'CAP（Lアラート）', en: 'CAP feed' },
  env: z.object({
    CAP_SENDER: z
      .string()
      .regex(/^[^\s,<&]+$/, 'no spaces, commas, < or & (CAP 1.2 sender)')
      .default('hibiki@localhost'),
  }),
  settings: (env) => ({ sender: env.CAP_SENDER }),
  create: (settings, ports) =>
    createCapChannel(
      { sender: settings.sender, cityCode: ports.city.code, cityName: ports.city.name },
      { archive: ports.capArchive },
    ),
  preview: (rendered) => ({ items: [{ kind: 'text', text: rendered.xml }], warnings: [] }),
});
