import { type Context, Hono } from 'hono';
import type { Config } from '../config.ts';
import type { FieldErrors } from '../domain/bilingual.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import { clientAddress } from '../http/client-address.ts';
import { asApiError } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import type { ResidentService, ResidentView } from '../services/residents.ts';
import { En } from './layout.tsx';
import {
  ChoiceFields,
  type ChoiceValues,
  type City,
  districtsOf,
  EmergencyNote,
  ErrorSummary,
  FieldError,
  formToken,
  readForm,
  sameOrigin,
  sendResidentPage,
  single,
} from './resident-forms.tsx';
/** What the sign-up and manage pages need. */
export interface ResidentPageDeps {
  residents: ResidentService;
  catalogue: Catalogue;
  config: Pick<Config, 'city' | 'publicBaseUrl' | 'channels' | 'line'>;
  logger: Logger;
  /** The client's address for the per-client limit; default: the proxy-aware peer address. */
  clientOf?: (c: Context) => string;
}

/** 32 random bytes in base64url: the shape of every stored secret in a link. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** A channel id the config's enum may not list yet (webpush is wired separately). */
const enabled = (config: ResidentPageDeps['config'], id: string) => (config.channels as readonly string[]).includes(id);

export function SignupForm(props: {
  catalogue: Catalogue;
  city: City;
  values: ChoiceValues & { email: string };
  errors?: FieldErrors | undefined;
}) {
  const { city, errors } = props;
  const emailError = errors?.email !== undefined;
  return (
    <form method="post" action="/subscribe" aria-describedby="emergency-note">
      <ErrorSummary errors={errors} />
      <label class="field" for="email">
        メールアドレス <span lang="en">/ E-mail address</span>
      </label>
      <p class="hint" id="email-hint">
        このアドレスに確認のメールを送ります。メールの中のリンクを開くと登録が完了します。
        <En>We send a confirmation e-mail to this address; the subscription starts when you open its link.</En>
      </p>
      <FieldError errors={errors} field="email" />
      <input
        type="email"
        id="email"
        name="email"
        value={props.values.email}
        required
        maxlength={254}
        autocomplete="email"
        inputmode="email"
        spellcheck={false}
        aria-describedby={emailError ? 'email-hint email-error' : 'email-hint'}
        aria-invalid={emailError ? 'true' : undefined}
      />
      <ChoiceFields catalogue={props.catalogue} city={city} values={props.values} errors={errors} />
      <div class="actions">
        <button type="submit" class="primary" id="send">
          確認のメールを送る <span lang="en">/ Send confirmation e-mail</span>
        </button>
      </div>
    </form>
  );
}

function SubscribeBody(props: {
  catalogue: Catalogue;
  city: City;
  values: ChoiceValues & { email: string };
  errors?: FieldErrors | undefined;
  line: boolean;
  push: boolean;
}) {
  const { city } = props;
  return (
    <>
      <h1>
        防災・お知らせメールの登録 <span lang="en">/ Sign up for alert e-mails</span>
      </h1>
      <p>
        {city.name}からの防災情報やお知らせを、メールで受け取れます。登録は無料です。受け取る分野
        {districtsOf(props.catalogue, city.code).length > 0 ? 'や地域' : ''}を選んでください。
        <En>
          Receive emergency information and notices from {city.nameEn} by e-mail, free of charge. Choose what you want
          to hear about.
        </En>
      </p>
      <EmergencyNote city={city} />
      <SignupForm catalogue={props.catalogue} city={city} values={props.values} errors={props.errors} />

      <h2>
        ほかの受け取り方 <span lang="en">/ Other ways to receive alerts</span>
      </h2>
      <ul>
        {props.line && (
          <li>
            LINE: {city.name}の LINE
            公式アカウントを友だち追加すると、LINEで受け取れます。受け取る分野や地域は、LINEのトーク画面で「メニュー」と送ると選べます（メールでの選択とは別に設定します）。
            <En>
              LINE: add {city.nameEn}'s official LINE account as a friend. Send “menu” in the chat to choose topics and
              areas there (set apart from your e-mail choices).
            </En>
          </li>
        )}
        {props.push && (
          <li>
            <a href="/push">スマートフォンやパソコンに通知（プッシュ通知）で受け取る</a>
            <En>Get alerts as notifications on your phone or computer (web push)</En>
          </li>
        )}
        <li>
          防災無線・テレビ・ラジオでも、大切な情報をお確かめください。
          <En>Also check important information on the city's loudspeakers, TV and radio.</En>
        </li>
      </ul>

      <h2>
        登録済みの方 <span lang="en">/ Already subscribed?</span>
      </h2>
      <p>
        受け取る分野・言語の変更や配信の停止は、届いたメールの下にあるリンクからできます。リンクが見つからない場合は、
        <a href="/manage">変更用のリンクをメールで受け取る</a>ことができます。
        <En>
          Change your choices or stop the e-mails with the links at the bottom of any alert e-mail, or{' '}
          <a href="/manage">have a manage link sent to you</a>.
        </En>
      </p>
    </>
  );
}

