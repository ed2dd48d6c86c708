import { type Context, Hono } from 'hono';
import type { FieldErrors } from '../domain/bilingual.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import { clientAddress } from '../http/client-address.ts';
import { asApiError } from '../http/errors.ts';
import type { ResidentView } from '../services/residents.ts';
import { En } from './layout.tsx';
import {
  ChoiceFields,
  type ChoiceValues,
  type City,
  ErrorSummary,
  FieldError,
  formToken,
  readForm,
  sameOrigin,
  sendResidentPage,
  single,
} from './resident-forms.tsx';
import { ChoicesSummary, CrossSite, type ResidentPageDeps } from './subscribe-page.tsx';

/** A signed token from a notice mail (`<id>.<signature>`) or a stored secret mailed on request. */
const MANAGE_TOKEN = /^([1-9]\d{0,15}\.[A-Za-z0-9_-]{32}|[A-Za-z0-9_-]{43})$/;

type Flash = 'saved' | 'confirmation-sent' | 'limited' | undefined;

const FLASH: Record<NonNullable<Flash>, { ja: string; en: string }> = {
  saved: { ja: '変更を保存しました。', en: 'Your changes are saved.' },
  'confirmation-sent': {
    ja: '確認のメールをお送りしました。メールの中のリンクを開くと、配信を再開します（24時間有効）。',
    en: 'We sent you a confirmation e-mail. Open the link in it to receive alerts again (valid for 24 hours).',
  },
  limited: {
    ja: '確認のメールを短い間に何度もお送りしたため、いまは送れません。しばらくしてからもう一度お試しください。',
    en: 'Too many confirmation e-mails were sent recently; please try again later.',
  },
};

function MailState({ view, city }: { view: ResidentView; city: City }) {
  const mail = view.mail;
  if (!mail) return null;
  if (mail.active) {
    return (
      <p>
        このアドレスに、{city.name}の防災・お知らせメールが届いています。
        <En>Alert e-mails from {city.nameEn} are being sent to this address.</En>
      </p>
    );
  }
  return (
    <p class="notice-box" id="mail-stopped">
      {mail.verified
        ? 'このアドレスへの配信は、いま停止しています。下の「配信を再開する」を押すと確認のメールが届き、そのリンクを開くと再開します。'
        : 'このアドレスの登録は、まだ確認が済んでいません。確認のメールのリンクを開くか、下の「配信を再開する」で確認のメールをもう一度受け取ってください。'}
      <En>
        {mail.verified
          ? 'E-mails to this address are stopped. Press “Resume” below: we send a confirmation e-mail, and its link turns them on again.'
          : 'This address is not confirmed yet. Open the link in the confirmation e-mail, or press “Resume” below to get a new one.'}
      </En>
    </p>
  );
}

function ManageBody(props: {
  view: ResidentView;
  token: string;
  catalogue: Catalogue;
  city: City;
  values: ChoiceValues;
  errors?: FieldErrors | undefined;
  flash: Flash;
}) {
  const { view, token, city } = props;
  const action = `/manage?t=${token}`;
  return (
    <>
      <h1>
        登録内容の確認・変更 <span lang="en">/ Manage your subscription</span>
      </h1>
      {props.flash && (
        <div class="done" role="status" id="flash" data-flash={props.flash}>
          {FLASH[props.flash].ja}
          <En>{FLASH[props.flash].en}</En>
        </div>
      )}
      <MailState view={view} city={city} />
      <h2>
        いまの登録内容 <span lang="en">/ Your choices now</span>
      </h2>
      <ChoicesSummary view={view} catalogue={props.catalogue} city={city} />

      <h2 id="change">
        変更する <span lang="en">/ Change</span>
      </h2>
      <p class="note" id="emergency-note">
        緊急の防災情報（避難指示など）は、選んだ分野にかかわらず、選んだ地域のすべての登録者に届きます。
        <En>Emergency alerts reach everyone registered for the area, whatever topics they chose.</En>
      </p>
      <form method="post" action={action} aria-labelledby="change">
        <ErrorSummary errors={props.errors} />
        <input type="hidden" name="action" value="save" />
        <input type="hidden" name="form" value={formToken('save', token)} />
        <ChoiceFields catalogue={props.catalogue} city={city} values={props.values} errors={props.errors} />
        <div class="actions">
          <button type="submit" class="primary" id="save">
            変更を保存する <span lang="en">/ Save changes</span>
          </button>
        </div>
      </form>

      <h2>
        配信の停止・再開 <span lang="en">/ Stop or resume</span>
      </h2>
      {view.mail?.active ? (
        <p>
          <a href={view.mail.unsubscribeUrl} id="stop">
            メールの配信を停止する
          </a>
          <En>Stop the e-mails (you can resume them here later)</En>
        </p>
      ) : view.mail ? (
        <form method="post" action={action}>
          <input type="hidden" name="action" value="resume" />
          <input type="hidden" name="form" value={formToken('resume', token)} />
          <button type="submit" class="primary" id="resume">
            配信を再開する <span lang="en">/ Resume</span>
          </button>
        </form>
      ) : null}

      <h2>
        登録情報の削除 <span lang="en">/ Delete my data</span>
      </h2>
      <p>
        メールアドレスと選んだ内容を、{city.name}のシステムからすべて削除します。削除の前に確認の画面が出ます。
        <En>Removes your address and choices from {city.nameEn}'s system. You are asked to confirm first.</En>
      </p>
      <form method="post" action={action}>
        <input type="hidden" name="action" value="delete-ask" />
        <input type="hidden" name="form" value={formToken('delete-ask', token)} />
        <button type="submit" class="secondary" id="delete-ask">
          登録情報を削除する… <span lang="en">/ Delete my data…</span>
        </button>
      </form>

      <h2>
        このページへのリンク <span lang="en">/ Link to this page</span>
      </h2>
      <p>
        お届けするメールの下にも、このページへのリンクがあります。ほかの人に教えないでください。
        <En>Every alert e-mail carries a link to this page. Do not share it.</En>
      </p>
      <p class="keep">
        <a href={view.manageUrl}>{view.manageUrl}</a>
      </p>
    </>
  );
}

