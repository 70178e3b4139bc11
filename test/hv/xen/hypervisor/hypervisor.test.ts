/**
 * The Xen hypercall API on its own, one thread: what validation refuses (each refusal returns a
 * negative errno, is counted, and leaves every frame-table word and the target entry as they
 * were), what it accepts, and how pinning moves the type counts.
 */
import { describe, expect, it } from 'vitest';
import { PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_RW, makeLargePde } from '../../../../src/hw/paging.js';
import type { Pfn } from '../../../../src/hw/types.js';
import { CpuMask } from '../../../../src/pv/cpumask.js';
import {
  EVTCHNOP_send, MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD, MMUEXT_INVLPG_MULTI,
  MMUEXT_NEW_BASEPTR, MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE, MMUEXT_TLB_FLUSH_LOCAL,
  MMUEXT_UNPIN_TABLE, UVMF_INVLPG, UVMF_NONE, XEN_EBUSY, XEN_EINVAL, XEN_ENOSYS, XEN_EPERM, __HYPERVISOR_mmu_update,
  __HYPERVISOR_mmuext_op, newMulticallEntry, type MmuextOp,
} from '../../../../src/hv/xen/abi.js';
import { MachineAbortedError, WatchdogError } from '../../../../src/lib/errors.js';
import { HvLock } from '../../../../src/hv/hv-lock.js';
import { XenHypervisor, ipiPort } from '../../../../src/hv/xen/hypervisor/hypervisor.js';
import { PGT_l1_page_table, PGT_l2_page_table, PGT_none, PGT_writable_page, XEN_CTL, XEN_RESERVED_FRAMES } from '../../../../src/hv/xen/hypervisor/layout.js';
import { MACHINE_CTL, RunState } from '../../../../src/hw/layout.js';
import {
  RAM_BYTES, USER_RO, USER_RW, frameState, hypervisorOf, peek, poke, pte, snapshot, xenMachine, type XenTestMachine,
} from '../fixture.js';
import { testWaitPolicy } from '../../../helpers/hardware.js';
import { VcpuWait } from '../../../../src/hw/wait.js';

/** The page directory, its one user page table (PDE 16), a writable and a read-only data frame. */
const P = 100;
const T = 101;
const D = 200;
const R = 201;
const USABLE = RAM_BYTES / 4096 - XEN_RESERVED_FRAMES;

function op(cmd: number, mfn: number, linearAddr = 0, vcpumask: CpuMask | null = null): MmuextOp {
  return { cmd, mfn, linearAddr, vcpumask };
}

interface Pinned {
  m: XenTestMachine;
  hv: XenHypervisor;
  hv1: XenHypervisor;
}

/** P -> T -> {D writable, R read-only}, plus a 4 MiB kernel direct-map entry; T and P pinned. */
function pinnedSpace(): Pinned {
  const m = xenMachine(2);
  const hv = hypervisorOf(m, 0);
  const hv1 = hypervisorOf(m, 1);
  poke(m, P, 16, pte(T, USER_RW));
  poke(m, P, 768, makeLargePde(0 as Pfn, PTE_P | PTE_RW | PTE_G));
  // The last 4 MiB page starts at an owned frame and covers the reserved ones (the direct map).
  poke(m, P, 768 + 3, makeLargePde(3072 as Pfn, PTE_P | PTE_RW | PTE_G));
  poke(m, T, 0, pte(D, USER_RW));
  poke(m, T, 1, pte(R, USER_RO));
  expect(hv.HYPERVISOR_mmuext_op([op(MMUEXT_PIN_L1_TABLE, T), op(MMUEXT_PIN_L2_TABLE, P)], 2)).toBe(0);
  return { m, hv, hv1 };
}

/**
 * Run a request that must be refused with `errno`: it is counted as rejected, and hvState and the
 * listed entries are exactly as before.
 */
