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

/** The emulated TSC: whole cycles since host boot. */
export function readTsc(): number {
  return Math.floor(hostNowNs() * TSC_PER_NS);
}
