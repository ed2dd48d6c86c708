import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual, FieldErrors } from '../../domain/bilingual.ts';
import { CATEGORY_EN, MODE_WORD } from '../../domain/labels.ts';
import type { ChannelId, NoticeView } from '../../domain/notice.ts';
import { fillNoticeTemplate } from '../../domain/notice-templates.ts';
import type { Revision } from '../../domain/revision.ts';
import { hasRole, type StaffIdentity } from '../../domain/staff.ts';
import { type ApiError, asApiError } from '../../http/errors.ts';
import type { NoticeInput } from '../../services/notices/index.ts';
import { SeverityBadge } from '../notice-parts.tsx';
import { ChannelPreviews, describePreview, type PreviewModel, PreviewProblems } from './channel-previews.tsx';
import {
  ComposeForm,
  type ComposeKind,
  FIELD_LABEL,
  formErrorsOf,
  HiddenValues,
  NoticeErrorSummary,
  TemplatePicker,
} from './compose-form.tsx';
import { ConsoleLayout, type ConsoleSection, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import { withLabel } from './form-errors.tsx';
import { noticePath } from './notice-detail-page.tsx';
import {
  correctionChanges,
  emptyNoticeForm,
  type FormChoices,
  type FormErrors,
  type NoticeFormValues,
  newNonce,
  nonceOf,
  parseNoticeForm,
  readNoticeForm,
  resubmitChanges,
  textOf,
  valuesFromRevision,
  valuesFromTemplate,
} from './notice-form.ts';
import { currentRevisionOf } from './notice-progress.ts';
import type { ConsoleEnv } from './session.ts';

/**
 * The compose page: write a notice (or start from a fixed template), see it as each
 * channel will show it, confirm, and send it or submit it for approval. The same form
 * corrects a notice that went out and resubmits one an approver returned.
 *
 *   GET  /console/notices/new[?template=id]   the form (or a template's own fields)
 *   POST /console/notices/new/template        fill a template → the form, pre-filled
 *   POST /console/notices/preview             the preview fragment (compose.js)
 *   POST /console/notices                     preview | submit → confirm → send
 *   GET/POST /console/notices/:id/correct     a correction: only changed fields are sent
 *   GET/POST /console/notices/:id/resubmit    a returned notice, changed and resubmitted
 *
 * Every page works without JavaScript; compose.js adds the live preview and the button's words.
 */

type Ctx = Context<ConsoleEnv>;

/** How long a correction's or resubmission's nonce is remembered: longer than anyone keeps a form open and clicks twice. */
const ONCE_SECONDS = 24 * 60 * 60;

interface AudienceLine {
  channel: ChannelId;
  kind: 'public' | 'broadcast' | 'count';
  count?: number;
}

const PLAIN_STATUSES = new Set([400, 403, 404, 409, 422]);

export const createComposePage: ConsolePageModule = (ctx) => {
  const { deps, notices } = ctx;
  const app = new Hono<ConsoleEnv>();
  const choices = (): FormChoices => ({ catalogue: deps.catalogue, channels: deps.channels.ids() });
  const canSendEmergency = (staff: StaffIdentity) => hasRole(staff, 'approver');

  /** Renders the notice on every channel, or says what must be filled in first. */
  async function previewOf(
    values: NoticeFormValues,
    staff: StaffIdentity,
    correcting?: Revision,
  ): Promise<PreviewModel | { problems: Bilingual[] }> {
    const parsed = parseNoticeForm(values, choices(), {
      canSendEmergency: canSendEmergency(staff),
      allowPastSchedule: true,
    });
    if (!parsed.ok) {
      if (values.title.trim() === '' && values.body.trim() === '') {
        return {
          problems: [
            {
              ja: '件名と本文を入力すると、各チャネルでの表示がここに出ます。',
              en: 'Enter a title and body to see the preview.',
            },
          ],
        };
      }
      return {
        problems: Object.entries(parsed.errors).flatMap(([name, reasons]) =>
          (reasons ?? []).map((r) => {
            const label = FIELD_LABEL[name as keyof typeof FIELD_LABEL];
            return label ? withLabel(label, r) : r;
          }),
        ),
      };
    }
    try {
      if (!correcting) return describePreview(notices.preview(parsed.input));
      const changes = correctionChanges(parsed.input, values, correcting);
      if (Object.keys(changes).length === 0) {
        return {
          problems: [
            {
              ja: 'まだ何も変えていません。変えた項目が訂正として届きます。',
              en: 'Nothing is changed yet; the fields you change go out as the correction.',
            },
          ],
        };
      }
      // Rendered as the correction will go out: the next revision, marked 【訂正】.
      return describePreview(await notices.previewCorrection(correcting.noticeId, changes));
    } catch (thrown) {
      const err = asApiError(thrown);
      if (!err) throw thrown;
      const fields = Object.values(err.fields ?? {}).flat();
      return { problems: fields.length > 0 ? fields : [{ ja: err.message, en: err.messageEn }] };
    }
  }

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

  /** Remembers a form's nonce once; false when the same form was already sent (a double click). */
  async function claimOnce(kind: string, nonce: string): Promise<boolean> {
    const key = `${deps.config.queuePrefix}:console:once:${kind}:${nonce}`;
    return (await deps.redis.set(key, '1', 'EX', ONCE_SECONDS, 'NX')) === 'OK';
  }
  const releaseOnce = (kind: string, nonce: string) =>
    deps.redis.del(`${deps.config.queuePrefix}:console:once:${kind}:${nonce}`);
  const onceSpent = async (kind: string, nonce: string) =>
    (await deps.redis.exists(`${deps.config.queuePrefix}:console:once:${kind}:${nonce}`)) === 1;

  interface PageOptions {
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

  /** Whether the service refused in a way the form can show beside its fields (otherwise the error page). */
  const formRefusal = (thrown: unknown): ApiError | undefined => {
    const err = asApiError(thrown);
    return err && PLAIN_STATUSES.has(err.status) ? err : undefined;
  };

  // ---- New notice ------------------------------------------------------------------------

  app.get('/console/notices/new', ctx.guard('author'), (c) => {
    const templateId = c.req.query('template');
    if (templateId === undefined) return composePage(c, { kind: 'new', values: emptyNoticeForm(deps.channels.ids()) });
    const template = deps.noticeTemplates.find((t) => t.id === templateId);
    return templatePage(c, template ? { template } : { missing: templateId });
  });

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

  app.post('/console/notices/new/template', ctx.guard('author'), async (c) => {
    const body = await c.req.parseBody({ all: true });
    const id = textOf(body, 'template');
    const template = deps.noticeTemplates.find((t) => t.id === id);
    if (!template) return templatePage(c, { missing: id });
    const values: Record<string, string> = {};
    for (const f of template.fields) values[f.key] = textOf(body, `v.${f.key}`).replace(/\r\n?/g, '\n');
    const filled = fillNoticeTemplate(template, values);
    if (!filled.ok) return templatePage(c, { template, values, errors: filled.fields });
    const form = valuesFromTemplate(filled.notice, choices());
    return composePage(c, {
      kind: 'new',
      values: form,
      preview: await previewOf(form, c.get('staff')),
      notice: (
        <div class="flash">
          <p>
            定型文「{template.name}」の文面を入れました。対象地域・配信先・日時を確かめてから配信してください。{' '}
            <En>The template's wording is filled in; check areas, channels and times before sending.</En>
          </p>
        </div>
      ),
    });
  });

  /** The preview region alone, for compose.js to swap in while staff type. */
  async function previewFragment(c: Context<ConsoleEnv>, correcting?: Revision) {
    const values = readNoticeForm(await c.req.parseBody({ all: true }));
    const preview = await previewOf(values, c.get('staff'), correcting);
    const fragment =
      'problems' in preview ? (
        <PreviewProblems problems={preview.problems} summary="プレビューできません" />
      ) : (
        <ChannelPreviews model={preview} />
      );
    return c.html(await Promise.resolve(fragment.toString()), 200, {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
  }

  app.post('/console/notices/preview', ctx.guard('author'), (c) => previewFragment(c));

  app.post('/console/notices', ctx.guard('author'), async (c) => {
    const staff = c.get('staff');
    const body = await c.req.parseBody({ all: true });
    const action = textOf(body, '_action');
    const values = readNoticeForm(body);
    values.nonce = nonceOf(values);
    if (action === 'edit') return composePage(c, { kind: 'new', values });
    const parsed = parseNoticeForm(values, choices(), { canSendEmergency: canSendEmergency(staff) });
    if (action === 'preview') {
      return composePage(c, {
        kind: 'new',
        values,
        errors: parsed.ok ? {} : parsed.errors,
        preview: await previewOf(values, staff),
        status: 200,
      });
    }
    if (!parsed.ok) return composePage(c, { kind: 'new', values, errors: parsed.errors });
    const input = parsed.input;
    // Only what reaches residents as real needs a second look; an approval request is looked at by the approver.
    if (input.mode === 'actual' && !input.requestApproval && action !== 'confirm') {
      return confirmPage(c, 'new', values, input);
    }
    try {
      const result = await notices.post(input, staff, `console-${values.nonce}`);
      return c.redirect(
        `${noticePath(result.notice.id)}?done=${result.notice.status === 'pending_approval' ? 'submitted' : 'created'}`,
        303,
      );
    } catch (thrown) {
      const err = formRefusal(thrown);
      if (!err) throw thrown;
      if (err.code === 'idempotency_key_reused') {
        // This form was sent once and then changed (the browser's back button): the changed
        // notice is a new one, so it gets a new nonce, and staff decide whether to send it.
        values.nonce = newNonce();
        return composePage(c, {
          kind: 'new',
          values,
          status: 409,
          errors: {
            form: [
              {
                ja: 'この画面からは、すでに別の内容の通知を送っています（通知一覧で確かめられます）。この内容も新しい通知として送るなら、もう一度「配信する」を押してください。',
                en: 'This form already sent a notice with other content (see the notice list). To send this one as a new notice, press send again.',
              },
            ],
          },
        });
      }
      return composePage(c, {
        kind: 'new',
        values,
        errors: formErrorsOf(err.fields, { ja: err.message, en: err.messageEn }),
        status: err.status,
      });
    }
  });

  // ---- Correction ------------------------------------------------------------------------

  /** Why a notice cannot be corrected now, said before staff type anything; the service checks again. */
  async function loadForCorrection(c: Ctx, id: string) {
    const detail = await notices.get(id);
    const current = currentRevisionOf(detail);
    const status = detail.notice.status;
    let refusal: Response | Promise<Response> | undefined;
    if (status === 'cancelled') {
      refusal = statePage(c, id, {
        ja: `通知 ${id} は取り消し済みのため訂正できません。`,
        en: `Notice ${id} is cancelled and cannot be corrected.`,
      });
    } else if (status === 'returned') {
      refusal = statePage(
        c,
        id,
        {
          ja: `通知 ${id} は差し戻されています（まだ配信していません）。直して再申請してください。`,
          en: `Notice ${id} was returned and has not been sent; change it and resubmit.`,
        },
        { href: `${noticePath(id)}/resubmit`, text: '直して再申請する' },
      );
    } else if (status === 'pending_approval') {
      refusal = statePage(c, id, {
        ja: `通知 ${id} は承認待ちで、まだ配信していません。訂正は配信した後にできます。`,
        en: `Notice ${id} is waiting for approval and has not been sent; a correction comes after sending.`,
      });
    } else if (status === 'scheduled' && current.scheduledAt && current.scheduledAt > new Date()) {
      refusal = statePage(c, id, {
        ja: `通知 ${id} は予約中で、まだ配信していません。取り消してから新しく作成してください。`,
        en: `Notice ${id} is scheduled and not sent yet; cancel it and post a new one.`,
      });
    }
    return { detail, current, refusal };
  }

  /** What a correction does, and what the preview cannot show: the 【訂正】 mark the channels add. */
  const correctionNote = (current: Revision, staff: StaffIdentity) => (
    <>
      <p>
        第{current.revision}
        版を訂正します。変えた項目だけが訂正として、同じ配信先へ届きます。プレビューは訂正として届く形（件名に【訂正】）で示します。{' '}
        <En>
          Only the fields you change go out as a correction, to the same audience; the preview shows them as the
          correction.
        </En>
      </p>
      {current.severity === 'emergency' && !canSendEmergency(staff) ? (
        <div class="flash warn">
          <p>
            緊急の通知を訂正できるのは承認者(approver)以上です。{' '}
            <En>Only an approver can correct an emergency notice.</En>
          </p>
        </div>
      ) : null}
    </>
  );

  /** A correction has no schedule (it goes now) and keeps the notice's mode. */
  const correctionValues = (values: NoticeFormValues, current: Revision): NoticeFormValues => ({
    ...values,
    mode: current.mode,
    scheduledAt: '',
    requestApproval: false,
  });

  app.post('/console/notices/:id/correct/preview', ctx.guard('author'), async (c) => {
    const { current, refusal } = await loadForCorrection(c, c.req.param('id'));
    return refusal ?? previewFragment(c, current);
  });

  app.get('/console/notices/:id/correct', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const { current, refusal } = await loadForCorrection(c, id);
    if (refusal) return refusal;
    return composePage(c, {
      kind: 'correct',
      noticeId: id,
      baseRevision: current.revision,
      values: correctionValues(valuesFromRevision(current), current),
      notice: correctionNote(current, c.get('staff')),
    });
  });

  app.post('/console/notices/:id/correct', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const staff = c.get('staff');
    const body = await c.req.parseBody({ all: true });
    const action = textOf(body, '_action');
    const { current, refusal } = await loadForCorrection(c, id);
    if (refusal) return refusal;
    const values = correctionValues(readNoticeForm(body), current);
    values.nonce = nonceOf(values);
    const base = Number(textOf(body, 'baseRevision')) || current.revision;
    const page = (extra: Partial<PageOptions>) =>
      composePage(c, {
        kind: 'correct',
        noticeId: id,
        baseRevision: base,
        values,
        notice: correctionNote(current, staff),
        ...extra,
      });
    if (action === 'edit') return page({});
    const parsed = parseNoticeForm(values, choices(), {
      canSendEmergency: canSendEmergency(staff),
      allowPastSchedule: true,
    });
    if (action === 'preview') {
      return page({
        errors: parsed.ok ? {} : parsed.errors,
        preview: await previewOf(values, staff, current),
        status: 200,
      });
    }
    if (!parsed.ok) return page({ errors: parsed.errors });
    const changes = correctionChanges(parsed.input, values, current);
    const changed = Object.keys(changes);
    if (base !== current.revision) {
      // The same correction sent twice finds itself already applied: that is success, not a conflict.
      if (changed.length === 0) return c.redirect(noticePath(id), 303);
      return composePage(c, {
        kind: 'correct',
        noticeId: id,
        baseRevision: current.revision,
        values,
        status: 409,
        errors: {
          form: [
            {
              ja: `この通知は、この画面を開いた後に第${current.revision}版に更新されました。通知の詳細で最新の内容を確かめてから、もう一度送ってください。`,
              en: `The notice was updated to revision ${current.revision} after this form was opened; check it, then send again.`,
            },
          ],
        },
      });
    }
    if (changed.length === 0) {
      return page({
        errors: {
          form: [{ ja: '変更された項目がありません。訂正する項目を直してください。', en: 'Nothing was changed.' }],
        },
      });
    }
    if (current.mode === 'actual' && action !== 'confirm') {
      return confirmPage(c, 'correct', values, parsed.input, { noticeId: id, baseRevision: base, changed });
    }
    if (!(await claimOnce('correct', values.nonce))) {
      return c.redirect(noticePath(id), 303);
    }
    try {
      const result = await notices.correct(id, changes, staff);
      return c.redirect(`${noticePath(id)}?done=${result.proposal ? 'proposed' : 'corrected'}`, 303);
    } catch (err) {
      await releaseOnce('correct', values.nonce);
      const refused = formRefusal(err);
      if (!refused) throw err;
      return page({
        errors: formErrorsOf(refused.fields, { ja: refused.message, en: refused.messageEn }),
        status: refused.status,
      });
    }
  });

  // ---- Resubmission ----------------------------------------------------------------------

  async function loadReturned(c: Ctx, id: string) {
    const detail = await notices.get(id);
    const current = currentRevisionOf(detail);
    const refusal =
      detail.notice.status === 'returned'
        ? undefined
        : statePage(c, id, {
            ja:
              detail.notice.status === 'pending_approval'
                ? `通知 ${id} はすでに承認待ちです。`
                : `通知 ${id} は差し戻されていないため、再申請できません。`,
            en:
              detail.notice.status === 'pending_approval'
                ? `Notice ${id} is already waiting for approval.`
                : `Notice ${id} has not been returned, so it cannot be resubmitted.`,
          });
    const returned = detail.approval.approvals.findLast((s) => s.decision === 'returned');
    const note = returned ? (
      <div class="flash warn" role="note" aria-labelledby="return-comment-title">
        <h2 id="return-comment-title">
          承認者のコメント <En>Approver's comment</En>
        </h2>
        <p>
          <strong>{returned.actor}</strong>: {returned.comment ?? '（コメントなし）'}
        </p>
      </div>
    ) : null;
    return { current, refusal, note };
  }

  app.get('/console/notices/:id/resubmit', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const { current, refusal, note } = await loadReturned(c, id);
    if (refusal) return refusal;
    return composePage(c, { kind: 'resubmit', noticeId: id, values: valuesFromRevision(current), notice: note });
  });

  app.post('/console/notices/:id/resubmit', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const staff = c.get('staff');
    const body = await c.req.parseBody({ all: true });
    const action = textOf(body, '_action');
    const values = readNoticeForm(body);
    values.nonce = nonceOf(values);
    // A second click finds the notice already resubmitted (no longer returned): that is the first one's success.
    if (action === 'submit' && (await onceSpent('resubmit', values.nonce))) {
      return c.redirect(noticePath(id), 303);
    }
    const { current, refusal, note } = await loadReturned(c, id);
    if (refusal) return refusal;
    const page = (extra: Partial<PageOptions>) =>
      composePage(c, { kind: 'resubmit', noticeId: id, values, notice: note, ...extra });
    const parsed = parseNoticeForm(values, choices(), { canSendEmergency: canSendEmergency(staff) });
    if (action === 'preview') {
      return page({ errors: parsed.ok ? {} : parsed.errors, preview: await previewOf(values, staff), status: 200 });
    }
    if (!parsed.ok) return page({ errors: parsed.errors });
    if (!(await claimOnce('resubmit', values.nonce))) {
      return c.redirect(noticePath(id), 303);
    }
    try {
      await notices.resubmit(
        id,
        resubmitChanges(parsed.input, values, current),
        staff,
        values.comment.trim() || undefined,
      );
    } catch (err) {
      await releaseOnce('resubmit', values.nonce);
      const refused = formRefusal(err);
      if (!refused) throw err;
      return page({
        errors: formErrorsOf(refused.fields, { ja: refused.message, en: refused.messageEn }),
        status: refused.status,
      });
    }
    return c.redirect(`${noticePath(id)}?done=resubmitted`, 303);
  });

  return app;
};
