import { randomBytes } from 'node:crypto';
import type { Db } from './db.ts';

export type SettingsRepo = ReturnType<typeof createSettingsRepo>;

/** Small durable values Hibiki makes for itself (a signing secret, later VAPID keys). */
export function createSettingsRepo(db: Db) {
  const k = db.kysely;
  return {
    async get(key: string): Promise<string | undefined> {
      const row = await k.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value;
    },

    /**
     * Returns the stored value, or stores make()'s. Safe when several processes start at
     * once: the first insert wins and everyone reads it back.
     */
    async getOrCreate(key: string, make: () => string): Promise<string> {
      await k
        .insertInto('settings')
        .values({ key, value: make() })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const value = await this.get(key);
      if (value === undefined) throw new Error(`setting ${key} could not be stored`);
      return value;
    },
  };
}

export const makeSecret = (): string => randomBytes(32).toString('base64url');
