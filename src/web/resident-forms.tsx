import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { Child, FC } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Bilingual, FieldErrors } from '../domain/bilingual.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import type { Locale } from '../domain/notice.ts';
import { En, Layout, sendPage } from './layout.tsx';

/**
 * What the sign-up, confirm and manage pages share: the form's look, the choice fields,
 * error summaries, and the checks every POST gets. The pages work without JavaScript.
 */

/** The form's look, added to the shared layout's; the same classes as the push page. */
const FORM_CSS = `<style>
fieldset{border:1px solid #6b6b6b;border-radius:.375rem;margin:1rem 0;padding:.5rem 1rem 1rem;min-width:0}
legend{font-weight:700;padding:0 .25rem}
ul.choices{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.25rem 1rem}
ul.choices label{display:flex;align-items:center;gap:.6rem;min-height:2.75rem;cursor:pointer}
ul.choices .en{display:inline;margin-left:.25rem}
input[type=checkbox],input[type=radio]{width:1.5rem;height:1.5rem;margin:0;flex:none;accent-color:#0b57d0}
label.field{display:block;font-weight:700;margin:1rem 0 .25rem}
input[type=email]{font:inherit;width:100%;min-height:3rem;padding:.5rem .75rem;border:2px solid #1a1a1a;border-radius:.375rem;background:#fff;color:#1a1a1a}
input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 5px #1a1a1a}
input[aria-invalid=true]{border-color:#b00020}
.hint{margin:.25rem 0 .75rem;color:#4a4a4a}
.note{border-left:.5rem solid #b00020;background:#fbeaec;padding:.75rem 1rem;margin:1rem 0}
.notice-box{border:2px solid #1a1a1a;border-radius:.375rem;padding:.75rem 1rem;margin:1rem 0}
.done{border-left:.5rem solid #1b5e20;background:#e8f3ea;padding:.75rem 1rem;margin:1rem 0}
.errors{border:3px solid #b00020;border-radius:.375rem;padding:.75rem 1rem;margin:1rem 0}
.errors h2{margin-top:0;color:#b00020}
.field-error{color:#b00020;font-weight:700;margin:.25rem 0}
.actions{display:flex;flex-wrap:wrap;gap:1rem;margin:1.5rem 0 1rem}
button.primary{background:#0b57d0}
button.secondary{background:#fff;color:#1a1a1a}
.keep{overflow-wrap:anywhere;word-break:break-all;background:#f2f4f7;padding:.5rem .75rem;border-radius:.25rem}
</style>`;

/** Pages whose URL carries a secret: never cached, never sent on in a Referer. */
export const PRIVATE_HEADERS = { 'Referrer-Policy': 'no-referrer' };

export interface City {
  code: string;
  name: string;
  nameEn: string;
}

/** Sends a page in the shared layout with the form styles added to its head. */
export async function sendResidentPage(
  c: Context,
  city: City,
  title: string,
  body: Child,
  options: { status?: ContentfulStatusCode; private?: boolean } = {},
): Promise<Response> {
  const page = (
    <Layout title={`${title} | ${city.name}`} siteName={city.name} siteNameEn={city.nameEn}>
      {body}
    </Layout>
  );
  const html = String(await Promise.resolve(page?.toString() ?? '')).replace('</head>', `${FORM_CSS}</head>`);
  return sendPage(
    c,
    raw(html),
    options.status ?? 200,
    options.private ? 'no-store' : 'no-cache',
    options.private ? PRIVATE_HEADERS : {},
  );
}

/** With no districts configured the city is the one area: there is nothing to choose. */
export function districtsOf(catalogue: Catalogue, cityCode: string) {
  return catalogue.areas.every((a) => a.code === cityCode) ? [] : catalogue.areas;
}

export interface ChoiceValues {
  topics: string[];
  areas: string[];
  locale: Locale;
}

