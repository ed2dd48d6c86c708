import { messagingApi, validateSignature, type webhook } from '@line/bot-sdk';
import { type Context, Hono } from 'hono';
import type { Deps } from '../deps.ts';
import type { Topic } from '../domain/catalogue.ts';
import type { Locale } from '../domain/notice.ts';
import { publicPostLimit } from '../http/public-post-limit.ts';
import { createRateLimiter } from '../queue/rate-limit.ts';
import type { LineChoices } from '../store/line-contacts.ts';
import { createLineEventReplays } from './line-event-replays.ts';

/** Sends a reply to a webhook event through LINE's reply endpoint. */
export type LineReply = (replyToken: string, messages: messagingApi.Message[]) => Promise<void>;

export type LineWebhookDeps = Pick<Deps, 'config' | 'logger' | 'store' | 'catalogue' | 'redis'> & {
  /** Replaces the Messaging API client's reply (the default, pointed at LINE_API_BASE_URL). */
  reply?: LineReply;
  /** The client's address for the rate limit; default: clientAddress (the proxy-aware peer address). */
  clientOf?: (c: Context) => string;
};

/** LINE's limits on quick replies. */
const QUICK_REPLY_ITEMS = 13;
const QUICK_REPLY_LABEL = 20;
/** A reply token is only good for a short while; a hung reply must not hold the webhook. */
const REPLY_TIMEOUT_MS = 5_000;
const PROFILE_TIMEOUT_MS = 2_000;
/** A LINE user id: "U" and 32 hex digits. A signed event naming anything else is not a person we could answer. */
const LINE_USER_ID = /^U[0-9a-f]{32}$/;

type Command = 'menu' | 'status' | 'stop' | 'resume' | 'areas';

const TEXT_COMMANDS: Array<[Command | 'ja' | 'en', string[]]> = [
  ['status', ['登録内容', '登録', '確認', '設定確認', 'status']],
  ['stop', ['停止', '配信停止', 'stop', 'unsubscribe']],
  ['resume', ['再開', '開始', 'start', 'resume']],
  ['areas', ['地域', 'area', 'areas']],
  ['en', ['english']],
  ['ja', ['日本語', 'japanese']],
];

/**
 * POST /webhooks/line: LINE's webhook for the city's official account. The signature
 * (x-line-signature, HMAC-SHA256 of the raw body with the channel secret) is checked
 * before the body is parsed or anything is stored. follow signs a resident up with the default topics,
 * unfollow stops their messages, and messages and postbacks let them choose topics and
 * areas with quick-reply buttons, see their choices (登録内容) and stop (停止).
 */