function RequestLinkBody({ errors, email }: { errors?: FieldErrors | undefined; email: string }) {
  return (
    <>
      <h1>
        変更用のリンクを受け取る <span lang="en">/ Get a link to manage your subscription</span>
      </h1>
      <p>
        登録したメールアドレスを入力してください。登録内容の確認・変更、配信の停止、登録情報の削除ができるページへのリンクをお送りします（24時間有効）。
        <En>
          Enter the address you subscribed with. We send it a link (valid for 24 hours) to a page where you can change
          or stop your alerts, or delete your data.
        </En>
      </p>
      <form method="post" action="/manage/link">
        <ErrorSummary errors={errors} />
        <label class="field" for="email">
          メールアドレス <span lang="en">/ E-mail address</span>
        </label>
        <FieldError errors={errors} field="email" />
        <input
          type="email"
          id="email"
          name="email"
          value={email}
          required
          maxlength={254}
          autocomplete="email"
          inputmode="email"
          spellcheck={false}
          aria-invalid={errors?.email ? 'true' : undefined}
        />
        <fieldset>
          <legend>
            メールの言語 <span lang="en">/ Language of the e-mail</span>
          </legend>
          <ul class="choices">
            <li>
              <label for="locale-ja">
                <input type="radio" name="locale" id="locale-ja" value="ja" checked />
                <span>日本語</span>
              </label>
            </li>
            <li>
              <label for="locale-en">
                <input type="radio" name="locale" id="locale-en" value="en" />
                <span lang="en">English</span>
              </label>
            </li>
          </ul>
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" id="send-link">
            リンクを送る <span lang="en">/ Send the link</span>
          </button>
        </div>
      </form>
      <p>
        まだ登録していない方は <a href="/subscribe">登録のページ</a>へ。
        <En>
          Not subscribed yet? Go to the <a href="/subscribe">sign-up page</a>.
        </En>
      </p>
    </>
  );
}

/**
 * GET/POST /manage?t=…: a resident's own choices, stop/resume and "delete my data", opened
 * by the signed link in every notice mail or a stored one mailed on request. GET /manage
 * without a token and POST /manage/link ask for such a link by address.
 */
