import { Hono } from 'hono';
import { fillNoticeTemplate } from '../../domain/notice-templates.ts';
import { addCorrectionRoutes } from './compose-correction-routes.tsx';
import { formErrorsOf } from './compose-fields.tsx';
import { createComposeKit } from './compose-kit.ts';
import { addResubmitRoutes } from './compose-resubmit-routes.tsx';
import { En } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import {
  emptyNoticeForm,
  newNonce,
  nonceOf,
  parseNoticeForm,
  readNoticeForm,
  textOf,
  valuesFromTemplate,
} from './notice-form.ts';
import { noticePath } from './notice-paths.ts';
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

export const createComposePage: ConsolePageModule = (ctx) => {
  const { deps, notices } = ctx;
  const app = new Hono<ConsoleEnv>();
  const kit = createComposeKit(ctx);
  const { choices, canSendEmergency, composePage, confirmPage, templatePage, previewOf, previewFragment, formRefusal } =
    kit;

  // ---- New notice ------------------------------------------------------------------------

  app.get('/console/notices/new', ctx.guard('author'), (c) => {
    const templateId = c.req.query('template');
    if (templateId === undefined) return composePage(c, { kind: 'new', values: emptyNoticeForm(deps.channels.ids()) });
    const template = deps.noticeTemplates.find((t) => t.id === templateId);
    return templatePage(c, template ? { template } : { missing: templateId });
  });

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

  addCorrectionRoutes(app, ctx, kit);
  addResubmitRoutes(app, ctx, kit);

  return app;
};
