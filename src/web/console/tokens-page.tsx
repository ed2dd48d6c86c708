import { type Context, Hono } from 'hono';
import type { Child, FC } from 'hono/jsx';
import type { FieldErrors } from '../../domain/bilingual.ts';
import { roleLabel, STAFF_ROLES, type StaffRole } from '../../domain/staff.ts';
import { ApiError, asApiError } from '../../http/errors.ts';
import { type CreatedToken, TOKEN_NAME_MAX } from '../../services/tokens.ts';
import type { ConsoleSession } from '../../store/staff-sessions.ts';
import type { StaffToken } from '../../store/tokens.ts';
import { JstTime } from '../notice-parts.tsx';
import { ConsoleLayout, CsrfField, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import { ErrorSummary, FieldError, fieldAria } from './form-errors.tsx';
import { type ConsoleEnv, clearSessionCookie, formField, sessionSecretOf } from './session.ts';

const ROLE_HINT: Record<StaffRole, { ja: string; en: string }> = {
  author: { ja: '通知の作成（緊急は承認が必要）', en: 'writes notices; emergencies need approval' },
  approver: { ja: '緊急通知の送信と承認', en: 'sends and approves emergency notices' },
  admin: { ja: 'すべて、トークンとキューの管理を含む', en: 'everything, including tokens and queues' },
};

/** On a phone each token stacks into labelled lines instead of seven squeezed columns. */
const PAGE_CSS = `@media (max-width:40rem){
table.tokens thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.tokens,table.tokens tbody,table.tokens tr,table.tokens td{display:block}
table.tokens tr{border-bottom:2px solid #8a8a8a;padding:.5rem 0}
table.tokens td{border:none;padding:.1rem 0}
table.tokens td::before{content:attr(data-label);font-weight:700;display:inline-block;min-width:6rem}
}`;

const When: FC<{ at: string | null; none: string }> = ({ at, none }) =>
  at ? <JstTime at={new Date(at)} /> : <span class="muted">{none}</span>;

/** The form's controls by field, for the error summary's links. */
const CONTROL_ID: Record<string, string> = { name: 'token-name', role: 'token-role', expiresAt: 'token-expires' };

/** Which token a page is about. */
const TokenFacts: FC<{ token: Pick<StaffToken, 'id' | 'name' | 'role'>; children?: Child }> = ({ token, children }) => (
  <dl class="facts">
    <dt>番号</dt>
    <dd>#{token.id}</dd>
    <dt>名前</dt>
    <dd>{token.name}</dd>
    <dt>役割</dt>
    <dd>{roleLabel(token.role)}</dd>
    {children}
  </dl>
);

interface ListPageProps {
  session: ConsoleSession;
  tokens: StaffToken[];
  errors?: FieldErrors;
  values?: { name?: string | undefined; role?: string | undefined; expiresAt?: string | undefined };
  revoked?: StaffToken | undefined;
}

const ListPage: FC<ListPageProps> = ({ session, tokens, errors = {}, values = {}, revoked }) => {
  const selectedRole = values.role ?? 'author';
  return (
    <ConsoleLayout title="トークン管理" session={session} section="tokens" styles={PAGE_CSS}>
      <h1>
        トークン管理 <En>/ Staff tokens</En>
      </h1>
      <ErrorSummary errors={errors} idOf={(field) => CONTROL_ID[field] ?? field} />
      {revoked ? (
        <div class="flash" role="status">
          <p>
            トークン「{revoked.name}」（#{revoked.id}）を失効させました。このトークンでは API もサインインも使えません。
            <br />
            <En>The token was revoked: it no longer works for the API or sign-in.</En>
          </p>
        </div>
      ) : null}
      <p>
        トークンは作成したときに一度だけ表示されます。保存されるのはハッシュだけなので、なくしたときは失効させて作り直してください。
        <br />
        <En>A token is shown once, when made; only its hash is kept. If one is lost, revoke it and make another.</En>
      </p>

      <h2>
        一覧 <En>/ Tokens</En>
      </h2>
      <div class="table-wrap">
        <table class="tokens">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">名前</th>
              <th scope="col">役割</th>
              <th scope="col">作成</th>
              <th scope="col">最終使用</th>
              <th scope="col">状態</th>
              <th scope="col">操作</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => {
              const own = t.id === session.identity.tokenId;
              return (
                <tr>
                  <td data-label="番号">{t.id}</td>
                  <td data-label="名前">
                    {t.name}
                    {own ? (
                      <>
                        <br />
                        <span class="badge" style="background:#12355b">
                          使用中のトークン
                        </span>
                      </>
                    ) : null}
                  </td>
                  <td data-label="役割">{roleLabel(t.role)}</td>
                  <td data-label="作成">
                    <When at={t.createdAt} none="—" />
                  </td>
                  <td data-label="最終使用">
                    <When at={t.lastUsedAt} none="未使用" />
                  </td>
                  <td data-label="状態">
                    {t.revokedAt ? (
                      <>
                        <span class="status">失効</span> <When at={t.revokedAt} none="" />
                      </>
                    ) : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? (
                      <>
                        <span class="status">期限切れ</span> <When at={t.expiresAt} none="" />
                      </>
                    ) : (
                      <>
                        <span class="status">有効</span>
                        {t.expiresAt ? (
                          <>
                            {' '}
                            <span class="muted">
                              期限 <When at={t.expiresAt} none="" />
                            </span>
                          </>
                        ) : null}
                      </>
                    )}
                    {t.kind === 'oidc' ? (
                      <>
                        <br />
                        <span class="muted">自治体のアカウント</span>
                      </>
                    ) : null}
                  </td>
                  <td data-label="操作">
                    {t.revokedAt ? null : (
                      <a href={`/console/tokens/${t.id}/revoke`}>
                        失効させる<span class="visually-hidden">: {t.name}</span>
                      </a>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2 id="create">
        新しいトークン <En>/ New token</En>
      </h2>
      <form method="post" action="/console/tokens">
        <CsrfField session={session} />
        <label for="token-name">
          名前 <En>/ Name</En>
        </label>
        <input
          type="text"
          id="token-name"
          name="name"
          required
          maxlength={TOKEN_NAME_MAX}
          value={values.name ?? ''}
          autocomplete="off"
          {...fieldAria(errors.name, { error: 'token-name-error' }, 'token-name-hint')}
        />
        <p class="hint" id="token-name-hint">
          誰（どの課・どのシステム）のトークンか分かる名前。監査ログにこの名前で記録されます。{' '}
          <En>Whose token it is; the audit log records this name.</En>
        </p>
        <FieldError id="token-name-error" reasons={errors.name} />
        <label for="token-role">
          役割 <En>/ Role</En>
        </label>
        <select id="token-role" name="role" {...fieldAria(errors.role, { error: 'token-role-error' })}>
          {STAFF_ROLES.map((role) => (
            <option value={role} selected={role === selectedRole}>
              {roleLabel(role)} — {ROLE_HINT[role].ja}
            </option>
          ))}
        </select>
        <FieldError id="token-role-error" reasons={errors.role} />
        <label for="token-expires">
          有効期限（任意） <En>/ Expires (optional)</En>
        </label>
        <input
          type="date"
          id="token-expires"
          name="expiresAt"
          value={values.expiresAt ?? ''}
          {...fieldAria(errors.expiresAt, { error: 'token-expires-error' }, 'token-expires-hint')}
        />
        <p class="hint" id="token-expires-hint">
          この日の 0 時（UTC）から使えなくなります。空欄なら失効させるまで使えます。{' '}
          <En>Refused from this date (00:00 UTC); empty: until revoked.</En>
        </p>
        <FieldError id="token-expires-error" reasons={errors.expiresAt} />
        <div class="actions">
          <button type="submit">トークンを作成</button>
        </div>
      </form>
    </ConsoleLayout>
  );
};

const CreatedPage: FC<{ session: ConsoleSession; created: CreatedToken }> = ({ session, created }) => (
  <ConsoleLayout title="トークンを作成しました" session={session} section="tokens">
    <h1>
      トークンを作成しました <En>/ Token created</En>
    </h1>
    <div class="flash warn" role="alert">
      <p>
        <strong>今すぐコピーして、安全な場所に保管してください。</strong>
        このトークンはこの画面で一度だけ表示され、二度と表示できません（保存されるのはハッシュだけです）。なくしたときは失効させて作り直してください。
      </p>
      <p>
        <En>
          Copy it now and keep it safe. It is shown on this page only and never again (only its hash is kept). If it is
          lost, revoke it and make a new one.
        </En>
      </p>
    </div>
    <label for="new-token">
      トークン <En>/ Token</En>
    </label>
    <input
      type="text"
      id="new-token"
      value={created.token}
      readonly
      autocomplete="off"
      spellcheck={false}
      aria-describedby="new-token-hint"
    />
    <p class="hint" id="new-token-hint">
      欄を選んで全体をコピーしてください。 <En>Select the field and copy all of it.</En>
    </p>
    <TokenFacts token={created} />
    <p>
      <a href="/console/tokens">トークン一覧へ戻る</a> <En>Back to tokens</En>
    </p>
  </ConsoleLayout>
);

const ConfirmRevokePage: FC<{ session: ConsoleSession; token: StaffToken; missingConfirm?: boolean }> = ({
  session,
  token,
  missingConfirm,
}) => {
  const own = token.id === session.identity.tokenId;
  return (
    <ConsoleLayout title="トークンを失効させる" session={session} section="tokens">
      <h1>
        トークンを失効させる <En>/ Revoke a token</En>
      </h1>
      {missingConfirm ? (
        <div class="flash bad" role="alert">
          <p>
            <a href="#revoke-confirm">確認のチェックを入れてから、もう一度押してください。</a>{' '}
            <En>Tick the confirmation first.</En>
          </p>
        </div>
      ) : null}
      {own ? (
        <div class="flash warn" role={missingConfirm ? undefined : 'alert'}>
          <p>
            <strong>これは今サインインに使っているトークンです。</strong>
            失効させるとすぐにサインアウトされ、このトークンでは二度とサインインできません。
          </p>
          <p>
            <En>This is the token you are signed in with: revoking it signs you out at once, for good.</En>
          </p>
        </div>
      ) : null}
      <TokenFacts token={token}>
        <dt>最終使用</dt>
        <dd>
          <When at={token.lastUsedAt} none="未使用" />
        </dd>
      </TokenFacts>
      <p>
        失効させると、このトークンを使う API
        の呼び出しとサインイン中の画面はすべて使えなくなります。元に戻すことはできません。
        <br />
        <En>Every API client and console session using it stops working. This cannot be undone.</En>
      </p>
      <form method="post" action={`/console/tokens/${token.id}/revoke`}>
        <CsrfField session={session} />
        <p>
          <label for="revoke-confirm" style="display:inline-flex;gap:.5rem;align-items:center;font-weight:400">
            <input
              type="checkbox"
              id="revoke-confirm"
              name="confirm"
              value="yes"
              required
              aria-invalid={missingConfirm ? 'true' : undefined}
            />
            トークン「{token.name}」を失効させます <En>/ I want to revoke it</En>
          </label>
        </p>
        <div class="actions">
          <button type="submit" class="danger">
            失効させる
          </button>
          <a class="button secondary" href="/console/tokens">
            やめる
          </a>
        </div>
      </form>
    </ConsoleLayout>
  );
};

/** /console/tokens: admins list, create and revoke staff tokens, audited as the API does. */
export const createTokensPage: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();
  const service = ctx.tokens;
  const admin = ctx.guard('admin');

  const findToken = async (id: number) => (await service.list()).find((t) => t.id === id);

  const requireSession = (c: Context<ConsoleEnv>): ConsoleSession => {
    const session = c.get('session');
    // The guard lets no request through without one; this only narrows the type.
    if (!session) throw new Error('console guard passed without a session');
    return session;
  };

  const notLive = (id: number) =>
    new ApiError(404, 'not_found', {
      ja: `有効なトークン #${id} はありません（すでに失効しているか、番号が違います）。`,
      en: `There is no live token #${id} (already revoked, or a wrong number).`,
    });

  app.get('/console/tokens', admin, async (c) => {
    const session = requireSession(c);
    const tokens = await service.list();
    const revokedId = Number(c.req.query('revoked'));
    const revoked = tokens.find((t) => t.id === revokedId && t.revokedAt);
    return sendConsolePage(c, <ListPage session={session} tokens={tokens} revoked={revoked} />);
  });

  app.post('/console/tokens', admin, async (c) => {
    const session = requireSession(c);
    const raw = {
      name: await formField(c, 'name'),
      role: await formField(c, 'role'),
      expiresAt: await formField(c, 'expiresAt'),
    };
    try {
      const created = await service.create(session.identity, raw);
      // Answered as a page rather than a redirect, so the token is never in a URL or history.
      return sendConsolePage(c, <CreatedPage session={session} created={created} />);
    } catch (thrown) {
      const err = asApiError(thrown);
      if (!err?.fields) throw thrown;
      return sendConsolePage(
        c,
        <ListPage session={session} tokens={await service.list()} errors={err.fields} values={raw} />,
        err.status,
      );
    }
  });

  app.get('/console/tokens/:id{[0-9]{1,15}}/revoke', admin, async (c) => {
    const session = requireSession(c);
    const id = Number(c.req.param('id'));
    const token = await findToken(id);
    if (!token || token.revokedAt) throw notLive(id);
    return sendConsolePage(c, <ConfirmRevokePage session={session} token={token} />);
  });

  app.post('/console/tokens/:id{[0-9]{1,15}}/revoke', admin, async (c) => {
    const session = requireSession(c);
    const id = Number(c.req.param('id'));
    const token = await findToken(id);
    if (!token || token.revokedAt) throw notLive(id);
    if ((await formField(c, 'confirm')) !== 'yes') {
      return sendConsolePage(c, <ConfirmRevokePage session={session} token={token} missingConfirm />, 400);
    }
    await service.revoke(session.identity, id);
    if (id !== session.identity.tokenId) return c.redirect(`/console/tokens?revoked=${id}`, 303);

    // Revoking one's own token ends this session with it (sessions join the live token);
    // removing the row and the cookie as well leaves nothing behind.
    const secret = sessionSecretOf(c, ctx.session);
    if (secret) await ctx.deps.store.staffSessions.destroy(secret);
    clearSessionCookie(c, ctx.session);
    return sendConsolePage(
      c,
      <ConsoleLayout title="サインアウトしました" section="none">
        <h1>
          トークンを失効させ、サインアウトしました <En>/ Token revoked; you are signed out</En>
        </h1>
        <p role="status">
          トークン「{token.name}」（#{token.id}）は使えなくなりました。続けるには、別のトークンで
          <a href="/console/login">サインイン</a>してください。
          <br />
          <En>That token no longer works. Sign in with another token to go on.</En>
        </p>
      </ConsoleLayout>,
    );
  });

  return app;
};
