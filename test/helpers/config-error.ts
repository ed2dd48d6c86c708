import { ConfigError, loadConfig } from '../../src/config.ts';

/** The message with which these settings stop start-up; fails the test when they do not. */
export function configErrorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`no configuration error for ${JSON.stringify(env)}`);
}
