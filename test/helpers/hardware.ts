/** A single vCPU's hardware on fresh buffers, for unit tests without threads. */
import { VcpuHardware } from '../../src/hw/cpu.js';
import { machineBlockBytes } from '../../src/hw/layout.js';
import { GuestRam } from '../../src/hw/memory.js';
import { VcpuCounters } from '../../src/stats/counters.js';

export function testHardware(cpus = 2, cpu = 0): VcpuHardware {
  return new VcpuHardware({
    cpu,
    cpus,
    ram: new GuestRam(new SharedArrayBuffer(16 * 1024 * 1024)),
    machineWords: new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus))),
    counters: new VcpuCounters(),
  });
}