/** Topics, areas (when the city has districts) and language, as labelled checkboxes and radios. */
export const ChoiceFields: FC<{
  catalogue: Catalogue;
  city: City;
  values: ChoiceValues;
  errors?: FieldErrors | undefined;
  /** What the language choice is for: the e-mails (default) or the push notifications. */
  languageOf?: { ja: string; en: string };
}> = ({ catalogue, city, values, errors, languageOf = { ja: 'メール', en: 'the e-mails' } }) => {
  const topics = new Set(values.topics);
  const areas = new Set(values.areas);
  const districts = districtsOf(catalogue, city.code);
  return (
    <>
      <fieldset id="topics" aria-describedby="topics-hint">
        <legend>
          受け取る分野 <span lang="en">/ Topics</span>
        </legend>
        <p class="hint" id="topics-hint">
          いくつでも選べます。選ばない場合は、緊急の情報だけが届きます。
          <En>Choose any. With none chosen, you receive emergency alerts only.</En>
        </p>
        <FieldError errors={errors} field="topics" />
        <ul class="choices">
          {catalogue.topics.map((t) => (
            <li>
              <label for={`topic-${t.id}`}>
                <input type="checkbox" name="topics" id={`topic-${t.id}`} value={t.id} checked={topics.has(t.id)} />
                <span>
                  {t.name}
                  <span class="en" lang="en">
                    {t.nameEn}
                  </span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>

      {districts.length > 0 ? (
        <fieldset id="areas" aria-describedby="areas-hint">
          <legend>
            地域 <span lang="en">/ Areas</span>
          </legend>
          <p class="hint" id="areas-hint">
            お住まいの地域など、いくつでも選べます。選ばない場合は、{city.name}内すべての地域の情報が届きます。
            <En>Choose any. With none chosen, you receive notices for all of {city.nameEn}.</En>
          </p>
          <FieldError errors={errors} field="areas" />
          <ul class="choices">
            {districts.map((a) => (
              <li>
                <label for={`area-${a.code}`}>
                  <input
                    type="checkbox"
                    name="areas"
                    id={`area-${a.code}`}
                    value={a.code}
                    checked={areas.has(a.code)}
                  />
                  <span>
                    {a.name}
                    <span class="en" lang="en">
                      {a.nameEn}
                    </span>
                  </span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
      ) : (
        <p class="hint">
          地域: {city.name}全域 <span lang="en">/ Area: all of {city.nameEn}</span>
        </p>
      )}

      <fieldset id="locale">
        <legend>
          {languageOf.ja}の言語 <span lang="en">/ Language of {languageOf.en}</span>
        </legend>
        <FieldError errors={errors} field="locale" />
        <ul class="choices">
          <li>
            <label for="locale-ja">
              <input type="radio" name="locale" id="locale-ja" value="ja" checked={values.locale !== 'en'} />
              <span>日本語</span>
            </label>
          </li>
          <li>
            <label for="locale-en">
              <input type="radio" name="locale" id="locale-en" value="en" checked={values.locale === 'en'} />
              <span lang="en">English (the notice text itself stays as the city wrote it)</span>
            </label>
          </li>
        </ul>
      </fieldset>
    </>
  );
};

export const EmergencyNote: FC<{ city: City }> = ({ city }) => (
  <p class="note" id="emergency-note">
    緊急の防災情報（避難指示など）は、選んだ分野にかかわらず、選んだ地域（選ばなければ{city.name}
    全域）のすべての登録者に届きます。
    <En>
      Emergency alerts (such as evacuation orders) reach everyone registered for the area, whatever topics they chose.
    </En>
  </p>
);

const FIELD_LABEL: Record<string, Bilingual> = {
  email: { ja: 'メールアドレス', en: 'E-mail address' },
  topics: { ja: '受け取る分野', en: 'Topics' },
  areas: { ja: '地域', en: 'Areas' },
  locale: { ja: 'メールの言語', en: 'Language' },
};

const FIELD_TARGET: Record<string, string> = {
  email: 'email',
  topics: 'topics',
  areas: 'areas',
  locale: 'locale-ja',
};

/** The list of problems at the top of a form, each linking to its field (GOV.UK's error summary pattern). */
export const ErrorSummary: FC<{ errors: FieldErrors | undefined }> = ({ errors }) => {
  if (!errors || Object.keys(errors).length === 0) return null;
  return (
    <div class="errors" role="alert" aria-labelledby="error-title" tabindex={-1} id="errors">
      <h2 id="error-title">
        入力内容を確かめてください <span lang="en">/ Please check your answers</span>
      </h2>
      <ul>
        {Object.entries(errors).flatMap(([field, reasons]) =>
          reasons.map((r) => (
            <li>
              <a href={`#${FIELD_TARGET[field] ?? field}`}>
                {FIELD_LABEL[field]?.ja ?? field}: {r.ja}
              </a>
              <En>
                {FIELD_LABEL[field]?.en ?? field}: {r.en}
              </En>
            </li>
          )),
        )}
      </ul>
    </div>
  );
};

export const FieldError: FC<{ errors: FieldErrors | undefined; field: string }> = ({ errors, field }) => {
  const reasons = errors?.[field];
  if (!reasons || reasons.length === 0) return null;
  return (
    <p class="field-error" id={`${field}-error`}>
      {reasons.map((r) => (
        <>
          {r.ja}
          <En>{r.en}</En>
        </>
      ))}
    </p>
  );
};

/**
 * A hidden field that binds a form to the secret in its URL and to one action. The URL's
 * secret is the credential (there are no cookies, so nothing ambient for a forged request
 * to ride on); this stops a POST that did not come from the page rendered for that action,
 * e.g. a delete sent straight past its confirmation step.
 */
export function formToken(action: string, credential: string): string {
  return createHash('sha256').update(`hibiki-form:${action}:${credential}`).digest('base64url').slice(0, 32);
}

/**
 * False when the browser says the POST comes from another site: Sec-Fetch-Site, or else an
 * Origin that is neither this server's nor PUBLIC_BASE_URL's. Requests without either
 * header (non-browser clients) pass: the secret in the URL is what they must have.
 * Origin may be "null" on pages with Referrer-Policy: no-referrer, so it alone is not trusted.
 */
export function sameOrigin(c: Context, publicBaseUrl: string): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site) return site === 'same-origin' || site === 'none';
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return true;
  const own = new Set([new URL(c.req.url).origin, new URL(publicBaseUrl).origin]);
  return own.has(origin);
}

/** A urlencoded or multipart form, every field as a list (checkboxes repeat their name). */
export async function readForm(c: Context): Promise<Record<string, string[]>> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('multipart/form-data')) return {};
  const body = await c.req.parseBody({ all: true }).catch(() => ({}) as Record<string, unknown>);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(body)) {
    const list = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    out[key] = list;
  }
  return out;
}

/** The one value of a form field, or '' (a field sent twice counts as missing). */
export const single = (form: Record<string, string[]>, key: string): string => {
  const v = form[key];
  return v && v.length === 1 ? (v[0] as string) : '';
};
