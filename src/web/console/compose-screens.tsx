import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual, FieldErrors } from '../../domain/bilingual.ts';
import { CATEGORY_EN, MODE_WORD } from '../../domain/labels.ts';
import type { ChannelId, NoticeView } from '../../domain/notice.ts';
import type { NoticeInput } from '../../services/notices/index.ts';
import { SeverityBadge } from '../notice-parts.tsx';
import { ChannelPreviews, describePreview, type PreviewModel } from './channel-previews.tsx';
import { FIELD_LABEL, NoticeErrorSummary } from './compose-fields.tsx';
import { ComposeForm, type ComposeKind, HiddenValues } from './compose-form.tsx';
import { canSendEmergency, formChoices } from './compose-preview.tsx';
import { ConsoleLayout, type ConsoleSection, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageContext } from './console-routes.tsx';
import type { FormChoices, FormErrors, NoticeFormValues } from './notice-form.ts';
import { noticePath } from './notice-paths.ts';
import type { ConsoleEnv } from './session.ts';
import { TemplatePicker } from './template-picker.tsx';

/**
 * The compose pages' screens: the form itself, the "are you sure" confirmation, the page that
 * says a notice cannot be changed this way now, and the template picker's own page. The
 * routes that show them are in compose-routes.tsx (new notices), compose-correction-routes.tsx
 * and compose-resubmit-routes.tsx.
 */

type Ctx = Context<ConsoleEnv>;

interface AudienceLine {
  channel: ChannelId;
  kind: 'public' | 'broadcast' | 'count';
  count?: number;
}

export interface PageOptions {
  kind: ComposeKind;
  values: NoticeFormValues;
  errors?: FormErrors;
  preview?: PreviewModel | { problems: Bilingual[] };
  /** Shown above the form (the approver's comment, a template's note). */
  notice?: Child;
  noticeId?: string;
  baseRevision?: number;
  status?: ContentfulStatusCode;
}

const HEADINGS: Record<ComposeKind, { title: string; en: string; section: ConsoleSection }> = {
  new: { title: '通知を作成する', en: 'New notice', section: 'compose' },
  correct: { title: '通知を訂正する', en: 'Correct a notice', section: 'notices' },
  resubmit: { title: '直して再申請する', en: 'Change and resubmit', section: 'notices' },
};

const ACTIONS: Record<ComposeKind, (id?: string) => string> = {
  new: () => '/console/notices',
  correct: (id) => `${noticePath(id ?? '')}/correct`,
  resubmit: (id) => `${noticePath(id ?? '')}/resubmit`,
};

