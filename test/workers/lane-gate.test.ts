import { describe, expect, it } from 'vitest';
import { createLaneGate } from '../../workers/lane-gate.ts';

describe('lane gate: alerts overtake routine sends of their channel', () => {
  it('lets routine go at once while no alert is sending', () => {
    expect(createLaneGate().waitTurn()).toBeUndefined();
  });

  it('holds routine sends until every alert batch has ended, and lets them all go then', async () => {
    const gate = createLaneGate();
    const first = gate.alertSending();
    const second = gate.alertSending();
    const released: string[] = [];
    const waits = ['a', 'b'].map((name) => gate.waitTurn()?.then(() => released.push(name)));
    first();
    first(); // ending twice counts once
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toEqual([]);
    second();
    await Promise.all(waits);
    expect(released).toEqual(['a', 'b']);
    expect(gate.waitTurn()).toBeUndefined();
  });
});