function expectRefused(s: Pinned, errno: number, entries: [number, number][], call: () => number): void {
  const before = snapshot(s.m);
  const values = entries.map(([f, i]) => peek(s.m, f, i));
  const rejected = s.hv.hw.counters.rejected + s.hv1.hw.counters.rejected;
  expect(call()).toBe(-errno);
  expect(s.hv.hw.counters.rejected + s.hv1.hw.counters.rejected).toBe(rejected + 1);
  expect(snapshot(s.m)).toEqual(before);
  expect(entries.map(([f, i]) => peek(s.m, f, i))).toEqual(values);
}

describe('Xen frame table after pinning', () => {
  it('types the directory L2 and the table L1 (pinned, plus the directory\'s reference), and counts writable mappings', () => {
    const { hv } = pinnedSpace();
    expect(frameState(hv, P)).toEqual({ type: PGT_l2_page_table, count: 1, pinned: true });
    expect(frameState(hv, T)).toEqual({ type: PGT_l1_page_table, count: 2, pinned: true });
    expect(frameState(hv, D)).toEqual({ type: PGT_writable_page, count: 1, pinned: false });
    // A read-only mapping takes no type reference; the 4 MiB direct-map entries take none either.
    expect(frameState(hv, R)).toEqual({ type: PGT_none, count: 0, pinned: false });
    expect(frameState(hv, 0)).toEqual({ type: PGT_none, count: 0, pinned: false });
    expect(hv.frames.checkOwned(USABLE - 1)).toBe(0);
    expect(hv.frames.checkOwned(USABLE)).toBe(-XEN_EPERM);
  });

  it('unpinning the directory drops its references; unpinning the table then untypes it and its mappings', () => {
    const { hv } = pinnedSpace();
    expect(hv.mmuextOneCall(MMUEXT_UNPIN_TABLE, P, 0, null)).toBe(0);
    expect(frameState(hv, P)).toEqual({ type: PGT_none, count: 0, pinned: false });
    expect(frameState(hv, T)).toEqual({ type: PGT_l1_page_table, count: 1, pinned: true });
    expect(hv.mmuextOneCall(MMUEXT_UNPIN_TABLE, T, 0, null)).toBe(0);
    expect(frameState(hv, T)).toEqual({ type: PGT_none, count: 0, pinned: false });
    expect(frameState(hv, D)).toEqual({ type: PGT_none, count: 0, pinned: false });
    expect(hv.hw.counters.rejected).toBe(0);
  });

  it('validates an unpinned L1 a directory points at when the directory is pinned, and untypes it with the directory', () => {
    const m = xenMachine(1);
    const hv = hypervisorOf(m, 0);
    poke(m, P, 5, pte(T, USER_RW));
    poke(m, T, 7, pte(D, USER_RW));
    expect(hv.mmuextOneCall(MMUEXT_PIN_L2_TABLE, P, 0, null)).toBe(0);
    expect(frameState(hv, T)).toEqual({ type: PGT_l1_page_table, count: 1, pinned: false });
    expect(frameState(hv, D).count).toBe(1);
    expect(hv.mmuextOneCall(MMUEXT_UNPIN_TABLE, P, 0, null)).toBe(0);
    expect(frameState(hv, T).type).toBe(PGT_none);
    expect(frameState(hv, D).type).toBe(PGT_none);
  });
});

