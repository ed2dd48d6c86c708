import { afterAll, afterEach, beforeAll } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { createTestDeps, type TestDeps, type TestDepsOptions } from './deps.ts';
import { seedMailSubscribers } from './seed.ts';

export interface AppSuiteOptions extends TestDepsOptions {
  /**
   * Residents subscribed by e-mail. With them the suite sends for real: workers run, mail
   * goes to a local SMTP sink (emptied after each test) and CAP to the feed.
   */
  mailTo?: string[];
}

export interface AppSuite {
  readonly deps: TestDeps;
  readonly app: ReturnType<typeof createApp>;
  /** Only with mailTo. */
  readonly sink: SmtpSink;
  /** Only with mailTo. */
  readonly workers: RunningWorkers;
}

/**
 * A describe block's own Hibiki, in-process: the real app over test deps of its own, made
 * in beforeAll and disposed of in afterAll. Call it in the describe block; read its fields
 * in tests and in hooks registered after it.
 */
export function appSuite(options: AppSuiteOptions = {}): AppSuite {
  const { mailTo, ...depsOptions } = options;
  let deps: TestDeps | undefined;
  let app: ReturnType<typeof createApp> | undefined;
  let sink: SmtpSink | undefined;
  let workers: RunningWorkers | undefined;

  beforeAll(async () => {
    if (mailTo) sink = await startSmtpSink();
    const env = sink ? { CHANNELS: 'mail,cap', SMTP_URL: sink.url, ...depsOptions.env } : depsOptions.env;
    deps = await createTestDeps({ ...depsOptions, ...(env ? { env } : {}) });
    if (mailTo) {
      workers = startWorkers(deps);
      await seedMailSubscribers(deps, mailTo);
    }
    app = createApp(deps);
  });
  afterAll(async () => {
    await workers?.close();
    await deps?.dispose();
    await sink?.close();
  });
  if (mailTo) afterEach(() => sink?.reset());

  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined)
      throw new Error(`appSuite: no ${name} (there is one from beforeAll on; sink and workers with mailTo)`);
    return value;
  };
  return {
    get deps() {
      return ready(deps, 'deps');
    },
    get app() {
      return ready(app, 'app');
    },
    get sink() {
      return ready(sink, 'sink');
    },
    get workers() {
      return ready(workers, 'workers');
    },
  };
}