export function createManagePageRoutes(deps: ResidentPageDeps): Hono {
  const app = new Hono();
  const { residents, catalogue, config } = deps;
  const city: City = config.city;
  const clientOf = deps.clientOf ?? clientAddress;

  const page = (
    c: Context,
    title: string,
    body: Parameters<typeof sendResidentPage>[3],
    status: 200 | 400 | 403 = 200,
  ) => sendResidentPage(c, city, title, body, { status, private: true });

  const badLink = (c: Context) =>
    page(
      c,
      'リンクが正しくありません / Invalid link',
      <>
        <h1>
          このリンクは使えません <span lang="en">/ This link no longer works</span>
        </h1>
        <p>
          リンクが途中で切れているか、有効期限が過ぎています。配信を停止した方や登録情報を削除した方には、それまでのメールのリンクは使えません。
          <En>
            The link is incomplete or has expired. After you unsubscribe or delete your data, the links in earlier
            e-mails stop working.
          </En>
        </p>
        <p id="subscribe-again">
          配信をまた受け取るには、<a href="/subscribe">もう一度登録してください</a>。
          <En>
            To receive alerts again, <a href="/subscribe">subscribe again</a>.
          </En>
        </p>
        <p>
          登録中の方は、<a href="/manage">変更用のリンクをメールで受け取れます</a>。
          <En>
            Still subscribed? <a href="/manage">Get a new link by e-mail</a>.
          </En>
        </p>
      </>,
      400,
    );

  /** The subscription a token opens, or undefined (bad, expired, or deleted). */
  async function open(token: string): Promise<ResidentView | undefined> {
    if (!MANAGE_TOKEN.test(token)) return undefined;
    const subscriberId = await residents.subscriberOf(token);
    return subscriberId === undefined ? undefined : residents.manage(subscriberId);
  }

  const show = (
    c: Context,
    view: ResidentView,
    token: string,
    options: { values?: ChoiceValues; errors?: FieldErrors | undefined; flash?: Flash } = {},
  ) =>
    page(
      c,
      '登録内容の確認・変更 / Manage',
      <ManageBody
        view={view}
        token={token}
        catalogue={catalogue}
        city={city}
        values={options.values ?? view}
        errors={options.errors}
        flash={options.flash}
      />,
      options.errors ? 400 : 200,
    );

  app.get('/manage', async (c) => {
    const token = c.req.query('t');
    if (token === undefined) return page(c, '変更用のリンク / Manage link', <RequestLinkBody email="" />);
    const view = await open(token);
    return view ? show(c, view, token) : badLink(c);
  });

  app.post('/manage/link', async (c) => {
    if (!sameOrigin(c, config.publicBaseUrl)) return page(c, '送信できません / Refused', <CrossSite />, 403);
    const form = await readForm(c);
    const email = single(form, 'email');
    const locale = single(form, 'locale') === 'en' ? 'en' : 'ja';
    try {
      await residents.requestManageLink(email, locale, clientOf(c));
    } catch (thrown) {
      const err = asApiError(thrown);
      if (!err) throw thrown;
      return page(
        c,
        '入力内容を確かめてください / Check your answers',
        <RequestLinkBody email={email.slice(0, 254)} errors={err.fields} />,
        400,
      );
    }
    return page(
      c,
      'お申し込みを受け付けました / Request received',
      <>
        <h1>
          お申し込みを受け付けました <span lang="en">/ Request received</span>
        </h1>
        <div class="done" role="status">
          <p>
            登録済みのアドレスであれば、変更用のリンクをお送りします（24時間有効）。数分たっても届かない場合は、迷惑メールのフォルダーとアドレスの綴りをお確かめください。
          </p>
          <En>
            If the address is subscribed, a link to manage it is on its way (valid for 24 hours). If nothing arrives
            within a few minutes, check your spam folder and the spelling of the address.
          </En>
        </div>
      </>,
    );
  });

  app.post('/manage', async (c) => {
    const token = c.req.query('t') ?? '';
    if (!sameOrigin(c, config.publicBaseUrl)) return page(c, '送信できません / Refused', <CrossSite />, 403);
    const form = await readForm(c);
    const action = single(form, 'action');
    // The form token binds the POST to the page rendered for that action and this link.
    if (!MANAGE_TOKEN.test(token) || single(form, 'form') !== formToken(action, token)) return badLink(c);
    const view = await open(token);
    if (!view) return badLink(c);

    switch (action) {
      case 'save': {
        const raw = { topics: form.topics, areas: form.areas, locale: single(form, 'locale') };
        try {
          const changed = await residents.manage(view.subscriberId, residents.normaliseChoices(raw));
          return changed ? show(c, changed, token, { flash: 'saved' }) : badLink(c);
        } catch (thrown) {
          const err = asApiError(thrown);
          if (!err) throw thrown;
          const values = { topics: raw.topics ?? [], areas: raw.areas ?? [], locale: view.locale };
          return show(c, view, token, { values, errors: err.fields });
        }
      }
      case 'resume': {
        // Only a fresh confirmation from the mailbox turns mail back on (issue 12, finding 9).
        const outcome = await residents.resume(view.subscriberId, clientOf(c));
        if (outcome === 'gone') return badLink(c);
        const after = await residents.manage(view.subscriberId);
        if (!after) return badLink(c);
        return show(c, after, token, outcome === 'active' ? {} : { flash: outcome });
      }
      case 'delete-ask':
        return page(
          c,
          '登録情報の削除 / Delete my data',
          <>
            <h1>
              登録情報を削除しますか <span lang="en">/ Delete your data?</span>
            </h1>
            <p>
              メールアドレスと選んだ内容をすべて削除します。緊急の情報も、メールでは届かなくなります。元に戻すことはできません（もう一度登録することはできます）。
              <En>
                Your address and choices are removed for good, and no alerts, not even emergencies, will reach you by
                e-mail. You can sign up again later.
              </En>
            </p>
            <form method="post" action={`/manage?t=${token}`}>
              <input type="hidden" name="action" value="delete" />
              <input type="hidden" name="form" value={formToken('delete', token)} />
              <div class="actions">
                <button type="submit" id="delete">
                  削除する <span lang="en">/ Delete</span>
                </button>
                <a href={`/manage?t=${token}`} id="keep">
                  やめる（削除しない） <span lang="en">/ Cancel</span>
                </a>
              </div>
            </form>
          </>,
        );
      case 'delete':
        await residents.deleteData(view.subscriberId);
        return page(
          c,
          '削除しました / Deleted',
          <>
            <h1>
              登録情報を削除しました <span lang="en">/ Your data is deleted</span>
            </h1>
            <div class="done" role="status">
              <p>
                メールアドレスと選んだ内容を削除しました。これ以上メールは届きません。
                <En>Your address and choices are deleted. No more e-mails will be sent to you.</En>
              </p>
            </div>
            <p>
              <a href="/subscribe">もう一度登録する / Sign up again</a>
            </p>
          </>,
        );
      default:
        return badLink(c);
    }
  });

  return app;
}