describe('Xen mmu_update refuses', () => {
  it('a PTE mapping a page table writable: the table itself, its directory', () => {
    const s = pinnedSpace();
    expectRefused(s, XEN_EINVAL, [[T, 2]], () => s.hv.mmuUpdateOne((T << 12) + 8, pte(T, USER_RW)));
    expectRefused(s, XEN_EINVAL, [[T, 2]], () => s.hv.mmuUpdateOne((T << 12) + 8, pte(P, USER_RW)));
    // Read-only, the same mappings are allowed (Xen wants page tables mapped read-only).
    expect(s.hv.mmuUpdateOne((T << 12) + 8, pte(P, USER_RO))).toBe(0);
  });

  it('a PTE mapping a frame the guest does not own: reserved for the hypervisor, or beyond RAM', () => {
    const s = pinnedSpace();
    expectRefused(s, XEN_EPERM, [[T, 0]], () => s.hv.mmuUpdateOne(T << 12, pte(USABLE, USER_RW)));
    expectRefused(s, XEN_EPERM, [[T, 0]], () => s.hv.mmuUpdateOne(T << 12, pte(USABLE + XEN_RESERVED_FRAMES - 1, USER_RO)));
    expectRefused(s, XEN_EINVAL, [[T, 0]], () => s.hv.mmuUpdateOne(T << 12, pte(RAM_BYTES / 4096 + 5, USER_RO)));
  });

  it('a PDE pointing at something that cannot be an L1: a writable page, a foreign frame, a user-half 4 MiB page', () => {
    const s = pinnedSpace();
    const pde = (P << 12) + 17 * 4;
    expectRefused(s, XEN_EINVAL, [[P, 17]], () => s.hv.mmuUpdateOne(pde, pte(D, USER_RW)));
    expectRefused(s, XEN_EINVAL, [[P, 17]], () => s.hv.mmuUpdateOne(pde, pte(P, USER_RW)));
    expectRefused(s, XEN_EPERM, [[P, 17]], () => s.hv.mmuUpdateOne(pde, pte(USABLE + 1, USER_RW)));
    expectRefused(s, XEN_EINVAL, [[P, 17]], () => s.hv.mmuUpdateOne(pde, makeLargePde(1024 as Pfn, PTE_P | PTE_RW)));
  });

  it('a PDE whose table fails validation half-way, undoing the references validation had taken', () => {
    const s = pinnedSpace();
    const U = 300;
    const E = 301;
    poke(s.m, U, 0, pte(E, USER_RW)); // takes a writable reference on E first ...
    poke(s.m, U, 1, pte(T, USER_RW)); // ... then fails: T is a page table
    expectRefused(s, XEN_EINVAL, [[P, 17], [U, 0], [U, 1]], () => s.hv.mmuUpdateOne((P << 12) + 17 * 4, pte(U, USER_RW)));
    expect(frameState(s.hv, U).type).toBe(PGT_none);
    expect(frameState(s.hv, E).type).toBe(PGT_none);
  });

  it('a store into a frame that is not a page table, or that the guest does not own, and unknown request types', () => {
    const s = pinnedSpace();
    expectRefused(s, XEN_EINVAL, [[D, 0]], () => s.hv.mmuUpdateOne(D << 12, pte(R, USER_RO)));
    expectRefused(s, XEN_EPERM, [[USABLE, 0]], () => s.hv.mmuUpdateOne(USABLE << 12, 0));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuUpdateOne(RAM_BYTES + 8, 0));
    expectRefused(s, XEN_ENOSYS, [[T, 0]], () => s.hv.mmuUpdateOne((T << 12) | MMU_MACHPHYS_UPDATE, 0));
  });

  it('malformed calls: a count the array cannot back, a fractional frame, unknown update_va_mapping flags', () => {
    const s = pinnedSpace();
    expectRefused(s, XEN_EINVAL, [[T, 0]], () => s.hv.HYPERVISOR_mmu_update([{ ptr: T << 12, val: 0 }], 2));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.HYPERVISOR_mmuext_op([], -1));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.HYPERVISOR_multicall([newMulticallEntry()], 1.5));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_PIN_L1_TABLE, 300.5, 0, null));
    expect(s.hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, P, 0, null)).toBe(0);
    expectRefused(s, XEN_EINVAL, [[T, 0]], () => s.hv.HYPERVISOR_update_va_mapping(16 << 22, 0, 3));
    expectRefused(s, XEN_EINVAL, [[T, 0]], () => s.hv.HYPERVISOR_update_va_mapping(16 << 22, 0, 0x100));
  });

  it('stops at the first refused request of a batch, keeping the ones before it', () => {
    const s = pinnedSpace();
    const reqs = [
      { ptr: (T << 12) + 8, val: pte(D + 10, USER_RW) },
      { ptr: (T << 12) + 12, val: pte(T, USER_RW) },
      { ptr: (T << 12) + 16, val: pte(D + 11, USER_RW) },
    ];
    expect(s.hv.HYPERVISOR_mmu_update(reqs, 3)).toBe(-XEN_EINVAL);
    expect(peek(s.m, T, 2)).toBe(pte(D + 10, USER_RW));
    expect(peek(s.m, T, 3)).toBe(0);
    expect(peek(s.m, T, 4)).toBe(0);
    expect(s.hv.hw.counters.hypercalls).toBe(2); // the pin, and this one
    expect(s.hv.hw.counters.rejected).toBe(1);
  });
});

