import { z } from 'zod';
import { commaList, defineChannel, type SettingIssue, secret } from '../plugin.ts';
import { createLineChannel } from './line-channel.ts';
import { previewLine } from './preview.ts';

/** The city's LINE official account: multicast to its followers, a broadcast for a city-wide emergency. */
export const linePlugin = defineChannel({
  id: 'line',
  labels: { ja: 'LINE', en: 'LINE' },
  env: z.object({
    LINE_CHANNEL_ACCESS_TOKEN: secret(z.string().min(1).optional()),
    LINE_CHANNEL_SECRET: secret(z.string().min(1).optional()),
    LINE_API_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.line.me'),
    LINE_EMERGENCY_BROADCAST: z.stringbool().default(false),
    LINE_DEFAULT_TOPICS: z.string().default('disaster,shelter').transform(commaList),
  }),
  checkEnv(env, enabled) {
    if (!enabled) return [];
    const required = ['LINE_CHANNEL_ACCESS_TOKEN', 'LINE_CHANNEL_SECRET'] as const;
    return required
      .filter((k) => !env[k])
      .map((k): SettingIssue => ({ setting: k, message: 'CHANNELS includes line: required' }));
  },
  settings: (env) => ({
    channelAccessToken: env.LINE_CHANNEL_ACCESS_TOKEN,
    channelSecret: env.LINE_CHANNEL_SECRET,
    baseUrl: env.LINE_API_BASE_URL.replace(/\/+$/, ''),
    emergencyBroadcast: env.LINE_EMERGENCY_BROADCAST,
    /** Topics a new follower gets, and ticked on the sign-up pages. */
    defaultTopics: env.LINE_DEFAULT_TOPICS,
  }),
  create: (settings, ports) =>
    createLineChannel(
      {
        // checkEnv refuses to start with line enabled and no token.
        channelAccessToken: settings.channelAccessToken ?? '',
        baseUrl: settings.baseUrl,
        emergencyBroadcast: settings.emergencyBroadcast,
      },
      { logger: ports.logger },
    ),
  preview: previewLine,
});