/** The same page for every outcome (new, known, over the limit): it must not tell them apart. */
function RequestReceived({ city }: { city: City }) {
  return (
    <>
      <h1>
        お申し込みを受け付けました <span lang="en">/ Request received</span>
      </h1>
      <div class="done" role="status">
        <p>
          入力されたアドレスに、確認のメールをお送りします。メールの中のリンクを24時間以内に開いて、登録を完了してください。すでに登録済みのアドレスには、登録内容を確認・変更するためのリンクをお送りします。
        </p>
        <En>
          We are sending an e-mail to the address you entered. Open the link in it within 24 hours to finish signing up.
          If the address is already subscribed, the e-mail holds a link to manage the subscription instead.
        </En>
      </div>
      <p>
        数分たってもメールが届かない場合は、迷惑メールのフォルダーとアドレスの綴りをお確かめのうえ、しばらく時間をおいてからもう一度お申し込みください。
        <En>
          If nothing arrives within a few minutes, check your spam folder and the spelling of the address, then try
          again later.
        </En>
      </p>
      <p>
        <a href="/subscribe">登録のページへ戻る</a> <span lang="en">/ Back to the sign-up page</span>
      </p>
      <p class="muted">
        {city.name} <span lang="en">/ {city.nameEn}</span>
      </p>
    </>
  );
}

function BadLink({ what }: { what: 'confirm' | 'manage' }) {
  return (
    <>
      <h1>
        リンクが正しくないか、期限が切れています <span lang="en">/ This link is invalid or has expired</span>
      </h1>
      <p>
        {what === 'confirm'
          ? '確認のリンクは24時間有効で、一度だけ使えます。登録がまだ済んでいない場合は、もう一度お申し込みください。'
          : 'リンクが途中で切れているか、有効期限が過ぎています。新しいリンクをメールで受け取れます。'}
        <En>
          {what === 'confirm'
            ? 'A confirmation link works once, within 24 hours. If you have not finished signing up, please sign up again.'
            : 'The link is incomplete or has expired. You can have a new one sent to you.'}
        </En>
      </p>
      <p>
        {what === 'confirm' ? (
          <a href="/subscribe">登録のページへ / Sign-up page</a>
        ) : (
          <a href="/manage">変更用のリンクを受け取る / Get a new manage link</a>
        )}
      </p>
    </>
  );
}

export function CrossSite() {
  return (
    <>
      <h1>
        このページからは送信できません <span lang="en">/ This form cannot be sent from here</span>
      </h1>
      <p>
        別のサイトから送られたため、受け付けませんでした。このサイトのページを開き直してから、もう一度お試しください。
        <En>The request came from another site and was refused. Open this site's page again and retry.</En>
      </p>
    </>
  );
}

/** What the confirm and manage pages show of a subscription, in words. */
export function ChoicesSummary({ view, catalogue, city }: { view: ResidentView; catalogue: Catalogue; city: City }) {
  const topicName = new Map(catalogue.topics.map((t) => [t.id, t]));
  const areaName = new Map(catalogue.areas.map((a) => [a.code, a]));
  const topics = view.topics.map((id) => topicName.get(id) ?? { name: id, nameEn: id });
  const areas = view.areas.map((code) => areaName.get(code) ?? { name: code, nameEn: code });
  return (
    <dl class="facts">
      <dt>
        分野 <span lang="en">Topics</span>
      </dt>
      <dd>
        {topics.length > 0 ? topics.map((t) => t.name).join('、') : '緊急の情報のみ'}
        <En>{topics.length > 0 ? topics.map((t) => t.nameEn).join(', ') : 'Emergency alerts only'}</En>
      </dd>
      <dt>
        地域 <span lang="en">Areas</span>
      </dt>
      <dd>
        {areas.length > 0 ? areas.map((a) => a.name).join('、') : `${city.name}全域`}
        <En>{areas.length > 0 ? areas.map((a) => a.nameEn).join(', ') : `All of ${city.nameEn}`}</En>
      </dd>
      <dt>
        言語 <span lang="en">Language</span>
      </dt>
      <dd>{view.locale === 'en' ? 'English' : '日本語'}</dd>
    </dl>
  );
}