describe('Xen mmuext_op refuses', () => {
  it('NEW_BASEPTR of a directory that is not pinned', () => {
    const s = pinnedSpace();
    const Q = 400;
    poke(s.m, Q, 3, pte(T, USER_RW));
    const cr3 = s.hv.hw.mmu.cr3;
    expectRefused(s, XEN_EINVAL, [[Q, 3]], () => s.hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, Q, 0, null));
    // Nor a pinned L1 pretending to be a directory.
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, T, 0, null));
    expect(s.hv.hw.mmu.cr3).toBe(cr3);
    expect(s.hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, P, 0, null)).toBe(0);
    expect(s.hv.hw.mmu.cr3).toBe(P << 12);
  });

  it('UNPIN_TABLE of any vCPU\'s current base, and of a table that is not pinned', () => {
    const s = pinnedSpace();
    expect(s.hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, P, 0, null)).toBe(0);
    expectRefused(s, XEN_EBUSY, [], () => s.hv.mmuextOneCall(MMUEXT_UNPIN_TABLE, P, 0, null));
    // From the other vCPU too: the base is vCPU 0's.
    expectRefused(s, XEN_EBUSY, [], () => s.hv1.mmuextOneCall(MMUEXT_UNPIN_TABLE, P, 0, null));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_UNPIN_TABLE, D, 0, null));
  });

  it('pinning a table that maps a page table writable, undoing the references taken before the bad entry', () => {
    const s = pinnedSpace();
    const V = 500;
    const E = 501;
    poke(s.m, V, 0, pte(E, USER_RW));
    poke(s.m, V, 1, pte(P, USER_RW));
    expectRefused(s, XEN_EINVAL, [[V, 0], [V, 1]], () => s.hv.mmuextOneCall(MMUEXT_PIN_L1_TABLE, V, 0, null));
    expect(frameState(s.hv, E).type).toBe(PGT_none);
    // A table mapping itself writable cannot be a table either.
    poke(s.m, V, 1, pte(V, USER_RW));
    expectRefused(s, XEN_EINVAL, [[V, 1]], () => s.hv.mmuextOneCall(MMUEXT_PIN_L1_TABLE, V, 0, null));
  });

  it('pinning twice, pinning a writable page, pinning a foreign frame, L3 tables, unknown commands', () => {
    const s = pinnedSpace();
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_PIN_L1_TABLE, T, 0, null));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_PIN_L1_TABLE, D, 0, null));
    expectRefused(s, XEN_EPERM, [], () => s.hv.mmuextOneCall(MMUEXT_PIN_L2_TABLE, USABLE + 2, 0, null));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_PIN_L3_TABLE, 600, 0, null));
    expectRefused(s, XEN_ENOSYS, [], () => s.hv.mmuextOneCall(99, 600, 0, null));
    expectRefused(s, XEN_EINVAL, [], () => s.hv.mmuextOneCall(MMUEXT_INVLPG_MULTI, 0, 0x1000, CpuMask.of(5)));
  });
});

