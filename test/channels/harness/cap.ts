import { createCapChannel } from '../../../channels/cap/cap-channel.ts';
import { createCapMessageRepo } from '../../../src/store/cap-messages.ts';
import { CAP_TEST_OPTIONS, insertNoticeRow } from '../../helpers/cap-notice.ts';
import { createTestDb } from '../../helpers/db.ts';
import type { ChannelHarness } from './types.ts';

export const capHarness: ChannelHarness = {
  id: 'cap',
  async setUp() {
    const db = await createTestDb('sqlite');
    const repo = createCapMessageRepo(db);
    const channel = createCapChannel(CAP_TEST_OPTIONS, { archive: repo });
    const prepared = new Set<string>();
    return {
      channel,
      recipients: () => [{ deliveryId: 1, contactId: null, address: '*', locale: 'ja' as const }],
      async prepare(notice) {
        if (prepared.has(notice.id)) return;
        prepared.add(notice.id);
        await insertNoticeRow(db, notice.id);
      },
      async delivered() {
        const row = await db.kysely
          .selectFrom('cap_messages')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        return Number(row.n);
      },
      async tearDown() {
        await db.drop();
      },
    };
  },
};
