import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandLineSuite } from './helpers/command-line.ts';
import { type HibikiProcess, startHibiki } from './helpers/process.ts';
import { waitUntil } from './helpers/wait.ts';

/** The `hibiki` command as people run it: its own process, started from another directory. */
describe('the hibiki command', () => {
  const cli = commandLineSuite('hibiki-cli');
  const { run } = cli;

  it('migrates, then finds nothing more to do', async () => {
    expect(await run(['migrate'])).toMatchObject({ code: 0, output: expect.stringContaining('Applied: 0001_initial') });
    expect(await run(['migrate'])).toMatchObject({ code: 0, output: expect.stringContaining('up to date') });
  });

  it('creates a token and prints it alone on the last line, lists and revokes it', async () => {
    const created = await run(['token', 'create', '--role', 'approver', '--name', '防災課 山田']);
    expect(created.code).toBe(0);
    const token = created.output.trim().split('\n').at(-1) ?? '';
    expect(token).toMatch(/^hbk_[A-Za-z0-9_-]{43}$/);
    const listed = await run(['token', 'list']);
    expect(listed.output).toContain('防災課 山田');
    expect(listed.output).not.toContain(token);
    expect((await run(['token', 'revoke', '1'])).code).toBe(0);
    expect(await run(['token', 'revoke', '1'])).toMatchObject({
      code: 1,
      output: expect.stringContaining('no active token #1'),
    });
    expect((await run(['token', 'create', '--role', 'boss', '--name', 'x'])).code).toBe(2);
  }, 90_000);

  it('stops on a bad setting with one line naming the variable', async () => {
    const p = startHibiki('serve', { ...cli.env, CITY_CODE: '432106' }, { cwd: cli.dir });
    expect(await p.exited).toBe(1);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hibiki: configuration error: CITY_CODE: .*check digit/);
  });

  it('stops on a broken notice template with one line naming the file and the setting', async () => {
    const templates = join(cli.dir, 'templates');
    mkdirSync(templates);
    writeFileSync(join(templates, 'broken.json'), '{ "id": "broken", ');
    const p = startHibiki('serve', { ...cli.env, NOTICE_TEMPLATES_DIR: templates }, { cwd: cli.dir });
    expect(await p.exited).toBe(1);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hibiki: configuration error: .*NOTICE_TEMPLATES_DIR.*broken\.json/);
  });

  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });

  it('serves pages rendered with hono/jsx and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const server: HibikiProcess = startHibiki(
      'all',
      { ...cli.env, PORT: String(port), HOST: '127.0.0.1' },
      { cwd: cli.dir },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('the API', async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, 20_000, 100);
      const page = await fetch(`${base}/notices/n0unknown`);
      expect(page.status).toBe(404);
      expect(await page.text()).toContain('<html lang="ja"');
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('with ADMIN_PORT serves staff and residents on two ports, and closes both on SIGTERM', async () => {
    const port = await freePort();
    const adminPort = await freePort();
    const server: HibikiProcess = startHibiki(
      'serve',
      { ...cli.env, PORT: String(port), HOST: '127.0.0.1', ADMIN_PORT: String(adminPort) },
      { cwd: cli.dir },
    );
    try {
      const pub = `http://127.0.0.1:${port}`;
      const admin = `http://127.0.0.1:${adminPort}`;
      await waitUntil(
        'the admin listener',
        async () => (await fetch(`${admin}/healthz`).catch(() => null))?.ok,
        20_000,
        100,
      );
      expect((await fetch(`${pub}/healthz`)).status).toBe(200);
      expect((await fetch(`${pub}/metrics`)).status).toBe(404);
      expect((await fetch(`${admin}/metrics`)).status).toBe(200);
      expect((await fetch(`${admin}/console/login`)).status).toBe(200);
      expect((await fetch(`${pub}/console/login`)).status).toBe(404);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
