import { describe, expect, it } from 'vitest';
import { MachineWatchdog } from '../../src/machine/watchdog.js';
import { MACHINE_CTL, RunState, VCPU_BLOCK, machineBlockBytes, vcpuBase } from '../../src/hw/layout.js';
import { WatchdogError } from '../../src/lib/errors.js';
import { testWaitPolicy } from '../helpers/hardware.js';

describe('main-thread watchdog', () => {
  it('names the vCPU whose heartbeat stopped, aborts the machine, and leaves live vCPUs alone', async () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
    Atomics.store(words, MACHINE_CTL.runState, RunState.Running);
    const dog = new MachineWatchdog(words, 2, testWaitPolicy(100));
    // cpu 0 keeps beating; cpu 1 never does.
    const beat = setInterval(() => Atomics.add(words, vcpuBase(0) + VCPU_BLOCK.heartbeat, 1), 10);
    dog.start();
    try {
      const err = await dog.tripped.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WatchdogError);
      expect((err as Error).message).toMatch(/cpu 1 made no progress/);
      expect((err as Error).message).toMatch(/\(twice --watchdog-ms 100\)$/);
      expect(Atomics.load(words, MACHINE_CTL.runState)).toBe(RunState.Aborted);
    } finally {
      clearInterval(beat);
      dog.stop();
    }
  });
});
