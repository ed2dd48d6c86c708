import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { configErrorOf } from '../helpers/config-error.ts';

/** WORKER_QUEUES: which queues a `hibiki worker` process takes jobs from. */
describe('WORKER_QUEUES', () => {
  const error = configErrorOf;

  it('defaults to every queue: unset or empty names none, so the worker takes them all', () => {
    expect(loadConfig({}).workerQueues).toBeUndefined();
    expect(loadConfig({ CHANNELS: 'mail,webhook', WORKER_QUEUES: '' }).workerQueues).toBeUndefined();
  });

  it('takes a comma-separated list, trimmed, each queue once', () => {
    expect(loadConfig({ WORKER_QUEUES: 'dispatch,mail' }).workerQueues).toEqual(['dispatch', 'mail']);
    expect(loadConfig({ WORKER_QUEUES: ' cap , mail,cap ' }).workerQueues).toEqual(['cap', 'mail']);
    expect(loadConfig({ WORKER_QUEUES: 'dispatch' }).workerQueues).toEqual(['dispatch']);
  });

  it('refuses a name that is not a queue, naming the setting, the name and the valid values', () => {
    const message = error({ WORKER_QUEUES: 'mail,deliver-mail' });
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^WORKER_QUEUES: deliver-mail: not a queue/);
    expect(message).toContain('dispatch, mail, cap, x, line, webhook, webpush');
  });

  it('refuses a list with no queue in it', () => {
    expect(error({ WORKER_QUEUES: ' , ' })).toMatch(/^WORKER_QUEUES: name at least one of dispatch, mail/);
  });

  it('refuses a channel that CHANNELS does not enable, since no job would ever come to its queue', () => {
    const message = error({ CHANNELS: 'mail,cap', WORKER_QUEUES: 'dispatch,line' });
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^WORKER_QUEUES: line: not in CHANNELS \(mail,cap\)/);
  });
});
