import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelId, Severity } from '../../src/domain/notice.ts';
import { createResidentSubscriptionRepo } from '../../src/store/resident-subscriptions.ts';
import { createStore, type Store } from '../../src/store/store.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { waitForDeliveries } from '../helpers/seed.ts';

/**
 * Who a notice reaches: a subscriber who chose one of its topics and one of its areas
 * (no area chosen: the whole city); an emergency reaches every active contact in its
 * areas whatever the topics. The criteria are built as workers/dispatch.ts builds them.
 */

const D1 = '432105-01';
const D2 = '432105-02';
const D3 = '432105-03';

interface Resident {
  topics: string[];
  areas: string[];
  state?: 'confirmed' | 'pending' | 'unsubscribed';
}

/** Mail residents by name; the address is <name>@example.jp. */
const MAIL: Record<string, Resident> = {
  cityDisaster: { topics: ['disaster'], areas: [] },
  d1Disaster: { topics: ['disaster'], areas: [D1] },
  d2Weather: { topics: ['weather'], areas: [D2] },
  d1d3Events: { topics: ['events', 'health'], areas: [D1, D3] },
  d2Nothing: { topics: [], areas: [D2] },
  cityNothing: { topics: [], areas: [] },
  pendingShelter: { topics: ['shelter', 'disaster'], areas: [], state: 'pending' },
  stoppedDisaster: { topics: ['disaster'], areas: [D1], state: 'unsubscribed' },
};

const EVERY_ACTIVE = ['cityDisaster', 'd1Disaster', 'd2Weather', 'd1d3Events', 'd2Nothing', 'cityNothing'];

interface Case {
  name: string;
  topics: string[];
  areas: string[];
  severity: Severity;
  mail: string[];
  /** The one LINE friend (disaster, district 2): reached or not. */
  line: boolean;
}

const CASES: Case[] = [
  {
    name: 'a topic for the whole city',
    topics: ['disaster'],
    areas: [],
    severity: 'info',
    mail: ['cityDisaster', 'd1Disaster'],
    line: true,
  },
  {
    name: 'a topic in one district, with the whole-city subscriber',
    topics: ['disaster'],
    areas: [D1],
    severity: 'warning',
    mail: ['cityDisaster', 'd1Disaster'],
    line: false,
  },
  {
    name: 'a topic in a district nobody with it chose',
    topics: ['disaster'],
    areas: [D3],
    severity: 'info',
    mail: ['cityDisaster'],
    line: false,
  },
  {
    name: 'another topic and district',
    topics: ['weather'],
    areas: [D2],
    severity: 'advisory',
    mail: ['d2Weather'],
    line: false,
  },
  {
    name: 'any of two topics in any of two districts',
    topics: ['events', 'weather'],
    areas: [D1, D3],
    severity: 'info',
    mail: ['d1d3Events'],
    line: false,
  },
  { name: 'a topic nobody chose', topics: ['childcare'], areas: [D1], severity: 'warning', mail: [], line: false },
  {
    name: 'no topics: everyone in the areas',
    topics: [],
    areas: [D2],
    severity: 'info',
    mail: ['cityDisaster', 'd2Weather', 'd2Nothing', 'cityNothing'],
    line: true,
  },
  {
    name: 'an emergency in one district reaches everyone there whatever their topics',
    topics: ['weather'],
    areas: [D2],
    severity: 'emergency',
    mail: ['cityDisaster', 'd2Weather', 'd2Nothing', 'cityNothing'],
    line: true,
  },
  {
    name: 'an emergency in district 3',
    topics: ['childcare'],
    areas: [D3],
    severity: 'emergency',
    mail: ['cityDisaster', 'd1d3Events', 'cityNothing'],
    line: false,
  },
  {
    name: 'an emergency for the whole city reaches every active contact',
    topics: ['events'],
    areas: [],
    severity: 'emergency',
    mail: EVERY_ACTIVE,
    line: true,
  },
];

describe.each(STORE_KINDS)('audience on %s', (kind) => {
  let db: TestDb;
  let store: Store;
  const nameOf = new Map<number, string>();

  beforeAll(async () => {
    db = await createTestDb(kind);
    store = createStore(db, '432105');
    const residents = createResidentSubscriptionRepo(db);
    for (const [name, r] of Object.entries(MAIL)) {
      const made = await residents.createPendingMail(`${name.toLowerCase()}@example.jp`, {
        topics: r.topics,
        areas: r.areas,
        locale: 'ja',
      });
      nameOf.set(made.contactId, name);
      if (r.state !== 'pending') await residents.activate(made.contactId);
      if (r.state === 'unsubscribed') await store.subscribers.deactivateContacts([made.contactId], 'unsubscribed');
    }
    // A LINE friend with choices of their own: they must never change who gets mail.
    const line = await store.lineContacts.follow('U-line-friend', ['disaster']);
    await store.lineContacts.setArea('U-line-friend', D2);
    nameOf.set(line.choices.contactId, 'lineFriend');
  });
  afterAll(async () => {
    await db.drop();
  });

  async function reached(channel: ChannelId, c: Case): Promise<string[]> {
    const criteria = {
      channel,
      topics: c.topics,
      areas: c.areas,
      ignoreTopics: c.severity === 'emergency',
      severity: c.severity,
    };
    const ids = await store.subscribers.audiencePage(criteria, 0, 1_000);
    expect(await store.subscribers.countAudience(criteria)).toBe(ids.length);
    return ids.map((id) => nameOf.get(id) ?? `contact ${id}`).sort();
  }

  it.each(CASES)('$name', async (c) => {
    expect(await reached('mail', c)).toEqual([...c.mail].sort());
    expect(await reached('line', c)).toEqual(c.line ? ['lineFriend'] : []);
  });
});

/** The same rules through the real API, dispatcher, deliver worker and SMTP. */
describe('audience through the pipeline', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let workers: RunningWorkers;

  beforeAll(async () => {
    sink = await startSmtpSink();
    deps = await createTestDeps({ env: { CHANNELS: 'mail', SMTP_URL: sink.url } });
    workers = startWorkers(deps);
    await deps.store.subscribers.importMail([
      { email: 'disaster@example.jp', topics: ['disaster'], areas: [], locale: 'ja' },
      { email: 'weather@example.jp', topics: ['weather'], areas: [], locale: 'ja' },
      { email: 'nothing@example.jp', topics: [], areas: [], locale: 'en' },
    ]);
  });
  afterAll(async () => {
    await workers.close();
    await deps.dispose();
    await sink.close();
  });
  afterEach(() => sink.reset());

  it('a routine notice reaches only its topic; an emergency reaches every active contact', async () => {
    const client = await staffClient(deps);
    const routine = await postNotice(client, { channels: ['mail'], topics: ['disaster'] });
    await waitForDeliveries(deps, routine, 1);
    expect(sink.envelopes.map((e) => e.rcptTo[0])).toEqual(['disaster@example.jp']);
    sink.reset();

    const emergency = await postNotice(client, {
      channels: ['mail'],
      topics: ['weather'],
      areas: ['432105'],
      severity: 'emergency',
      category: '避難情報',
      title: '【避難指示】菊池川流域',
    });
    await waitForDeliveries(deps, emergency, 3);
    expect(sink.envelopes.map((e) => e.rcptTo[0]).sort()).toEqual([
      'disaster@example.jp',
      'nothing@example.jp',
      'weather@example.jp',
    ]);
  });
});
