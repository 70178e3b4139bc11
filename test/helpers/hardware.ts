/** A single vCPU's hardware on fresh buffers, for unit tests without threads. */
import { VcpuHardware } from '../../src/hw/cpu.js';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { GuestRam } from '../../src/hw/memory.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { waitPolicy, type WaitPolicy } from '../../src/hw/wait.js';
import { unlentGuestServices, type GuestServices } from '../../src/pv/ops.js';

export function testHardware(cpus = 2, cpu = 0): VcpuHardware {
  return new VcpuHardware({
    cpu,
    cpus,
    ram: new GuestRam(new SharedArrayBuffer(16 * 1024 * 1024)),
    machineWords: new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus))),
    counters: new VcpuCounters(),
  });
}

/** A wait policy for unit tests: a core per vCPU, and a watchdog far beyond any test's wait. */
export function testWaitPolicy(watchdogMs = 10_000, overcommitted = false): WaitPolicy {
  return waitPolicy({ cpus: 2, pcpus: overcommitted ? 1 : 2, hostCpus: 2, watchdogMs });
}

/** What a kernel lends a backend, for backend tests without a kernel: `over` plus throwing stubs. */
export function testGuest(over: Partial<GuestServices> = {}): GuestServices {
  return { ...unlentGuestServices(), ...over };
}
