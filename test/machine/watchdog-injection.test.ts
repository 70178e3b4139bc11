import { describe, expect, it } from 'vitest';
import { ConfigError, WatchdogError } from '../../src/lib/errors.js';
import { Machine } from '../../src/machine/machine.js';
import { testConfig } from '../helpers/machine.js';
import { runReport } from '../../src/report/build.js';

describe('a target that never acknowledges', () => {
  it('ends the run with a WatchdogError naming the waiter, the target, what it was doing and its interrupts', async () => {
    const cfg = { ...testConfig('tlb_flush1', 2, { ops: 2000 }), watchdogMs: 500, inject: { noAckCpu: 1 } };
    const t0 = Date.now();
    const err = await runReport(cfg).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WatchdogError);
    const message = (err as Error).message;
    // Either wait can trip first: cpu 0 for the acknowledgement cpu 1 never sends, or cpu 1 for
    // the mmap_lock cpu 0 holds while it waits (the deadlock the injection makes). Both name the
    // waiter and what it waited for, and describe the other CPU.
    const m = /watchdog: cpu (\d) waited \d+ ms for (call-function acknowledgement from cpu 1|kernel lock at phys 0x[0-9a-f]+)/.exec(message);
    expect(m, message).not.toBeNull();
    const waiter = Number(m![1]);
    const other = 1 - waiter;
    // describeVcpu's line about the other CPU: its state, task and pending interrupts.
    expect(message).toMatch(new RegExp(`cpu ${other} is [a-z]`));
    expect(message).toMatch(/IRR \[[^\]]*\]/);
    expect(message).toMatch(/ISR \[[^\]]*\]/);
    expect(message).toContain(`(cpu ${waiter}`);
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('rejects an injection naming a vCPU the machine does not have', () => {
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), inject: { noAckCpu: 2 } })).toThrow(ConfigError);
  });
});

describe('a lost IPI (the target\'s IRR bit dropped)', () => {
  for (const backend of ['native', 'kvm']) {
    it(`ends the run on ${backend} with a WatchdogError naming the CPU that lost it`, async () => {
      const cfg = { ...testConfig('tlb_flush1', 2, { ops: 2000 }), backend, watchdogMs: 500, inject: { dropIpisCpu: 1, dropIpisAfter: 3 } };
      const err = await runReport(cfg).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WatchdogError);
      const message = (err as Error).message;
      // cpu 0 waits for the acknowledgement cpu 1 never gives (it never saw the IPI), or cpu 1
      // for the lock cpu 0 holds meanwhile; either way cpu 1 is named.
      expect(message).toMatch(/watchdog: cpu (0 waited \d+ ms for call-function acknowledgement from cpu 1|1 waited \d+ ms for kernel lock)/);
    }, 30_000);
  }

  it('rejects a loss naming a vCPU the machine does not have, or a negative count', () => {
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), inject: { dropIpisCpu: 2 } })).toThrow(/^inject\.dropIpisCpu: must be a vCPU id from 0 to 1, got 2$/);
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), inject: { dropIpisCpu: 1, dropIpisAfter: -1 } })).toThrow(/^inject\.dropIpisAfter: must be a non-negative integer, got -1$/);
  });
});

describe('a xen target that never serves its flush mailbox', () => {
  it('ends the run with a WatchdogError naming that target', async () => {
    const cfg = { ...testConfig('tlb_flush1', 2, { ops: 2000 }), backend: 'xen', watchdogMs: 500, inject: { xenIgnoreMailboxCpu: 1 } };
    const err = await runReport(cfg).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WatchdogError);
    // cpu 0 waits in the flush hypercall for cpu 1, or cpu 1 for the lock cpu 0 holds meanwhile.
    expect((err as Error).message).toMatch(/in the Xen \S+ hypercall for cpu 1 to flush its TLB|waiting for hypervisor flush acknowledgement cpu 1/);
  }, 30_000);
});