describe('Xen accepted updates', () => {
  it('move writable counts with the entries that hold them', () => {
    const s = pinnedSpace();
    const e2 = (T << 12) + 8;
    expect(s.hv.mmuUpdateOne(e2, pte(D, USER_RW))).toBe(0); // a second writable mapping of D
    expect(frameState(s.hv, D).count).toBe(2);
    expect(s.hv.mmuUpdateOne(e2, pte(D, USER_RO))).toBe(0);
    expect(frameState(s.hv, D).count).toBe(1);
    expect(s.hv.mmuUpdateOne(T << 12, 0)).toBe(0);
    expect(s.hv.lastOld).toBe(pte(D, USER_RW));
    expect(frameState(s.hv, D).type).toBe(PGT_none);
    expect(s.hv.hw.counters.rejected).toBe(0);
  });

  it('PRESERVE_AD keeps the Accessed and Dirty bits the hardware set; NORMAL overwrites them', () => {
    const s = pinnedSpace();
    Atomics.or(s.m.ram.i32, (T << 10) + 0, PTE_A | PTE_D); // the walker's doing
    expect(s.hv.mmuUpdateOne((T << 12) | MMU_PT_UPDATE_PRESERVE_AD, pte(D, USER_RO))).toBe(0);
    expect(peek(s.m, T, 0)).toBe(pte(D, USER_RO) | PTE_A | PTE_D);
    expect(s.hv.mmuUpdateOne((T << 12) | MMU_NORMAL_PT_UPDATE, pte(D, USER_RO))).toBe(0);
    expect(peek(s.m, T, 0)).toBe(pte(D, USER_RO));
  });

  it('link a new table through the pinned directory, validating it on the way', () => {
    const s = pinnedSpace();
    const U = 700;
    poke(s.m, U, 9, pte(D + 50, USER_RW));
    expect(s.hv.mmuUpdateOne((P << 12) + 40 * 4, pte(U, USER_RW))).toBe(0);
    expect(frameState(s.hv, U)).toEqual({ type: PGT_l1_page_table, count: 1, pinned: false });
    expect(frameState(s.hv, D + 50).count).toBe(1);
    expect(s.hv.mmuUpdateOne((P << 12) + 40 * 4, 0)).toBe(0);
    expect(frameState(s.hv, U).type).toBe(PGT_none);
    expect(frameState(s.hv, D + 50).type).toBe(PGT_none);
    // Kernel-half 4 MiB pages are accepted (pvemu's direct map).
    expect(s.hv.mmuUpdateOne((P << 12) + 900 * 4, makeLargePde(2048 as Pfn, PTE_P | PTE_RW | PTE_PS))).toBe(0);
  });

  it('update_va_mapping finds the PTE through the current base and flushes as asked', () => {
    const s = pinnedSpace();
    expect(s.hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, P, 0, null)).toBe(0);
    const va = 16 << 22;
    s.hv.hw.mmu.load8(va); // fills the TLB
    expect(s.hv.hw.tlb.probe(va, 0)).toBe(true);
    expect(s.hv.HYPERVISOR_update_va_mapping(va, pte(D + 1, USER_RW), UVMF_INVLPG)).toBe(0);
    expect(peek(s.m, T, 0)).toBe(pte(D + 1, USER_RW));
    expect(s.hv.hw.tlb.probe(va, 0)).toBe(false);
    expect(frameState(s.hv, D).type).toBe(PGT_none);
    expect(s.hv.HYPERVISOR_update_va_mapping(va, pte(T, USER_RW), UVMF_NONE)).toBe(-XEN_EINVAL);
    // No table maps this address.
    expect(s.hv.HYPERVISOR_update_va_mapping(17 << 22, 0, UVMF_NONE)).toBe(-XEN_EINVAL);
  });

  it('a multicall runs every entry, leaving each its result', () => {
    const s = pinnedSpace();
    const entries = [newMulticallEntry(), newMulticallEntry(), newMulticallEntry()];
    entries[0]!.op = __HYPERVISOR_mmu_update;
    entries[0]!.req.ptr = (T << 12) + 8;
    entries[0]!.req.val = pte(P, USER_RW); // refused
    entries[1]!.op = __HYPERVISOR_mmu_update;
    entries[1]!.req.ptr = (T << 12) + 12;
    entries[1]!.req.val = pte(D + 2, USER_RW);
    entries[2]!.op = __HYPERVISOR_mmuext_op;
    entries[2]!.ext.cmd = MMUEXT_TLB_FLUSH_LOCAL;
    const calls = s.hv.hw.counters.hypercalls;
    expect(s.hv.HYPERVISOR_multicall(entries, 3)).toBe(-XEN_EINVAL);
    expect(entries.map((e) => e.result)).toEqual([-XEN_EINVAL, 0, 0]);
    expect(peek(s.m, T, 3)).toBe(pte(D + 2, USER_RW));
    expect(s.hv.hw.counters.hypercalls).toBe(calls + 1);
    expect(s.hv.hw.counters.rejected).toBe(1);
  });

  it('event_channel_op(EVTCHNOP_send) raises the vector on the port\'s vCPU, one hypercall', () => {
    const s = pinnedSpace();
    expect(s.hv.HYPERVISOR_event_channel_op(EVTCHNOP_send, ipiPort(1, 0xfc))).toBe(0);
    expect(s.hv1.hw.bus.pendingVectors(1)).toEqual([0xfc]);
    expect(s.hv.HYPERVISOR_event_channel_op(EVTCHNOP_send, ipiPort(7, 0xfc))).toBe(-XEN_EINVAL);
    expect(s.hv.HYPERVISOR_event_channel_op(99, ipiPort(1, 0xfc))).toBe(-XEN_ENOSYS);
  });
});

