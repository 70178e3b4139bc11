/**
 * Conservation laws checked at the end of every run (docs/architecture.md, "Correctness"): what was sent was
 * handled, what was requested was acknowledged, and the frames the counters say are out are the
 * frames guest memory says are in use. Main thread, after every vCPU worker has stopped.
 *
 * The laws, over all vCPUs' counter snapshots:
 *   1. IPIs: sum(ipisSent) = sum(ipisHandled) + sum(ipisCoalesced). Senders count what they sent
 *      and which sends found the vector still posted (merged into that IPI); targets count
 *      what they took into their IRR (src/hw/apic.ts). A vCPU takes the interrupts still posted
 *      to it at power-off (src/vcpu/vcpu.ts), so none is legitimately in flight at the end.
 *   2. Flushes: sum(callRequestsSent) = sum(callRequestsHandled): every smp_call_function request
 *      (the native shootdown's and every backend that falls back to it) was run and acknowledged.
 *      The Xen backend's hypervisor flushes are not in this law: its mailboxes merge requests
 *      (src/hv/xen/hypervisor/remote-flush.ts), so the initiator keeps no count of requests a target could
 *      be held to; targets count what they served (flushRequestsHandled) and nothing pairs it.
 *   3. Frames: sum(framesAllocated) − sum(framesFreed) = frames in use, where "in use" comes from
 *      guest memory (the allocator's own words), not from the counters, so the two are
 *      independent witnesses; and, the machine having powered off with every task and address
 *      space gone, in use = the frames the kernel keeps (the zero page, and the pages of files
 *      left in the in-memory file system, counted from its shmem objects).
 *   4. The backend's own (Backend.audit), e.g. Xen's: pins − unpins = frames still pinned, which
 *      is swapper_pg_dir alone; every request posted to a flush mailbox was served.
 *
 * `checkConservation` is a pure function of the snapshots and the guest-memory figures.
 */
import type { HypervisorLaw } from '../hv/backend.js';
import type { CounterSnapshot } from '../stats/counters.js';
import type { KernelLayout } from '../kernel/layout.js';
import { KGLOBALS } from '../kernel/layout.js';
import { shmemHeldFrames } from '../kernel/shmem.js';

/** What guest memory says about the frame allocator at the end of a run. */
export interface GuestFrameFigures {
  /** Allocatable frames the allocator manages (KGLOBALS.managedFrames; the zero page is not among them). */
  managedFrames: number;
  /** Frames on the free stack (KGLOBALS.freeCount). */
  freeFrames: number;
  /**
   * Frames the kernel took from the allocator for good, outside managedFrames: the zero page,
   * allocated in FrameAllocator.bootInit before managedFrames is recorded.
   */
  keptFrames: number;
  /**
   * Managed frames still holding files left in the in-memory file system at power-off (data and
   * page-index frames of its shmem objects): in use, and rightly so.
   */
  tmpfsFrames: number;
}

export interface ConservationReport {
  ipis: { sent: number; handled: number; coalesced: number; ok: boolean };
  /** smp_call_function requests queued and run-and-acknowledged. */
  flushes: { requests: number; acks: number; ok: boolean };
  /**
   * inUse = managed + the zero page − free, from guest memory; kept = what the kernel rightly
   * holds at power-off: the zero page and the files left in the file system.
   */
  frames: { allocated: number; freed: number; inUse: number; kept: number; ok: boolean };
  /** The backend's own laws (Backend.audit): Xen's pins and flush mailboxes. */
  hypervisor: HypervisorLaw[];
  ok: boolean;
}

/** The frames the kernel keeps for good: the zero page (src/kernel/frames.ts bootInit). */
export const KERNEL_KEPT_FRAMES = 1;

/** Read the allocator's words from guest RAM. Main thread, after every vCPU has stopped. */
export function readGuestFrames(i32: Int32Array, layout: KernelLayout): GuestFrameFigures {
  // ORDERING: the workers are finished (their piscina tasks settled, a message after their last
  // store); the loads pair with the allocator's last spinUnlock on whichever vCPU freed last.
  const tmpfsFrames = shmemHeldFrames(i32, layout);
  return {
    managedFrames: Atomics.load(i32, layout.kglobals + KGLOBALS.managedFrames),
    freeFrames: Atomics.load(i32, layout.kglobals + KGLOBALS.freeCount),
    keptFrames: KERNEL_KEPT_FRAMES,
    tmpfsFrames,
  };
}

function sum(perCpu: readonly { counters: CounterSnapshot }[], key: keyof CounterSnapshot): number {
  return perCpu.reduce((n, s) => n + s.counters[key], 0);
}

/** The verdict on every law; `ok` only when all hold. */
export function checkConservation(
  perCpu: readonly { counters: CounterSnapshot }[],
  frames: GuestFrameFigures,
  hypervisor: HypervisorLaw[] = [],
): ConservationReport {
  const sent = sum(perCpu, 'ipisSent');
  const handled = sum(perCpu, 'ipisHandled');
  const coalesced = sum(perCpu, 'ipisCoalesced');
  const requests = sum(perCpu, 'callRequestsSent');
  const acks = sum(perCpu, 'callRequestsHandled');
  const allocated = sum(perCpu, 'framesAllocated');
  const freed = sum(perCpu, 'framesFreed');
  const inUse = frames.managedFrames + frames.keptFrames - frames.freeFrames;
  const ipis = { sent, handled, coalesced, ok: sent === handled + coalesced };
  const flushes = { requests, acks, ok: requests === acks };
  const kept = frames.keptFrames + frames.tmpfsFrames;
  const frameLaw = { allocated, freed, inUse, kept, ok: allocated - freed === inUse && inUse === kept };
  const hvOk = hypervisor.every((l) => l.ok);
  return { ipis, flushes, frames: frameLaw, hypervisor, ok: ipis.ok && flushes.ok && frameLaw.ok && hvOk };
}

/** Each violated law, with its numbers (empty when all hold). */
export function conservationViolations(r: ConservationReport): string[] {
  const out: string[] = [];
  if (!r.ipis.ok) out.push(`IPIs sent ${r.ipis.sent} != handled ${r.ipis.handled} + coalesced ${r.ipis.coalesced}`);
  if (!r.flushes.ok) out.push(`call/flush requests ${r.flushes.requests} != acknowledged ${r.flushes.acks}`);
  const f = r.frames;
  if (f.allocated - f.freed !== f.inUse) {
    out.push(`frames allocated ${f.allocated} - freed ${f.freed} = ${f.allocated - f.freed} != ${f.inUse} in use in guest memory`);
  }
  if (f.inUse !== f.kept) out.push(`frames in use after power-off ${f.inUse} != ${f.kept} kept by the kernel (leak)`);
  for (const l of r.hypervisor) if (!l.ok) out.push(l.text);
  return out;
}

/** One line for the report table: OK with the figures, or each violation. */
export function conservationText(r: ConservationReport): string {
  if (!r.ok) return `VIOLATED: ${conservationViolations(r).join('; ')}`;
  return `OK: IPIs ${r.ipis.sent} = ${r.ipis.handled} + ${r.ipis.coalesced} coalesced, call requests ${r.flushes.requests} = ${r.flushes.acks}, ` +
    `frames ${r.frames.allocated} - ${r.frames.freed} = ${r.frames.inUse} in use (${r.frames.kept} kept)` +
    r.hypervisor.map((l) => `, ${l.text}`).join('');
}
