/**
 * The emulated TSC. Any thread.
 *
 * The TSC is the host clock (src/lib/host-clock.ts) scaled to a nominal frequency, constant and
 * synchronised across vCPUs (an invariant TSC), so pvclock's arithmetic is the real one.
 */
import { hostNowNs } from '../lib/host-clock.js';

/**
 * Nominal TSC frequency, 2.0 GHz: the order of the server parts whose published costs the cost
 * model uses (the KVM timer fast-path patches of 2020 measured Skylake-server VM exits). pv_time_ops.getCpuKhz reports it.
 */
export const TSC_KHZ = 2_000_000;
const TSC_PER_NS = TSC_KHZ / 1e6;

/** The host-time TSC: whole cycles since host boot. */
function hostTsc(): number {
  return Math.floor(hostNowNs() * TSC_PER_NS);
}

/** Where this thread's TSC comes from: the host clock, or (--clock virtual) its vCPU's clock. */
let tscSource: () => number = hostTsc;

/**
 * A vCPU worker in virtual time (src/hw/virtual-clock.ts): its TSC is its own clock, in whole
 * cycles since the machine started. Per thread: each worker has its own copy of this module.
 */
export function useVirtualTsc(source: () => number): void {
  tscSource = source;
}

/** The emulated TSC: whole cycles, since host boot (host time) or since the machine started (virtual time). */
export function readTsc(): number {
  return tscSource();
}