/** GET/POST /subscribe, GET/POST /subscribe/confirm: signing up for mail without JavaScript. */
export function createSubscribePageRoutes(deps: ResidentPageDeps): Hono {
  const app = new Hono();
  const { residents, catalogue, config } = deps;
  const city: City = config.city;
  const clientOf = deps.clientOf ?? clientAddress;
  const topicIds = new Set(catalogue.topics.map((t) => t.id));
  // The same starting topics as a new LINE friend gets; the resident can untick them.
  const defaults: ChoiceValues & { email: string } = {
    email: '',
    topics: config.line.defaultTopics.filter((t) => topicIds.has(t)),
    areas: [],
    locale: 'ja',
  };
  const ways = { line: enabled(config, 'line'), push: enabled(config, 'webpush') };

  const formPage = (c: Context, values: ChoiceValues & { email: string }, errors?: FieldErrors) =>
    sendResidentPage(
      c,
      city,
      errors ? '入力内容を確かめてください / Check your answers' : '防災・お知らせメールの登録 / Sign up',
      <SubscribeBody catalogue={catalogue} city={city} values={values} errors={errors} {...ways} />,
      { status: errors ? 400 : 200 },
    );

  const badLink = (c: Context) =>
    sendResidentPage(c, city, 'リンクが正しくありません / Invalid link', <BadLink what="confirm" />, {
      status: 400,
      private: true,
    });

  app.get('/subscribe', (c) => formPage(c, defaults));

  app.post('/subscribe', async (c) => {
    if (!sameOrigin(c, config.publicBaseUrl)) {
      return sendResidentPage(c, city, '送信できません / Refused', <CrossSite />, { status: 403 });
    }
    const form = await readForm(c);
    const raw = {
      email: single(form, 'email'),
      topics: form.topics,
      areas: form.areas,
      locale: single(form, 'locale'),
    };
    let request: ReturnType<ResidentService['normalise']>;
    try {
      request = residents.normalise(raw);
    } catch (thrown) {
      const err = asApiError(thrown);
      if (!err) throw thrown;
      const values = {
        email: raw.email.slice(0, 254),
        topics: (raw.topics ?? []).filter((t) => topicIds.has(t)),
        areas: raw.areas ?? [],
        locale: raw.locale === 'en' ? ('en' as const) : ('ja' as const),
      };
      return formPage(c, values, err.fields);
    }
    // Over the limit or not, known or not: one answer, so the form tells nobody anything.
    await residents.requestSignup(request, clientOf(c));
    return sendResidentPage(c, city, 'お申し込みを受け付けました / Request received', <RequestReceived city={city} />);
  });

  app.get('/subscribe/confirm', async (c) => {
    const t = c.req.query('t') ?? '';
    if (!SECRET.test(t) || !(await residents.confirmable(t))) return badLink(c);
    return sendResidentPage(
      c,
      city,
      '登録の確認 / Confirm',
      <>
        <h1>
          登録の確認 <span lang="en">/ Confirm your subscription</span>
        </h1>
        <p>
          下のボタンを押すと、このメールアドレスへの{city.name}の防災・お知らせメールの配信が始まります。
          <En>Press the button to start receiving {city.nameEn}'s alert e-mails at this address.</En>
        </p>
        <form method="post" action={`/subscribe/confirm?t=${t}`}>
          <input type="hidden" name="form" value={formToken('confirm', t)} />
          <div class="actions">
            <button type="submit" class="primary" id="confirm">
              登録を完了する <span lang="en">/ Confirm</span>
            </button>
          </div>
        </form>
        <p class="muted">
          お申し込みに心当たりがない場合は、このページを閉じてください。何も登録されません。
          <En>If you did not ask for this, close this page. Nothing will be registered.</En>
        </p>
      </>,
      // The button is what confirms: mail scanners that open links must not sign anyone up.
      { private: true },
    );
  });

  app.post('/subscribe/confirm', async (c) => {
    const t = c.req.query('t') ?? '';
    if (!sameOrigin(c, config.publicBaseUrl)) {
      return sendResidentPage(c, city, '送信できません / Refused', <CrossSite />, { status: 403, private: true });
    }
    const form = await readForm(c);
    if (!SECRET.test(t) || single(form, 'form') !== formToken('confirm', t)) return badLink(c);
    const view = await residents.confirm(t);
    if (!view) return badLink(c);
    return sendResidentPage(
      c,
      city,
      '登録が完了しました / Subscribed',
      <>
        <h1>
          登録が完了しました <span lang="en">/ You are subscribed</span>
        </h1>
        <div class="done" role="status">
          <p>
            このアドレスに、{city.name}の防災・お知らせメールが届くようになりました。
            <En>Alert e-mails from {city.nameEn} will now reach this address.</En>
          </p>
        </div>
        <ChoicesSummary view={view} catalogue={catalogue} city={city} />
        <h2>
          登録内容の変更・停止 <span lang="en">/ Changing or stopping</span>
        </h2>
        <p>
          受け取る分野・地域・言語の変更、配信の停止、登録情報の削除は、次のページからできます。このリンクはお届けするメールにも載せています。ほかの人に教えないでください。
          <En>
            Change your topics, areas or language, stop the e-mails or delete your data on this page. Every alert e-mail
            carries this link too. Do not share it.
          </En>
        </p>
        <p>
          <a href={view.manageUrl} id="manage-link">
            登録内容の確認・変更 <span lang="en">/ Manage my subscription</span>
          </a>
        </p>
      </>,
      { private: true },
    );
  });

  return app;
}