export function createLineWebhookRoutes(deps: LineWebhookDeps): Hono {
  const app = new Hono();
  const { config, catalogue } = deps;
  const logger = deps.logger.child({ component: 'line-webhook' });
  const repo = deps.store.lineContacts;
  const token = config.line.channelAccessToken;
  const client = token
    ? new messagingApi.MessagingApiClient({ channelAccessToken: token, baseURL: config.line.baseUrl })
    : undefined;
  const sendReply: LineReply | undefined =
    deps.reply ??
    (client ? async (replyToken, messages) => void (await client.replyMessage({ replyToken, messages })) : undefined);
  const topicIds = new Set(catalogue.topics.map((t) => t.id));
  const defaultTopics = config.line.defaultTopics.filter((t) => topicIds.has(t));
  const unknownDefaults = config.line.defaultTopics.filter((t) => !topicIds.has(t));
  if (unknownDefaults.length > 0) {
    logger.warn({ unknown: unknownDefaults }, 'LINE_DEFAULT_TOPICS names topics the catalogue does not have; ignored');
  }
  const areaCodes = new Set(catalogue.areas.map((a) => a.code));
  const replays = createLineEventReplays(deps.redis, config.queuePrefix);

  async function reply(replyToken: string | undefined, messages: messagingApi.Message[]) {
    if (!replyToken || !sendReply) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sendReply(replyToken, messages),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      // The resident's choice is stored either way; only the confirmation is lost.
      const e = err as { status?: number; body?: string; message?: string };
      logger.warn({ status: e.status, reason: e.body ?? e.message }, 'LINE reply failed');
    } finally {
      clearTimeout(timer);
    }
  }

  /** The resident's LINE language, to answer an English speaker in English; Japanese when unknown. */
  async function profileLocale(userId: string): Promise<Locale> {
    if (!client) return 'ja';
    let timer: NodeJS.Timeout | undefined;
    try {
      const profile = await Promise.race([
        client.getProfile(userId),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), PROFILE_TIMEOUT_MS);
        }),
      ]);
      return profile.language?.toLowerCase().startsWith('en') ? 'en' : 'ja';
    } catch {
      return 'ja';
    } finally {
      clearTimeout(timer);
    }
  }

  /** A resident we have no row for (a friend from before Hibiki) is signed up on first contact. */
  async function known(userId: string): Promise<LineChoices> {
    return (await repo.choices(userId)) ?? (await repo.follow(userId, defaultTopics)).choices;
  }

  const texts = createTexts(catalogue, config.city);

  async function command(userId: string, replyToken: string | undefined, cmd: Command | 'ja' | 'en') {
    // 停止 from someone we never signed up needs no row: there is nothing to stop.
    if (cmd === 'stop' && !(await repo.choices(userId))) return reply(replyToken, [texts.stopped('ja')]);
    let choices = await known(userId);
    if (cmd === 'ja' || cmd === 'en') {
      choices = (await repo.setLocale(userId, cmd)) ?? choices;
      return reply(replyToken, [texts.menu(choices, texts.t(choices.locale).localeSet)]);
    }
    if (cmd === 'status') return reply(replyToken, [texts.status(choices)]);
    if (cmd === 'areas') return reply(replyToken, [texts.areaMenu(choices)]);
    if (cmd === 'stop') {
      await repo.stop(userId);
      return reply(replyToken, [texts.stopped(choices.locale)]);
    }
    if (cmd === 'resume') {
      choices = (await repo.resume(userId)) ?? choices;
      return reply(replyToken, [texts.status(choices, texts.t(choices.locale).resumed)]);
    }
    return reply(replyToken, [texts.menu(choices)]);
  }

  async function postback(userId: string, replyToken: string | undefined, data: string) {
    const params = new URLSearchParams(data);
    const topic = params.get('topic');
    const area = params.get('area');
    const lang = params.get('lang');
    const action = params.get('action');
    if (topic !== null) {
      let choices = await known(userId);
      if (!topicIds.has(topic)) return reply(replyToken, [texts.menu(choices)]);
      const on = params.get('on') === '1';
      choices = (await repo.setTopic(userId, topic, on)) ?? choices;
      return reply(replyToken, [texts.menu(choices, texts.topicChanged(choices, topic, on))]);
    }
    if (area !== null) {
      let choices = await known(userId);
      if (area !== 'all' && !areaCodes.has(area)) return reply(replyToken, [texts.areaMenu(choices)]);
      // The city itself is the whole city.
      const chosen = area === 'all' || area === config.city.code ? null : area;
      choices = (await repo.setArea(userId, chosen)) ?? choices;
      return reply(replyToken, [texts.menu(choices, texts.areaChanged(choices))]);
    }
    if (lang === 'ja' || lang === 'en') return command(userId, replyToken, lang);
    const actions: Command[] = ['menu', 'status', 'stop', 'resume', 'areas'];
    return command(userId, replyToken, actions.includes(action as Command) ? (action as Command) : 'menu');
  }

  async function handle(event: webhook.Event): Promise<void> {
    // Signed by LINE but still only shapes we know: a malformed event is skipped, not a 500 that LINE would redeliver.
    const source = event?.source;
    // Subscriptions are personal: events from groups and rooms, or while another module holds the chat, are not ours.
    if (source?.type !== 'user' || typeof source.userId !== 'string' || !LINE_USER_ID.test(source.userId)) return;
    if (event.mode === 'standby') return;
    const userId = source.userId;
    switch (event.type) {
      case 'follow': {
        const locale = await profileLocale(userId);
        const outcome = await repo.follow(userId, defaultTopics, { locale });
        logger.info({ created: outcome.created, reactivated: outcome.reactivated }, 'LINE follow');
        return reply(event.replyToken, [texts.greeting(outcome.choices)]);
      }
      case 'unfollow': {
        await repo.unfollow(userId);
        logger.info('LINE unfollow');
        return;
      }
      case 'message': {
        const message = event.message;
        if (message?.type !== 'text') return command(userId, event.replyToken, 'menu');
        const text: unknown = (message as webhook.TextMessageContent).text;
        const said = typeof text === 'string' ? text.normalize('NFKC').trim().toLowerCase() : '';
        const found = TEXT_COMMANDS.find(([, words]) => words.includes(said));
        return command(userId, event.replyToken, found ? found[0] : 'menu');
      }
      case 'postback': {
        const data: unknown = event.postback?.data;
        return postback(userId, event.replyToken, typeof data === 'string' ? data : '');
      }
      default:
        return;
    }
  }

  // Per client and shared by every API process (LINE_WEBHOOK_LIMIT_*): counted before the
  // signature is checked, so that a flood of forged requests costs one Redis round trip each.
  const limit = publicPostLimit({
    limiter: createRateLimiter(deps.redis, `${config.queuePrefix}:ratelimit:line-webhook`),
    bucket: 'client',
    perClient: config.lineWebhookLimits.perClient,
    windowSeconds: config.lineWebhookLimits.windowSeconds,
    logger,
    ...(deps.clientOf ? { clientOf: deps.clientOf } : {}),
  });

  app.post('/webhooks/line', limit, async (c) => {
    const secret = config.line.channelSecret;
    if (!secret) {
      return c.json(
        {
          error: 'line_not_configured',
          message: 'LINE_CHANNEL_SECRET が設定されていません / LINE_CHANNEL_SECRET is not set',
        },
        503,
      );
    }
    // The signature covers the exact bytes LINE sent: read them before any parsing.
    const raw = await c.req.text();
    const signature = c.req.header('x-line-signature');
    if (!signature || !validateSignature(raw, secret, signature)) {
      logger.warn({ signature: signature ? 'invalid' : 'missing' }, 'LINE webhook refused: bad signature');
      return c.json({ error: 'invalid_signature', message: 'x-line-signature does not match the body' }, 401);
    }
    let request: webhook.CallbackRequest;
    try {
      request = JSON.parse(raw) as webhook.CallbackRequest;
      if (!Array.isArray(request.events)) throw new Error('no events array');
    } catch {
      return c.json({ error: 'invalid_body', message: 'the body is not a LINE webhook request' }, 400);
    }
    let failed = 0;
    for (const event of request.events) {
      const { webhookEventId: id, timestamp } = (event ?? {}) as { webhookEventId?: unknown; timestamp?: unknown };
      let claimed = false;
      try {
        // A signed body can be posted again by anyone who saw it: each event counts once, and only within a day.
        claimed = await replays.claim(id, timestamp);
        if (!claimed) {
          logger.info({ event: event?.type }, 'LINE webhook event already handled or over a day old; ignored');
          continue;
        }
        await handle(event);
      } catch (err) {
        failed++;
        // LINE redelivers a failed event with the same id: it must then be handled, not ignored.
        if (claimed) await replays.release(id).catch(() => undefined);
        logger.error({ event: event?.type, err: { message: (err as Error).message } }, 'LINE webhook event failed');
      }
    }
    // A 500 lets LINE redeliver (when redelivery is on); every handler is safe to run twice.
    if (failed > 0) return c.json({ error: 'internal', message: `${failed} event(s) could not be stored` }, 500);
    return c.json({}, 200);
  });

  return app;
}