describe('Xen hypervisor locks', () => {
  it('leave the frame-table and pin lock words and their holder words clear after every call', () => {
    const s = pinnedSpace();
    expect(s.hv.mmuUpdateOne(T * 4096 + 2 * 4, pte(D + 1, USER_RW))).toBe(0);
    expect(s.hv.mmuUpdateOne(T * 4096 + 3 * 4, pte(T, USER_RW))).toBe(-XEN_EINVAL);
    for (const w of [XEN_CTL.lock, XEN_CTL.lockHolder, XEN_CTL.pinLock, XEN_CTL.pinLockHolder]) {
      expect(Atomics.load(s.hv.words, w)).toBe(0);
    }
  });

  it('a hypercall waiting for the frame-table lock another vCPU holds ends in a watchdog error naming both', () => {
    const s = pinnedSpace();
    const hv = new XenHypervisor(s.m.hws[0]!, s.m.hvState, testWaitPolicy(40));
    // cpu 1 holds the lock (as inside a hypercall of its own).
    const held = new HvLock(hv.words, XEN_CTL.lock, XEN_CTL.lockHolder, 'Xen frame-table lock', new VcpuWait(s.m.hws[1]!, testWaitPolicy(1000)));
    held.acquire();
    expect(() => hv.mmuUpdateOne(T * 4096 + 2 * 4, pte(D + 1, USER_RW))).toThrow(WatchdogError);
    expect(() => hv.mmuUpdateOne(T * 4096 + 2 * 4, pte(D + 1, USER_RW)))
      .toThrow(/^watchdog: cpu 0 waited \d+ ms for the Xen frame-table lock, held by cpu 1 \(the limit is --watchdog-ms 40\)$/);
    expect(peek(s.m, T, 2)).toBe(0);
    held.release();
    expect(hv.mmuUpdateOne(T * 4096 + 2 * 4, pte(D + 1, USER_RW))).toBe(0);
  });

  it('a vCPU waiting for the guest pin lock leaves with MachineAbortedError when the machine is aborted', () => {
    const s = pinnedSpace();
    s.hv1.pinLock.acquire();
    Atomics.store(s.m.machineWords, MACHINE_CTL.runState, RunState.Aborted);
    expect(() => s.hv.pinLock.acquire()).toThrow(MachineAbortedError);
    expect(() => s.hv.pinLock.acquire()).toThrow(/cpu 0: machine aborted while waiting for the Xen guest pin lock/);
    s.hv1.pinLock.release();
  });
});
