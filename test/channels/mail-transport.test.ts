import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailTransport, MailTransportSettingsError, OUTBOX_CODE } from '../../channels/mail/transport.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';

const mail = (to: string) => ({
  from: 'noreply@city.example.jp',
  to: { name: '', address: to },
  subject: '件名',
  text: '本文',
  messageId: `<m-${to}>`,
});

describe('mail transport', () => {
  let sink: SmtpSink;
  let dir: string;
  const dirs: string[] = [];
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  beforeEach(async () => {
    sink.reset();
    dir = await mkdtemp(join(tmpdir(), 'hibiki-transport-'));
    dirs.push(dir);
  });
  afterAll(async () => {
    await sink.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('hands mail to the SMTP relay, alone or over a pool, naming the relay by host and port only', async () => {
    const transport = createMailTransport({ smtpUrl: sink.url });
    expect(transport).toMatchObject({ smtp: true, target: `127.0.0.1:${sink.port}` });
    const pool = transport.pooled(2);
    try {
      expect(await transport.deliver(mail('a@example.jp'), 'unused')).toBe('<m-a@example.jp>');
      await Promise.all(['b', 'c', 'd'].map((n) => pool.deliver(mail(`${n}@example.jp`), 'unused')));
      await transport.check();
    } finally {
      pool.close();
      transport.close();
    }
    const messages = await sink.waitFor(4);
    expect(messages.flatMap((m) => m.envelope.rcptTo)).toHaveLength(4);
  });

  it('writes each mail to the outbox as <stem>.eml, creating the directory, and pools nothing', async () => {
    const outboxDir = join(dir, 'nested', 'outbox');
    const transport = createMailTransport({ outboxDir });
    expect(transport).toMatchObject({ smtp: false, target: `outbox ${outboxDir}` });
    expect(transport.pooled(4)).toBe(transport);
    await transport.deliver(mail('a@example.jp'), 'one');
    expect(await readdir(outboxDir)).toEqual(['one.eml']);
    expect(await readFile(join(outboxDir, 'one.eml'), 'utf8')).toMatch(/^Message-ID: <m-a@example.jp>\r$/m);
  });

  it('fails an outbox write with EOUTBOX, keeping the file system’s code', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const transport = createMailTransport({ outboxDir: join(file, 'outbox') });
    await expect(transport.deliver(mail('a@example.jp'), 'x')).rejects.toMatchObject({
      code: OUTBOX_CODE,
      originalCode: expect.stringMatching(/^E/),
    });
    await expect(transport.check()).rejects.toThrow();
  });

  it('refuses settings that name no place to send to, never echoing the URL', () => {
    const problem = (options: Parameters<typeof createMailTransport>[0]) => {
      try {
        createMailTransport(options);
      } catch (err) {
        expect(err).toBeInstanceOf(MailTransportSettingsError);
        expect((err as Error).message).not.toContain('secret');
        return (err as MailTransportSettingsError).problem;
      }
      return undefined;
    };
    expect(problem({})).toBe('nowhere');
    expect(problem({ smtpUrl: 'smtp://user:secret@' })).toBe('invalid-url');
    expect(problem({ smtpUrl: 'https://user:secret@relay.example' })).toBe('not-smtp');
  });
});