const WORDS = {
  ja: {
    sep: '、',
    none: 'なし',
    wholeCity: (city: string) => `${city}全域`,
    greeting: (city: string) => `友だち追加ありがとうございます。${city}の防災情報やお知らせをLINEでお届けします。`,
    howTo: '下のボタンで受け取る分野や地域を選べます。「登録内容」で確認、「停止」で配信を止められます。',
    menu: '受け取る分野を選んでください。✓ が受け取り中の分野で、押すと切り替わります。',
    current: (topics: string, area: string) => `いまの登録: ${topics}（地域: ${area}）`,
    statusTitle: '【登録内容】',
    delivery: (active: boolean) => `配信: ${active ? '受け取り中' : '停止中（「再開」で再開できます）'}`,
    topics: (t: string) => `分野: ${t}`,
    area: (a: string) => `地域: ${a}`,
    language: '言語: 日本語',
    emergencyNote: '緊急の情報は、選んだ分野に関係なく届きます。',
    noTopics: '受け取る分野がありません。緊急の情報だけが届きます。',
    topicOn: (name: string) => `「${name}」を受け取ります。`,
    topicOff: (name: string) => `「${name}」の受け取りをやめました。`,
    topicOnDisplay: (name: string) => `${name}を受け取る`,
    topicOffDisplay: (name: string) => `${name}をやめる`,
    areaChanged: (a: string) => `地域を「${a}」にしました。`,
    areaMenu: (a: string) => `受け取る地域を選んでください（いま: ${a}）。`,
    stopped: '配信を停止しました。また受け取るときは「再開」と送ってください。',
    resumed: '配信を再開しました。',
    localeSet: '日本語でお届けします。',
    labels: { areas: '地域', status: '登録内容', stop: '停止', resume: '再開', back: '戻る', otherLang: 'English' },
    otherLang: 'en' as Locale,
  },
  en: {
    sep: ', ',
    none: 'none',
    wholeCity: (city: string) => `all of ${city}`,
    greeting: (city: string) => `Thank you for adding us. ${city} sends disaster information and notices here on LINE.`,
    howTo: 'Use the buttons below to choose topics and areas. Send "status" to see your choices, "stop" to stop.',
    menu: 'Choose the topics you want. ✓ marks the ones you get; tap to switch.',
    current: (topics: string, area: string) => `Now: ${topics} (area: ${area})`,
    statusTitle: '[Your choices]',
    delivery: (active: boolean) => `Messages: ${active ? 'on' : 'stopped (send "start" to resume)'}`,
    topics: (t: string) => `Topics: ${t}`,
    area: (a: string) => `Area: ${a}`,
    language: 'Language: English',
    emergencyNote: 'Emergency information reaches you whatever topics you chose.',
    noTopics: 'No topics chosen: you will get emergency information only.',
    topicOn: (name: string) => `You will get "${name}".`,
    topicOff: (name: string) => `You will no longer get "${name}".`,
    topicOnDisplay: (name: string) => `Get ${name}`,
    topicOffDisplay: (name: string) => `Stop ${name}`,
    areaChanged: (a: string) => `Area set to "${a}".`,
    areaMenu: (a: string) => `Choose your area (now: ${a}).`,
    stopped: 'Messages are stopped. Send "start" to get them again.',
    resumed: 'Messages are on again.',
    localeSet: 'We will write to you in English where we can.',
    labels: { areas: 'Area', status: 'Status', stop: 'Stop', resume: 'Start', back: 'Back', otherLang: '日本語' },
    otherLang: 'ja' as Locale,
  },
};

