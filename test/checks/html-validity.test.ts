import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import type { ResidentService } from '../../src/services/residents.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { consoleClient, signedInConsole } from '../helpers/console.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { exampleCatalogue, linkIn, type ResidentApp, residentApp } from '../helpers/resident-app.ts';

/**
 * Issue 13: the Nu Html Checker (vnu-jar, as a city's engineers run it) on every console and
 * resident page, rendered as the other tests render them. One JVM run checks them all; any
 * error fails the test with the page, the line and vnu's message.
 */

const VNU_JAR = join(dirname(createRequire(import.meta.url).resolve('vnu-jar')), 'build/dist/vnu.jar');

interface VnuMessage {
  type: string;
  subType?: string;
  url?: string;
  lastLine?: number;
  message: string;
  extract?: string;
}

/** Runs vnu once over the files and returns its messages (its JSON report is on stderr). */
function vnu(files: string[]): Promise<VnuMessage[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'java',
      ['-Xss4m', '-jar', VNU_JAR, '--format', 'json', '--exit-zero-always', ...files],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (err) return reject(new Error(`vnu could not run (is java on PATH?): ${err.message}\n${stderr}`));
        try {
          resolve((JSON.parse(stderr) as { messages: VnuMessage[] }).messages);
        } catch {
          reject(new Error(`vnu printed no JSON report:\n${stderr.slice(0, 2000)}`));
        }
      },
    );
  });
}

const FORM = 'application/x-www-form-urlencoded';

describe('every console and resident page passes the Nu Html Checker', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let catalogue: Catalogue;
  let app: ResidentApp['app'];
  let residents: ResidentService;
  let dir: string;
  /** name → HTML, in the order taken. */
  const pages = new Map<string, string>();

  const post = (path: string, fields: Array<[string, string]>) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': FORM, 'sec-fetch-site': 'same-origin', 'x-forwarded-for': '198.18.0.7' },
      body: new URLSearchParams(fields).toString(),
    });
  const take = async (name: string, res: Response | Promise<Response>) => {
    const answer = await res;
    const html = await answer.text();
    if (answer.status !== 200) throw new Error(`${name} answered ${answer.status}: ${html.slice(0, 300)}`);
    expect(answer.headers.get('content-type'), name).toContain('text/html');
    pages.set(name, html);
    return html;
  };
  const formTokenIn = (html: string) => /name="form" value="([^"]+)"/.exec(html)?.[1] ?? '';

  beforeAll(async () => {
    sink = await startSmtpSink();
    deps = await createTestDeps({
      env: {
        CHANNELS: 'mail,cap,line,webpush',
        SMTP_URL: sink.url,
        LINE_CHANNEL_ACCESS_TOKEN: 'test-token',
        LINE_CHANNEL_SECRET: 'test-secret',
      },
    });
    catalogue = await exampleCatalogue(deps);
    ({ app, residents } = residentApp(deps, catalogue));
    dir = mkdtempSync(join(tmpdir(), 'hibiki-vnu-'));

    // A notice, so the lists, its detail and its public page have something to show.
    const author = await staffClient(deps, 'author');
    const id = await postNotice(author);
    // And one waiting for a second pair of eyes, so the approval panels show too.
    const pending = await postNotice(author, {
      severity: 'emergency',
      category: '避難情報',
      title: '避難指示の発令',
      requestApproval: true,
    });

    // The console, signed out and signed in as an admin (who sees every section).
    await take('console-login', consoleClient(app).get('/console/login'));
    const staff = await signedInConsole(app, deps.store.tokens, 'admin');
    for (const [name, path] of [
      ['console-notices', '/console/notices'],
      ['console-compose', '/console/notices/new'],
      ['console-notice-detail', `/console/notices/${id}`],
      ['console-notice-correct', `/console/notices/${id}/correct`],
      ['console-notice-cancel', `/console/notices/${id}/cancel`],
      ['console-pending-detail', `/console/notices/${pending}`],
      ['console-approvals', '/console/approvals'],
      ['console-audit', '/console/audit'],
      ['console-tokens', '/console/tokens'],
      [`console-token-revoke`, `/console/tokens/${staff.tokenId}/revoke`],
    ] as const)
      await take(name, staff.get(path));
    await take('console-token-created', staff.post('/console/tokens', { name: '広報課 検証', role: 'author' }));
    await take('console-signed-out', staff.post(`/console/tokens/${staff.tokenId}/revoke`, { confirm: 'yes' }));

    // The residents' pages.
    await take('public-notices', app.request('/notices'));
    await take('public-notice', app.request(`/notices/${id}`));
    await take('subscribe', app.request('/subscribe'));
    await take(
      'subscribe-sent',
      post('/subscribe', [
        ['email', 'vnu@example.jp'],
        ['topics', 'disaster'],
        ['locale', 'ja'],
      ]),
    );
    const [mail] = await sink.waitFor(1);
    const confirm = linkIn(mail?.parsed.text, 'confirm');
    const confirmPage = await take('subscribe-confirm', app.request(confirm.path));
    const done = await take('subscribe-confirmed', post(confirm.path, [['form', formTokenIn(confirmPage)]]));
    const manage = /href="https:\/\/hibiki\.example\.jp(\/manage\?t=[^"]+)"/.exec(done)?.[1]?.replaceAll('&amp;', '&');
    if (!manage) throw new Error('no manage link on the confirmation page');
    await take('manage', app.request(manage));
    await take('manage-link', app.request('/manage'));
    await take('push', app.request('/push'));
  });
  afterAll(async () => {
    residents?.close();
    await deps?.dispose();
    await sink?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds no error on any page', async () => {
    const files = [...pages].map(([name, html]) => {
      const file = join(dir, `${name}.html`);
      writeFileSync(file, html);
      return file;
    });
    const messages = await vnu(files);
    const errors = messages
      .filter((m) => m.type === 'error' || m.type === 'non-document-error')
      .map((m) => `${basename(decodeURIComponent(m.url ?? '?'))}:${m.lastLine ?? '?'}: ${m.message}`);
    expect(errors, `vnu found ${errors.length} error(s) on ${pages.size} pages:\n${errors.join('\n')}`).toEqual([]);
    expect(pages.size).toBeGreaterThanOrEqual(20);
  });
});
