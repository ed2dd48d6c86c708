import { serve } from '@hono/node-server';
import { startWorkers } from '../workers/index.ts';
import { createApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createDeps } from './deps.ts';
import { CatalogueError } from './domain/load-catalogue.ts';
import { NoticeTemplateError } from './domain/load-notice-templates.ts';
import { createLogger } from './logger.ts';
import { openConfiguredDb } from './store/db.ts';
import { migrate } from './store/migrations.ts';
import type { StaffRole } from './store/schema.ts';
import { createTokenRepo } from './store/tokens.ts';

const USAGE = `Usage: hibiki <command>

  serve                  the staff API, public pages and feeds
  worker                 the queue workers (dispatch and delivery)
  all                    both in one process (what npm start runs)
  migrate                bring the store to the newest schema
  token create --role author|approver|admin --name NAME
                         create a staff API token (printed once, on the last line)
  token list             list tokens (never the tokens themselves)
  token revoke ID        revoke a token
`;

const ROLES: StaffRole[] = ['author', 'approver', 'admin'];

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
    { store: safeUrl(config.databaseUrl), redis: safeUrl(config.redisUrl), channels: deps.channels.ids(), roles },
    'hibiki starting',
  );
  const workers = roles.worker ? startWorkers(deps) : undefined;
  const server = roles.api
    ? serve({ fetch: createApp(deps).fetch, port: config.port, hostname: config.host }, (info) =>
        logger.info({ url: `http://${config.host}:${info.port}`, public: config.publicBaseUrl }, 'API listening'),
      )
    : undefined;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: finishing the work in flight');
      // Stop accepting requests first, then let workers finish their current jobs.
      await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
      await workers?.close();
      await deps.close();
      logger.info('stopped');
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

async function tokenCommand(config: Config, args: string[]): Promise<number> {
  const db = openConfiguredDb(config);
  try {
    await migrate(db);
    const tokens = createTokenRepo(db);
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
      const created = await tokens.create(name.trim(), role);
      console.log(`Created ${role} token #${created.id} for "${name.trim()}". It is shown only now:`);
      console.log(created.token);
      return 0;
    }
    if (sub === 'list') {
      for (const t of await tokens.list()) {
        console.log(
          [t.id, t.role.padEnd(8), t.revokedAt ? 'revoked' : 'active ', t.createdAt, t.lastUsedAt ?? '-', t.name].join(
            '  ',
          ),
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