/** Builds the compose screens over the console's dependencies. */
export function createComposeScreens(ctx: ConsolePageContext) {
  const { deps, notices } = ctx;
  const choices = (): FormChoices => formChoices(ctx);

  /** Who a notice would reach, per channel: cheap counts, no fan-out. */
  async function audienceOf(input: NoticeInput, view: NoticeView): Promise<AudienceLine[]> {
    const lines: AudienceLine[] = [];
    for (const id of input.channels ?? deps.channels.ids()) {
      const channel = deps.channels.get(id);
      if (!channel) continue;
      if (channel.audience === 'public') lines.push({ channel: id, kind: 'public' });
      else if (channel.broadcast?.(view)) lines.push({ channel: id, kind: 'broadcast' });
      else {
        const count = await deps.store.subscribers.countAudience({
          channel: id,
          topics: input.topics ?? [],
          areas: input.areas ?? [],
          ignoreTopics: input.severity === 'emergency',
          severity: input.severity,
        });
        lines.push({ channel: id, kind: 'count', count });
      }
    }
    return lines;
  }

  function composePage(c: Ctx, options: PageOptions) {
    const session = c.get('session');
    const staff = c.get('staff');
    if (!session) throw new Error('compose page without a session');
    const heading = HEADINGS[options.kind];
    const errors = options.errors ?? {};
    return sendConsolePage(
      c,
      <ConsoleLayout
        title={Object.keys(errors).length > 0 ? `エラー: ${heading.title}` : heading.title}
        session={session}
        section={heading.section}
        scripts={['compose']}
      >
        <h1>
          {heading.title} <En>{heading.en}</En>
        </h1>
        {options.noticeId ? (
          <p>
            <a href={noticePath(options.noticeId)}>通知の詳細へ戻る</a> <En>Back to the notice</En>
          </p>
        ) : null}
        <NoticeErrorSummary errors={errors} />
        {options.notice}
        {options.kind === 'new' ? (
          <details>
            <summary>
              定型文（避難指示など）から作る <En>Start from a template</En>
            </summary>
            <TemplatePicker templates={deps.noticeTemplates} session={session} />
          </details>
        ) : null}
        <ComposeForm
          kind={options.kind}
          action={ACTIONS[options.kind](options.noticeId)}
          values={options.values}
          errors={errors}
          choices={choices()}
          cityName={deps.config.city.name}
          canSendEmergency={canSendEmergency(staff)}
          session={session}
          baseRevision={options.baseRevision}
          preview={options.preview}
        />
      </ConsoleLayout>,
      options.status ?? (Object.keys(errors).length > 0 ? 400 : 200),
    );
  }

  /** "Are you sure": what goes out, to whom, and how each channel shows it; one more POST sends it. */
  async function confirmPage(
    c: Ctx,
    kind: 'new' | 'correct',
    values: NoticeFormValues,
    input: NoticeInput,
    extra: { noticeId?: string; baseRevision?: number; changed?: string[] } = {},
  ) {
    const session = c.get('session');
    if (!session) throw new Error('confirm page without a session');
    const result = notices.preview(input);
    const model = describePreview(result);
    const audience = await audienceOf(input, result.view);
    const areaNames =
      (input.areas ?? []).length === 0
        ? `市内全域（${deps.config.city.name}全域）`
        : (input.areas ?? []).map((code) => deps.areas.get(code)?.name ?? code).join('、');
    const topicNames =
      (input.topics ?? []).length === 0
        ? 'すべて'
        : (input.topics ?? []).map((id) => deps.catalogue.topics.find((t) => t.id === id)?.name ?? id).join('、');
    const heading = kind === 'correct' ? 'この内容で訂正を配信しますか' : 'この内容で配信しますか';
    return sendConsolePage(
      c,
      <ConsoleLayout title={heading} session={session} section={kind === 'new' ? 'compose' : 'notices'}>
        <h1>
          {heading} <En>{kind === 'correct' ? 'Send this correction?' : 'Send this notice?'}</En>
        </h1>
        <div class="flash warn">
          <p>
            実際の通知として、住民に届きます。内容と配信先を確かめてください。{' '}
            <En>This goes to residents as an actual notice. Check it before sending.</En>
          </p>
        </div>
        <dl class="facts">
          <dt>{FIELD_LABEL.title.ja}</dt>
          <dd>{input.title}</dd>
          <dt>{FIELD_LABEL.severity.ja}</dt>
          <dd>
            <SeverityBadge severity={input.severity} english="En" />
          </dd>
          <dt>{FIELD_LABEL.category.ja}</dt>
          <dd>
            {input.category} <En>{CATEGORY_EN[input.category]}</En>
          </dd>
          <dt>{FIELD_LABEL.mode.ja}</dt>
          <dd>{MODE_WORD[input.mode ?? 'actual'].ja}</dd>
          <dt>{FIELD_LABEL.areas.ja}</dt>
          <dd>{areaNames}</dd>
          <dt>{FIELD_LABEL.topics.ja}</dt>
          <dd>{topicNames}</dd>
          <dt>{FIELD_LABEL.scheduledAt.ja}</dt>
          <dd>{values.scheduledAt ? `${values.scheduledAt.replace('T', ' ')}（日本時間）` : '今すぐ'}</dd>
          <dt>{FIELD_LABEL.expiresAt.ja}</dt>
          <dd>{values.expiresAt ? `${values.expiresAt.replace('T', ' ')}（日本時間）` : 'なし'}</dd>
          <dt>{FIELD_LABEL.department.ja}</dt>
          <dd>{input.department ?? '（市として発表）'}</dd>
          {extra.changed ? (
            <>
              <dt>訂正する項目</dt>
              <dd>{extra.changed.map((f) => FIELD_LABEL[f as keyof typeof FIELD_LABEL]?.ja ?? f).join('、')}</dd>
            </>
          ) : null}
          <dt>届く先の見込み</dt>
          <dd>
            <ul>
              {audience.map((a) => (
                <li>
                  {CHANNEL_WORD[a.channel].ja}:{' '}
                  {a.kind === 'public'
                    ? '公開の投稿 1件'
                    : a.kind === 'broadcast'
                      ? '友だち全員へ一斉配信'
                      : `${a.count ?? 0}件の宛先`}
                </li>
              ))}
            </ul>
          </dd>
        </dl>
        <form method="post" action={ACTIONS[kind](extra.noticeId)}>
          <input type="hidden" name="_csrf" value={session.csrfToken} />
          <HiddenValues values={values} baseRevision={extra.baseRevision} />
          <div class="actions">
            <button type="submit" name="_action" value="confirm">
              {kind === 'correct' ? '訂正を配信する' : values.scheduledAt ? '予約して配信する' : '配信する'}
            </button>
            <button type="submit" name="_action" value="edit" class="secondary">
              戻って直す <span lang="en">/ Edit</span>
            </button>
          </div>
        </form>
        <h2>
          各チャネルでの表示 <En>Preview</En>
        </h2>
        <p class="hint">{model.summary}</p>
        <ChannelPreviews model={model} />
      </ConsoleLayout>,
    );
  }

  /** A notice that cannot be changed this way now: say why and where to go instead. */
  function statePage(c: Ctx, noticeId: string, message: Bilingual, link?: { href: string; text: string }) {
    return sendConsolePage(
      c,
      <ConsoleLayout title="この操作はできません" session={c.get('session')} section="notices">
        <h1>この操作はできません</h1>
        <div class="flash warn">
          <p>{message.ja}</p>
          <p>
            <En>{message.en}</En>
          </p>
        </div>
        <p>
          {link ? (
            <>
              <a href={link.href}>{link.text}</a>
              {' ・ '}
            </>
          ) : null}
          <a href={noticePath(noticeId)}>通知の詳細へ</a>
        </p>
      </ConsoleLayout>,
      409,
    );
  }

  function templatePage(
    c: Ctx,
    options: {
      template?: (typeof deps.noticeTemplates)[number];
      missing?: string;
      values?: Record<string, string>;
      errors?: FieldErrors;
    },
  ) {
    const session = c.get('session');
    if (!session) throw new Error('template page without a session');
    const hasErrors = Object.keys(options.errors ?? {}).length > 0;
    return sendConsolePage(
      c,
      <ConsoleLayout
        title={hasErrors ? 'エラー: 定型文から作る' : '定型文から作る'}
        session={session}
        section="compose"
      >
        <h1>
          定型文から作る <En>Start from a template</En>
        </h1>
        {options.missing !== undefined ? (
          <div class="flash bad" role="alert">
            <p>
              定型文「{options.missing}」は見つかりません。一覧から選んでください。{' '}
              <En>No such template; choose one from the list.</En>
            </p>
          </div>
        ) : null}
        <TemplatePicker
          templates={deps.noticeTemplates}
          selected={options.template}
          values={options.values}
          errors={options.errors}
          session={session}
        />
      </ConsoleLayout>,
      options.missing !== undefined ? 404 : hasErrors ? 400 : 200,
    );
  }

  return { composePage, confirmPage, statePage, templatePage };
}

export type ComposeScreens = ReturnType<typeof createComposeScreens>;
