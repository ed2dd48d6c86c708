import { userInfo } from 'node:os';
import type { ServerType } from '@hono/node-server';
import { startWorkers } from '../workers/index.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createDeps } from './deps.ts';
import { CatalogueError } from './domain/load-catalogue.ts';
import { NoticeTemplateError } from './domain/load-notice-templates.ts';
import type { StaffRole } from './domain/staff.ts';
import { startListeners } from './listen.ts';
import { createLogger } from './logger.ts';
import { parseExpiresIn, prepareToken, unprintableName } from './services/tokens.ts';
import { createAuditRepo } from './store/audit.ts';
import { openConfiguredDb } from './store/db.ts';
import { migrate } from './store/migrations.ts';
import { createTokenRepo } from './store/tokens.ts';

const USAGE = `Usage: hibiki <command>

  serve                  the staff API, public pages and feeds
  worker                 the queue workers (dispatch and delivery; WORKER_QUEUES picks which)
  all                    both in one process (what npm start runs)
  migrate                bring the store to the newest schema
  token create --role author|approver|admin --name NAME [--expires-in 90d | --expires 2027-03-31]
                         create a staff API token (printed once, on the last line);
                         --expires-in takes hours, days or weeks (12h, 90d, 2w)
  token list             list tokens (never the tokens themselves)
  token revoke ID        revoke a token
`;

const ROLES: StaffRole[] = ['author', 'approver', 'admin'];

/**
 * How long a graceful stop may take: a delivery batch or a page of a dispatch takes
 * seconds, so this leaves room for a slow provider and still ends before the 30 s after
 * which a container orchestrator sends SIGKILL.
 */
const STOP_TIMEOUT_MS = 25_000;
/** Requests (a progress stream) still open this long after a stop begins are cut. */
const HTTP_GRACE_MS = 2_000;

/** Hides the password of a URL for start-up logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.startsWith('sqlite:') ? url : '(unparseable)';
  }
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function run(config: Config, roles: { api: boolean; worker: boolean }): Promise<number> {
  const logger = createLogger(config.logLevel);
  const deps = await createDeps(config, { logger });
  logger.info(
    {
      store: safeUrl(config.databaseUrl),
      redis: config.redisSentinel
        ? { sentinels: config.redisSentinel.sentinels, master: config.redisSentinel.name }
        : safeUrl(config.redisUrl),
      channels: deps.channels.ids(),
      roles,
      // Which queues this process takes (WORKER_QUEUES), so an operator can see every queue has a worker.
      ...(roles.worker ? { queues: config.workerQueues ?? ['dispatch', ...deps.channels.ids()] } : {}),
    },
    'hibiki starting',
  );
  const workers = roles.worker ? startWorkers(deps) : undefined;
  let servers: ServerType[] = [];
  if (roles.api) {
    try {
      // One listener, or with ADMIN_PORT a public and a staff one (src/http/listen.ts).
      servers = (await startListeners(deps, logger)).map((l) => l.server);
    } catch (err) {
      logger.error(
        { err: { message: (err as Error).message }, port: config.port, adminPort: config.admin?.port },
        'cannot listen: is the port taken, or the host not this machine’s? / 待ち受けできません (PORT, ADMIN_PORT, HOST, ADMIN_HOST を確認してください)',
      );
      await workers?.close();
      await deps.close();
      return 1;
    }
  }

  return new Promise<number>((resolve) => {
    // Called once everything Hibiki opened is closed: a handle a library left open must not
    // keep a stopped process alive (this timer itself does not).
    const exitIfStillRunning = (code: number) =>
      setTimeout(() => {
        logger.warn('still running after stopping (an open handle): exiting');
        process.exit(code);
      }, 2_000).unref();
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        // An operator who asks twice wants it gone now: what is in flight is taken up again by
        // another worker once its lock expires, as after a crash.
        logger.warn({ signal }, 'second signal: exiting now without waiting for the work in flight');
        process.exit(1);
      }
      stopping = true;
      logger.info(
        { signal, timeoutMs: STOP_TIMEOUT_MS },
        'stopping: no new jobs or requests; finishing the work in flight',
      );
      const deadline = setTimeout(() => {
        logger.error(
          { timeoutMs: STOP_TIMEOUT_MS },
          'work in flight did not finish in time: exiting anyway (another worker takes it up once its lock expires)',
        );
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      try {
        // Both at once: an open progress stream must not keep the workers taking new jobs.
        await Promise.all([...servers.map(closeServer), workers?.close()]);
        await deps.close();
      } catch (err) {
        clearTimeout(deadline);
        logger.error({ err: { message: (err as Error).message } }, 'stopping failed');
        exitIfStillRunning(1);
        resolve(1);
        return;
      }
      clearTimeout(deadline);
      logger.info('stopped');
      exitIfStillRunning(0);
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
}

/**
 * Stops accepting connections and closes idle ones at once; requests still open after
 * HTTP_GRACE_MS (a progress stream, which its page reopens on the next process) are cut.
 */
function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>((done) => {
    server.close(() => done());
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    setTimeout(() => {
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, HTTP_GRACE_MS).unref();
  });
}