/** The resident-facing replies, in the resident's language. */
function createTexts(catalogue: LineWebhookDeps['catalogue'], city: { code: string; name: string; nameEn: string }) {
  const t = (locale: Locale) => WORDS[locale];
  const topicName = (topic: Topic | undefined, id: string, locale: Locale) =>
    topic ? (locale === 'en' ? topic.nameEn : topic.name) : id;
  const cityName = (locale: Locale) => (locale === 'en' ? city.nameEn : city.name);
  const label = (s: string) =>
    [...s].length > QUICK_REPLY_LABEL ? `${[...s].slice(0, QUICK_REPLY_LABEL - 1).join('')}…` : s;
  const postback = (lbl: string, data: string, displayText?: string): messagingApi.QuickReplyItem => ({
    type: 'action',
    action: { type: 'postback', label: label(lbl), data, ...(displayText ? { displayText } : {}) },
  });

  const topicsText = (c: LineChoices) => {
    const names = c.topics.map((id) =>
      topicName(
        catalogue.topics.find((x) => x.id === id),
        id,
        c.locale,
      ),
    );
    return names.length > 0 ? names.join(t(c.locale).sep) : t(c.locale).none;
  };
  const areaText = (c: LineChoices) => {
    if (c.areas.length === 0) return t(c.locale).wholeCity(cityName(c.locale));
    return c.areas
      .map((code) => {
        const a = catalogue.areas.find((x) => x.code === code);
        return a ? (c.locale === 'en' ? a.nameEn : a.name) : code;
      })
      .join(t(c.locale).sep);
  };

  /** Topic switches first, then the fixed actions; never more than LINE's 13 items. */
  const menuItems = (c: LineChoices): messagingApi.QuickReplyItem[] => {
    const w = t(c.locale);
    const fixed = [
      postback(w.labels.areas, 'action=areas'),
      postback(w.labels.status, 'action=status'),
      c.active ? postback(w.labels.stop, 'action=stop') : postback(w.labels.resume, 'action=resume'),
      postback(w.labels.otherLang, `lang=${w.otherLang}`),
    ];
    const topics = catalogue.topics.slice(0, QUICK_REPLY_ITEMS - fixed.length).map((topic) => {
      const name = topicName(topic, topic.id, c.locale);
      const on = c.topics.includes(topic.id);
      return on
        ? postback(`✓ ${name}`, `topic=${encodeURIComponent(topic.id)}&on=0`, w.topicOffDisplay(name))
        : postback(`＋ ${name}`, `topic=${encodeURIComponent(topic.id)}&on=1`, w.topicOnDisplay(name));
    });
    return [...topics, ...fixed];
  };

  const withMenu = (c: LineChoices, text: string): messagingApi.TextMessage => ({
    type: 'text',
    text,
    quickReply: { items: menuItems(c) },
  });

  return {
    t,
    greeting(c: LineChoices): messagingApi.TextMessage {
      const w = t(c.locale);
      return withMenu(
        c,
        [w.greeting(cityName(c.locale)), '', w.current(topicsText(c), areaText(c)), w.howTo].join('\n'),
      );
    },
    menu(c: LineChoices, lead?: string): messagingApi.TextMessage {
      const w = t(c.locale);
      const lines = [lead, w.menu, w.current(topicsText(c), areaText(c))];
      if (c.topics.length === 0) lines.push(w.noTopics);
      return withMenu(c, lines.filter(Boolean).join('\n'));
    },
    status(c: LineChoices, lead?: string): messagingApi.TextMessage {
      const w = t(c.locale);
      const lines = [
        lead,
        w.statusTitle,
        w.delivery(c.active),
        w.topics(topicsText(c)),
        w.area(areaText(c)),
        w.language,
        w.emergencyNote,
      ];
      return withMenu(c, lines.filter(Boolean).join('\n'));
    },
    areaMenu(c: LineChoices): messagingApi.TextMessage {
      const w = t(c.locale);
      const items = [
        postback(`${c.areas.length === 0 ? '✓ ' : ''}${w.wholeCity(cityName(c.locale))}`, 'area=all'),
        ...catalogue.areas
          .filter((a) => a.code !== city.code)
          .slice(0, QUICK_REPLY_ITEMS - 2)
          .map((a) =>
            postback(
              `${c.areas.includes(a.code) ? '✓ ' : ''}${c.locale === 'en' ? a.nameEn : a.name}`,
              `area=${a.code}`,
            ),
          ),
        postback(w.labels.back, 'action=menu'),
      ];
      return { type: 'text', text: w.areaMenu(areaText(c)), quickReply: { items } };
    },
    topicChanged(c: LineChoices, id: string, on: boolean): string {
      const name = topicName(
        catalogue.topics.find((x) => x.id === id),
        id,
        c.locale,
      );
      return on ? t(c.locale).topicOn(name) : t(c.locale).topicOff(name);
    },
    areaChanged(c: LineChoices): string {
      return t(c.locale).areaChanged(areaText(c));
    },
    stopped(locale: Locale): messagingApi.TextMessage {
      const w = t(locale);
      return {
        type: 'text',
        text: w.stopped,
        quickReply: { items: [postback(w.labels.resume, 'action=resume'), postback(w.labels.status, 'action=status')] },
      };
    },
  };
}
