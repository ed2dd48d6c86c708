import { z } from 'zod';
import { defineChannel, type SettingIssue, secret } from '../plugin.ts';
import { previewX } from './preview.ts';
import { createXChannel } from './x-channel.ts';

const OAUTH1 = ['X_API_KEY', 'X_API_SECRET', 'X_ACCESS_TOKEN', 'X_ACCESS_SECRET'] as const;

/** Public posts on the city's X account; a long notice becomes a thread or is cut. */
export const xPlugin = defineChannel({
  id: 'x',
  labels: { ja: 'X（旧Twitter）', en: 'X' },
  env: z.object({
    X_API_KEY: secret(z.string().min(1).optional()),
    X_API_SECRET: secret(z.string().min(1).optional()),
    X_ACCESS_TOKEN: secret(z.string().min(1).optional()),
    X_ACCESS_SECRET: secret(z.string().min(1).optional()),
    X_OAUTH2_TOKEN: secret(z.string().min(1).optional()),
    X_API_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.x.com'),
    X_LONG_TEXT: z.enum(['thread', 'cut']).default('thread'),
    X_THREAD_MAX: z.coerce.number().int().min(1).max(25).default(4),
  }),
  checkEnv(env, enabled) {
    const missing = OAUTH1.filter((k) => !env[k]);
    if (!enabled || env.X_OAUTH2_TOKEN || missing.length === 0) return [];
    const issue: SettingIssue = {
      setting: missing[0] as string,
      message: `CHANNELS includes x: set ${missing.join(', ')} (OAuth 1.0a user context) or X_OAUTH2_TOKEN`,
    };
    return [issue];
  },
  settings: (env) => ({
    oauth1:
      env.X_API_KEY && env.X_API_SECRET && env.X_ACCESS_TOKEN && env.X_ACCESS_SECRET
        ? {
            appKey: env.X_API_KEY,
            appSecret: env.X_API_SECRET,
            accessToken: env.X_ACCESS_TOKEN,
            accessSecret: env.X_ACCESS_SECRET,
          }
        : undefined,
    oauth2Token: env.X_OAUTH2_TOKEN,
    baseUrl: env.X_API_BASE_URL.replace(/\/+$/, ''),
    longText: env.X_LONG_TEXT,
    threadMax: env.X_THREAD_MAX,
  }),
  create: (settings, ports) => createXChannel(settings, { logger: ports.logger }),
  preview: previewX,
});