/** `--expires-in 90d` or `--expires 2027-03-31` (not both): the expiry prepareToken then checks, and the flag to name. */
function expiryFlags(args: string[]): { expiresAt: Date | string | undefined; flag: string } | { error: string } {
  const expiresIn = flag(args, 'expires-in');
  const expires = flag(args, 'expires');
  if (expiresIn !== undefined && expires !== undefined) {
    return { error: '--expires-in and --expires: give one of them, not both / 期限はどちらか一方で指定してください' };
  }
  if (expiresIn !== undefined) {
    const at = parseExpiresIn(expiresIn);
    if (!at) {
      return {
        error: `--expires-in: ${JSON.stringify(expiresIn)} is not a length; give hours, days or weeks up to ten years, e.g. 12h, 90d, 2w / 期間は 12h、90d、2w のように時間・日・週で指定してください（10年まで）`,
      };
    }
    return { expiresAt: at, flag: '--expires-in' };
  }
  return { expiresAt: expires, flag: '--expires' };
}

/**
 * The audit log's actor for a change made from the command line: whoever is logged in on
 * the machine (a container may have no user name for its uid; then just `cli`).
 */
function commandLineActor(): string {
  try {
    const name = userInfo().username;
    return name ? `cli:${name}` : 'cli';
  } catch {
    return 'cli';
  }
}

async function tokenCommand(config: Config, args: string[]): Promise<number> {
  const db = openConfiguredDb(config);
  try {
    await migrate(db);
    const tokens = createTokenRepo(db);
    // Token changes from a shell are audited as those made in the console are, marked as from the command line.
    const audit = createAuditRepo(db);
    const [sub, ...rest] = args;
    if (sub === 'create') {
      const role = flag(rest, 'role') as StaffRole | undefined;
      const name = flag(rest, 'name');
      if (!role || !ROLES.includes(role)) {
        console.error(`hibiki token create: --role must be one of ${ROLES.join(', ')}`);
        return 2;
      }
      if (!name?.trim()) {
        console.error('hibiki token create: --name NAME is required (who or what uses the token)');
        return 2;
      }
      const expiry = expiryFlags(rest);
      if ('error' in expiry) {
        console.error(`hibiki token create: ${expiry.error}`);
        return 2;
      }
      const prepared = await prepareToken(tokens, { name, role, expiresAt: expiry.expiresAt });
      if ('errors' in prepared) {
        for (const [field, reasons] of Object.entries(prepared.errors)) {
          const named = field === 'expiresAt' ? expiry.flag : `--${field}`;
          for (const r of reasons) console.error(`hibiki token create: ${named}: ${r.ja} / ${r.en}`);
        }
        return 2;
      }
      const input = prepared.input;
      const created = await tokens.create(input.name, input.role, { expiresAt: input.expiresAt });
      await audit.record(commandLineActor(), 'token.create', String(created.id), {
        name: input.name,
        role: input.role,
        expiresAt: input.expiresAt?.toISOString() ?? null,
        via: 'cli',
      });
      const until = input.expiresAt ? `, expires ${input.expiresAt.toISOString()}` : '';
      console.log(`Created ${role} token #${created.id} for "${input.name}"${until}. It is shown only now:`);
      console.log(created.token);
      return 0;
    }
    if (sub === 'list') {
      const now = Date.now();
      console.log(['id', 'role    ', 'state  ', 'kind ', 'created', 'last used', 'expires', 'name'].join('  '));
      for (const t of await tokens.list()) {
        const state = t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= now ? 'expired' : 'active ';
        // A name from before names were checked may still hold a line break: print it escaped.
        const name = unprintableName(t.name) ? JSON.stringify(t.name) : t.name;
        console.log(
          [
            t.id,
            t.role.padEnd(8),
            state,
            t.kind.padEnd(5),
            t.createdAt,
            t.lastUsedAt ?? '-',
            t.expiresAt ?? 'never',
            name,
          ].join('  '),
        );
      }
      return 0;
    }
    if (sub === 'revoke') {
      const id = Number(rest[0]);
      if (!Number.isInteger(id) || id <= 0) {
        console.error('hibiki token revoke: give the token id (see hibiki token list)');
        return 2;
      }
      if (!(await tokens.revoke(id))) {
        console.error(`hibiki token revoke: no active token #${id}`);
        return 1;
      }
      await audit.record(commandLineActor(), 'token.revoke', String(id), { via: 'cli' });
      console.log(`Revoked token #${id}`);
      return 0;
    }
    console.error(USAGE);
    return 2;
  } finally {
    await db.close();
  }
}

export async function main(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = args;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hibiki: configuration error: ${err.message.replaceAll('\n', '; ')}`);
      return 1;
    }
    throw err;
  }
  try {
    return await runCommand(command, rest, config);
  } catch (err) {
    // A bad catalogue file or notice template is found when the service wires itself: one line, as for a bad setting.
    if (err instanceof CatalogueError || err instanceof NoticeTemplateError) {
      console.error(`hibiki: configuration error: ${err.message.replaceAll('\n', '; ')}`);
      return 1;
    }
    throw err;
  }
}

async function runCommand(command: string, rest: string[], config: Config): Promise<number> {
  switch (command) {
    case 'serve':
      return run(config, { api: true, worker: false });
    case 'worker':
      return run(config, { api: false, worker: true });
    case 'all':
      return run(config, { api: true, worker: true });
    case 'migrate': {
      const db = openConfiguredDb(config);
      try {
        const applied = await migrate(db);
        console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The store is up to date.');
        return 0;
      } finally {
        await db.close();
      }
    }
    case 'token':
      return tokenCommand(config, rest);
    default:
      console.error(`hibiki: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
