import { describe, expect, it } from 'vitest';
import { ConfigError, WatchdogError } from '../../src/errors.js';
import { Machine } from '../../src/machine/machine.js';
import { testConfig } from '../helpers/machine.js';

describe('a target that never acknowledges', () => {
  it('ends the run with a WatchdogError naming the waiter, the target, what it was doing and its interrupts', async () => {
    const cfg = { ...testConfig('tlb_flush1', 2, { ops: 2000 }), watchdogMs: 500, inject: { noAckCpu: 1 } };
    const t0 = Date.now();
    const err = await new Machine(cfg).run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WatchdogError);
    const message = (err as Error).message;
    expect(message).toMatch(/watchdog: cpu 0 waited \d+ ms for call-function acknowledgement from cpu 1/);
    // describeVcpu's line about the target: its state, task and pending interrupts.
    expect(message).toMatch(/cpu 1 is [a-z]/);
    expect(message).toMatch(/IRR \[[^\]]*\]/);
    expect(message).toMatch(/ISR \[[^\]]*\]/);
    expect(message).toContain('(cpu 0');
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('rejects an injection naming a vCPU the machine does not have', () => {
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), inject: { noAckCpu: 2 } })).toThrow(ConfigError);
  });
});
