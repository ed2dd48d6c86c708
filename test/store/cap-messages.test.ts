import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapIdentifierConflictError, type CapMsgType } from '../../src/domain/cap-archive.ts';
import { type CapMessageRepo, createCapMessageRepo } from '../../src/store/cap-messages.ts';
import { insertNoticeRow } from '../helpers/cap-notice.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

const T0 = new Date('2026-11-26T10:00:00.000Z');
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

describe.each(STORE_KINDS)('cap messages repository on %s', (kind) => {
  let db: TestDb;
  let clock = at(0);
  let repo: CapMessageRepo;

  beforeAll(async () => {
    db = await createTestDb(kind);
    repo = createCapMessageRepo(db, { clock: () => clock });
  });
  afterAll(async () => {
    await db?.drop();
  });

  let seq = 0;
  /** Archives a message at clock time `archivedAt` (minutes after T0). */
  async function put(
    noticeId: string,
    revision: number,
    msgType: CapMsgType,
    sentMinutes: number,
    expiresMinutes: number | null,
    archivedAt = sentMinutes,
  ) {
    clock = at(archivedAt);
    const identifier = `jp-432105-hibiki-${noticeId}-r${revision}`;
    seq++;
    await repo.put({
      identifier,
      noticeId,
      revision,
      msgType,
      sentAt: at(sentMinutes),
      expiresAt: expiresMinutes === null ? null : at(expiresMinutes),
      xml: `<alert n="${seq}">${identifier}</alert>`,
    });
    return identifier;
  }

  describe('put and get', () => {
    beforeAll(async () => {
      await insertNoticeRow(db, 'n0get');
    });

    it('stores a message and reads it back', async () => {
      const id = await put('n0get', 1, 'Alert', 0, 60);
      const record = await repo.get(id);
      expect(record).toEqual({
        identifier: id,
        noticeId: 'n0get',
        revision: 1,
        msgType: 'Alert',
        sentAt: at(0),
        expiresAt: at(60),
        xml: expect.stringContaining(id),
        createdAt: at(0),
      });
    });

    it('keeps null expiry', async () => {
      const id = await put('n0get', 2, 'Update', 5, null);
      expect((await repo.get(id))?.expiresAt).toBeNull();
    });

    it('returns null for an unknown identifier', async () => {
      expect(await repo.get('no-such-identifier')).toBeNull();
    });

    it('is immutable: a second put of the same identifier changes nothing and does not fail', async () => {
      const id = 'jp-432105-hibiki-n0get-r3';
      clock = at(10);
      const first = {
        identifier: id,
        noticeId: 'n0get',
        revision: 3,
        msgType: 'Update' as const,
        sentAt: at(10),
        expiresAt: null,
        xml: '<first/>',
      };
      await repo.put(first);
      clock = at(20);
      await repo.put({ ...first, xml: '<second/>', sentAt: at(20) });
      const stored = await repo.get(id);
      expect(stored?.xml).toBe('<first/>');
      expect(stored?.sentAt).toEqual(at(10));
      expect(stored?.createdAt).toEqual(at(10));
    });

    it('refuses an identifier already used by another revision', async () => {
      const id = 'jp-432105-hibiki-n0get-r1';
      const error = await repo
        .put({
          identifier: id,
          noticeId: 'n0get',
          revision: 7,
          msgType: 'Update',
          sentAt: at(1),
          expiresAt: null,
          xml: '<x/>',
        })
        .catch((e) => e);
      expect(error).toBeInstanceOf(CapIdentifierConflictError);
      expect(String(error.message)).toContain('n0get revision 1');
    });
  });

  describe('the active feed', () => {
    beforeAll(async () => {
      // One database per store kind: PostgreSQL test schemas cannot be made side by side
      // (see the report), so the put/get rows above are cleared instead.
      await db.kysely.deleteFrom('cap_messages').execute();
      for (const id of ['n0a', 'n0b', 'n0c', 'n0d', 'n0e']) await insertNoticeRow(db, id);
      const p = (noticeId: string, revision: number, msgType: CapMsgType, sent: number, expires: number | null) => {
        clock = at(sent);
        return repo.put({
          identifier: `jp-432105-hibiki-${noticeId}-r${revision}`,
          noticeId,
          revision,
          msgType,
          sentAt: at(sent),
          expiresAt: expires === null ? null : at(expires),
          xml: `<alert>${noticeId}-${revision}</alert>`,
        });
      };
      await p('n0a', 1, 'Alert', 0, 120); // superseded by r2
      await p('n0a', 2, 'Update', 30, 120);
      await p('n0b', 1, 'Alert', 10, 60); // expires at 60
      await p('n0c', 1, 'Alert', 20, null); // never expires
      await p('n0d', 1, 'Alert', 5, 300);
      await p('n0d', 2, 'Cancel', 40, 90); // cancelled: the Cancel stays until 90
      await p('n0e', 1, 'Alert', 15, 300);
      await p('n0e', 2, 'Update', 45, 50); // latest revision expires early: the notice leaves at 50
    });

    const ids = async (minutes: number) => (await repo.listActive(at(minutes))).map((r) => r.identifier);

    it('lists the latest message of each unexpired notice, newest sent first', async () => {
      expect(await ids(46)).toEqual([
        'jp-432105-hibiki-n0e-r2',
        'jp-432105-hibiki-n0d-r2',
        'jp-432105-hibiki-n0a-r2',
        'jp-432105-hibiki-n0c-r1',
        'jp-432105-hibiki-n0b-r1',
      ]);
      const records = await repo.listActive(at(46));
      expect(records[1]).toMatchObject({ msgType: 'Cancel', xml: '<alert>n0d-2</alert>' });
    });

    it('drops a notice once its latest message expires, even when an earlier one has not', async () => {
      expect(await ids(50)).not.toContain('jp-432105-hibiki-n0e-r2');
      expect(await ids(50)).not.toContain('jp-432105-hibiki-n0e-r1');
    });

    it('drops expired messages and keeps a Cancel until its own expiry', async () => {
      expect(await ids(59)).toContain('jp-432105-hibiki-n0b-r1');
      expect(await ids(60)).not.toContain('jp-432105-hibiki-n0b-r1');
      expect(await ids(89)).toContain('jp-432105-hibiki-n0d-r2');
      expect(await ids(90)).toEqual(['jp-432105-hibiki-n0a-r2', 'jp-432105-hibiki-n0c-r1']);
      expect(await ids(10_000)).toEqual(['jp-432105-hibiki-n0c-r1']);
    });

    it('lists the same identifiers without the XML', async () => {
      for (const minutes of [46, 55, 89, 200]) {
        expect(await repo.listActiveIdentifiers(at(minutes))).toEqual(await ids(minutes));
      }
      expect(await repo.listActiveIdentifiers(at(46), 2)).toEqual((await ids(46)).slice(0, 2));
    });

    it('knows when the feed last changed: the last archiving or the last expiry passed', async () => {
      expect(await repo.lastModified(at(46))).toEqual(at(45)); // n0e r2 archived
      expect(await repo.lastModified(at(55))).toEqual(at(50)); // n0e r2 expired
      expect(await repo.lastModified(at(70))).toEqual(at(60)); // n0b expired
      expect(await repo.lastModified(at(100))).toEqual(at(90)); // n0d's Cancel expired
      expect(await repo.lastModified(at(100_000))).toEqual(at(300));
    });

    it('moves lastModified forward when a message is archived', async () => {
      const before = await repo.lastModified(at(100));
      await insertNoticeRow(db, 'n0f');
      clock = at(101);
      await repo.put({
        identifier: 'jp-432105-hibiki-n0f-r1',
        noticeId: 'n0f',
        revision: 1,
        msgType: 'Alert',
        sentAt: at(101),
        expiresAt: null,
        xml: '<alert/>',
      });
      const after = await repo.lastModified(at(102));
      expect(after).toEqual(at(101));
      expect(after?.getTime()).toBeGreaterThan(before?.getTime() ?? 0);
    });
  });

  it('has no lastModified and an empty feed when nothing is archived', async () => {
    await db.kysely.deleteFrom('cap_messages').execute();
    expect(await repo.lastModified(new Date())).toBeNull();
    expect(await repo.listActive(new Date())).toEqual([]);
    expect(await repo.listActiveIdentifiers(new Date())).toEqual([]);
  });
});
