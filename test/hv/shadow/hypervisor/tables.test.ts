/**
 * The shadow-paging backend on one or two vCPUs, without threads: the hardware walks the
 * hypervisor's shadow, so a guest PTE store reaches the MMU only through the trap that resyncs
 * the shadow; misses the guest allows are hidden faults; CR3 and INVLPG trap; released tables
 * give their shadow frames back. Page tables are built through the pv ops, as the kernel does.
 * vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { GuestSegfault, MachineAbortedError } from '../../../../src/lib/errors.js';
import type { Backend } from '../../../../src/hv/backend.js';
import { HvLock } from '../../../../src/hv/hv-lock.js';
import { createShadow, shadowBackend } from '../../../../src/hv/shadow/index.js';
import { SHADOW_CTL, ShadowLayout } from '../../../../src/hv/shadow/hypervisor/layout.js';
import type { ShadowTables } from '../../../../src/hv/shadow/hypervisor/tables.js';
import { PAGE_FAULT_VECTOR, VcpuHardware } from '../../../../src/hw/cpu.js';
import { MACHINE_CTL, RunState, machineBlockBytes } from '../../../../src/hw/layout.js';
import { GuestRam, MIN_RAM_BYTES } from '../../../../src/hw/memory.js';
import { PTE_D, PTE_G, PTE_P, PTE_RW, PTE_US, makeLargePde, makePte, pdIndex, ptIndex } from '../../../../src/hw/paging.js';
import { paddr, pfn, vaddr, type Paddr, type Pfn } from '../../../../src/hw/types.js';
import { PF_PROT, PF_USER, PF_WRITE } from '../../../../src/hw/walker.js';
import { buildPvOps } from '../../../../src/hv/bind.js';
import type { CpuMask } from '../../../../src/pv/cpumask.js';
import type { FlushInfo, MmRef, PvOps } from '../../../../src/pv/ops.js';
import type { InterruptHandler } from '../../../../src/hw/cpu.js';
import { VcpuCounters } from '../../../../src/stats/counters.js';
import { testGuest, testWaitPolicy } from '../../../helpers/hardware.js';
import { VcpuWait, type WaitPolicy } from '../../../../src/hw/wait.js';
import { waitPolicyFor } from '../../../../src/machine/machine.js';

const guest = testGuest({ nativeFlushTlbOthers: (_m: CpuMask, _i: FlushInfo): void => {} });
const USER_RW = PTE_P | PTE_RW | PTE_US;
const USER_RO = PTE_P | PTE_US;
const MM = 0x1000 as MmRef;
/** Guest frames of the test: a page directory, a page table, data pages (16 MiB RAM: frames 0..4095). */
const PD_FRAME = pfn(0x100);
const PT_FRAME = pfn(0x101);
const OLD_FRAME = pfn(0x200);
const NEW_FRAME = pfn(0x201);
const VA = 0x0804_8000;
const PD = paddr(PD_FRAME * 4096);
const PDEP = paddr(PD + pdIndex(VA) * 4);
const PTEP = paddr(PT_FRAME * 4096 + ptIndex(VA) * 4);

/** One machine's shared buffers: RAM, the machine block and the backend state. */
class Buffers {
  readonly ram = new GuestRam(new SharedArrayBuffer(MIN_RAM_BYTES));
  readonly machine = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
  readonly hvState = new SharedArrayBuffer(shadowBackend.stateBytes!(MIN_RAM_BYTES, 2));
}

interface Vcpu {
  hw: VcpuHardware;
  ops: PvOps;
  tables: ShadowTables;
  /** Page faults that reached the guest's handler: [cr2, error code]. */
  guestFaults: [number, number][];
}

/** One vCPU of the machine `b`, with a guest page-fault handler that records and SIGSEGVs. */
function vcpu(b: Buffers, cpu = 0, wait: WaitPolicy = testWaitPolicy()): Vcpu {
  const hw = new VcpuHardware({ cpu, cpus: 2, ram: b.ram, machineWords: b.machine, counters: new VcpuCounters() });
  let tables: ShadowTables | undefined;
  const capture: Backend = {
    ...shadowBackend,
    create: (ctx, native) => {
      const made = createShadow(ctx, native);
      tables = made.tables;
      return made.overrides;
    },
  };
  const ops = buildPvOps(capture, { hw, guest, hvState: b.hvState, wait });
  if (tables === undefined) throw new Error('createShadow was not called');
  const guestFaults: [number, number][] = [];
  const idt: (InterruptHandler | undefined)[] = [];
  idt[PAGE_FAULT_VECTOR] = (_v, errorCode) => {
    guestFaults.push([ops.mmu.readCr2(), errorCode]);
    throw new GuestSegfault(ops.mmu.readCr2(), errorCode);
  };
  ops.cpu.loadIdt(idt);
  return { hw, ops, tables, guestFaults };
}

/** The kernel's way to build an address space: allocPd, allocPt + setPmd, setPteAt; then load it. */
function mapOnePage(v: Vcpu, frame: Pfn, flags = USER_RW): void {
  v.hw.ram.zeroFrame(PD_FRAME);
  v.hw.ram.zeroFrame(PT_FRAME);
  v.ops.mmu.allocPd(PD_FRAME);
  v.ops.mmu.allocPt(MM, PT_FRAME);
  v.ops.mmu.setPmd(PDEP, makePte(PT_FRAME, USER_RW));
  v.ops.mmu.setPteAt(MM, vaddr(VA), PTEP, makePte(frame, flags));
}

function mark(ram: GuestRam, frame: Pfn, value: number): void {
  ram.i32[(frame * 4096) >>> 2] = value;
}

describe('shadow backend', () => {
  it('reserves its shadow pool above the RAM memory_setup gives the kernel', () => {
    const b = new Buffers();
    const v = vcpu(b);
    const map = v.ops.init.memorySetup();
    const layout = new ShadowLayout(MIN_RAM_BYTES, 2);
    expect(map.usableBytes).toBe(layout.poolFirst * 4096);
    expect(map.usableBytes).toBeLessThan(MIN_RAM_BYTES);
    expect(map.description).toMatch(/reserved: shadow page tables/);
    expect(v.ops.info.paravirtEnabled).toBe(false);
  });

  it('loads a shadow directory into CR3 (in the reserved pool) while read_cr3 returns the guest\'s, and traps the load', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    v.ops.mmu.writeCr3(PD);
    expect(v.ops.mmu.readCr3()).toBe(PD);
    expect(v.hw.mmu.cr3).not.toBe(PD);
    expect(new ShadowLayout(MIN_RAM_BYTES, 2).inPool(v.hw.mmu.cr3 >>> 12)).toBe(true);
    expect(v.hw.counters.vmexitCr3).toBe(1);
    // Loading it again finds the same shadow.
    const shadow = v.hw.mmu.cr3;
    v.ops.mmu.writeCr3(PD);
    expect(v.hw.mmu.cr3).toBe(shadow);
    expect(v.tables.census().pds).toBe(1);
  });

  it('fills the shadow on first access with a hidden fault the guest never sees', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    mark(b.ram, OLD_FRAME, 1111);
    v.ops.mmu.writeCr3(PD);
    expect(v.hw.mmu.load32(VA)).toBe(1111);
    expect(v.hw.counters.hiddenFaults).toBe(1);
    expect(v.hw.counters.vmexitHiddenFault).toBe(1);
    expect(v.guestFaults).toHaveLength(0);
    expect(v.tables.census().pts).toBe(1);
  });

  it('shows a guest PTE store to the MMU only through the trap that resyncs the shadow', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    mark(b.ram, OLD_FRAME, 1111);
    mark(b.ram, NEW_FRAME, 2222);
    v.ops.mmu.writeCr3(PD);
    expect(v.hw.mmu.load32(VA)).toBe(1111);

    // A store straight into the guest's table, bypassing the ops (and so the write-protection
    // trap): the guest's table says NEW_FRAME, but the hardware walks the shadow.
    Atomics.store(b.ram.i32, PTEP >>> 2, makePte(NEW_FRAME, USER_RW));
    v.hw.tlb.flushAll();
    expect(v.hw.mmu.load32(VA)).toBe(1111);

    // The same store through set_pte_at traps, and the shadow follows.
    const traps = v.hw.counters.traps;
    const syncs = v.hw.counters.shadowSyncs;
    v.ops.mmu.setPteAt(MM, vaddr(VA), PTEP, makePte(NEW_FRAME, USER_RW));
    expect(v.hw.counters.traps).toBe(traps + 1);
    expect(v.hw.counters.vmexitPtWrite).toBeGreaterThan(0);
    expect(v.hw.counters.shadowSyncs).toBe(syncs + 1);
    v.ops.mmu.flushTlbSingle(vaddr(VA));
    expect(v.hw.mmu.load32(VA)).toBe(2222);
  });

  it('traps INVLPG and TLB flushes, and still flushes', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    v.ops.mmu.writeCr3(PD);
    v.hw.mmu.load32(VA);
    const c = v.hw.counters;
    const traps = c.traps;
    v.ops.mmu.flushTlbSingle(vaddr(VA));
    expect(c.vmexitInvlpg).toBe(1);
    expect(c.tlbFlushesSingle).toBe(1);
    const walks = c.tlbWalks;
    v.hw.mmu.load32(VA);
    expect(c.tlbWalks).toBe(walks + 1); // the entry really went
    v.ops.mmu.flushTlbUser();
    v.ops.mmu.flushTlbKernel();
    expect(c.traps).toBe(traps + 3);
    expect(c.vmexitCr3).toBe(3); // the CR3 load plus the two flushes
  });

  it('passes a fault the guest\'s tables do not allow to the guest: not present, and a write to a read-only page', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME, USER_RO);
    v.ops.mmu.writeCr3(PD);
    expect(() => v.hw.mmu.load32(VA + 0x1000)).toThrow(GuestSegfault);
    expect(v.guestFaults[0]).toEqual([VA + 0x1000, PF_USER]);
    expect(v.hw.mmu.load32(VA)).toBe(0);
    expect(() => v.hw.mmu.store32(VA, 5)).toThrow(GuestSegfault);
    expect(v.guestFaults[1]).toEqual([VA, PF_USER | PF_WRITE | PF_PROT]);
    // A copy-on-write style fix through the ops makes the retry succeed without another fault.
    v.ops.mmu.setPteAt(MM, vaddr(VA), PTEP, makePte(OLD_FRAME, USER_RW));
    v.ops.mmu.flushTlbSingle(vaddr(VA));
    v.hw.mmu.store32(VA, 5);
    expect(b.ram.i32[(OLD_FRAME * 4096) >>> 2]).toBe(5);
    expect(v.guestFaults).toHaveLength(2);
  });

  it('returns the dirty bit the hardware set in the shadow from pte_clear, and unmaps', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    v.ops.mmu.writeCr3(PD);
    v.hw.mmu.store32(VA, 7);
    expect(Atomics.load(b.ram.i32, PTEP >>> 2) & PTE_D).toBe(0); // the guest's PTE stays clean
    const old = v.ops.mmu.pteClear(MM, vaddr(VA), PTEP);
    expect(old & PTE_D).toBe(PTE_D);
    expect(old >>> 12).toBe(OLD_FRAME);
    v.ops.mmu.flushTlbSingle(vaddr(VA));
    expect(() => v.hw.mmu.load32(VA)).toThrow(GuestSegfault);
  });

  it('shares the kernel\'s 4 MiB pages and supervisor tables: kernel stores need no hidden fault', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    const kernelPt = pfn(0x102);
    const kernelVa = 0xf000_0000;
    b.ram.zeroFrame(kernelPt);
    v.ops.mmu.setPmd(paddr(PD + pdIndex(0xc000_0000) * 4), makeLargePde(pfn(0), PTE_P | PTE_RW | PTE_G));
    v.ops.mmu.setPmd(paddr(PD + pdIndex(kernelVa) * 4), makePte(kernelPt, PTE_P | PTE_RW));
    v.ops.mmu.setPte(paddr(kernelPt * 4096), makePte(NEW_FRAME, PTE_P | PTE_RW | PTE_G));
    v.ops.mmu.writeCr3(PD);
    v.hw.mmu.kernelStore32(kernelVa + 8, 99);
    expect(b.ram.i32[(NEW_FRAME * 4096 + 8) >>> 2]).toBe(99);
    expect(v.hw.counters.hiddenFaults).toBe(0);
    // The shadow PDE is the guest's own: it points at the guest's table, not a shadow one.
    const shadowPde = Atomics.load(b.ram.i32, (v.hw.mmu.cr3 + pdIndex(kernelVa) * 4) >>> 2);
    expect(shadowPde >>> 12).toBe(kernelPt);
    // A kernel-stack PTE store still traps (the page is write-protected) but needs no resync.
    const syncs = v.hw.counters.shadowSyncs;
    const traps = v.hw.counters.traps;
    v.ops.mmu.pteClear(0 as MmRef, vaddr(kernelVa), paddr(kernelPt * 4096));
    expect(v.hw.counters.traps).toBe(traps + 1);
    expect(v.hw.counters.shadowSyncs).toBe(syncs);
  });

  it('drops a shadow table when the guest unhooks its PDE, and frees every shadow frame on release', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    v.ops.mmu.writeCr3(PD);
    v.hw.mmu.load32(VA);
    expect(v.tables.census()).toEqual({ pds: 1, pts: 1, poolInUse: 2 });
    // pgd_free's order: clear the PDE, release the table, release the directory — after the
    // CPU moved to another directory.
    const swapper = paddr(0x103 * 4096);
    b.ram.zeroFrame(pfn(0x103));
    v.ops.mmu.writeCr3(swapper);
    v.ops.mmu.setPmd(PDEP, 0);
    expect(v.tables.census().pts).toBe(0);
    v.ops.mmu.releasePt(PT_FRAME);
    v.ops.mmu.releasePd(PD_FRAME);
    expect(v.tables.census()).toEqual({ pds: 1, pts: 0, poolInUse: 1 }); // the swapper's shadow
    // A new address space in the same frames starts from a fresh shadow.
    mapOnePage(v, NEW_FRAME);
    mark(b.ram, NEW_FRAME, 2222);
    v.ops.mmu.writeCr3(PD);
    expect(v.hw.mmu.load32(VA)).toBe(2222);
    expect(v.tables.census()).toEqual({ pds: 2, pts: 1, poolInUse: 3 });
  });

  it('releasing a table without unhooking it first also clears the shadow PDE', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    v.ops.mmu.writeCr3(PD);
    v.hw.mmu.load32(VA);
    const shadowPdep = (v.hw.mmu.cr3 + pdIndex(VA) * 4) as Paddr;
    expect(Atomics.load(b.ram.i32, shadowPdep >>> 2) & PTE_P).toBe(PTE_P);
    v.ops.mmu.releasePt(PT_FRAME);
    expect(Atomics.load(b.ram.i32, shadowPdep >>> 2)).toBe(0);
    expect(v.tables.census().pts).toBe(0);
  });

  it('shares one shadow between vCPUs loading the same directory: a store on one reaches the other\'s walks', () => {
    const b = new Buffers();
    const v0 = vcpu(b, 0);
    const v1 = vcpu(b, 1);
    mapOnePage(v0, OLD_FRAME);
    mark(b.ram, OLD_FRAME, 1111);
    mark(b.ram, NEW_FRAME, 2222);
    v0.ops.mmu.writeCr3(PD);
    v1.ops.mmu.writeCr3(PD);
    expect(v1.hw.mmu.cr3).toBe(v0.hw.mmu.cr3);
    expect(v0.hw.mmu.load32(VA)).toBe(1111);
    expect(v1.hw.mmu.load32(VA)).toBe(1111);
    expect(v1.hw.counters.hiddenFaults).toBe(0); // cpu 0's hidden fault filled the shared shadow
    v0.ops.mmu.setPteAt(MM, vaddr(VA), PTEP, makePte(NEW_FRAME, USER_RW));
    v1.ops.mmu.flushTlbSingle(vaddr(VA)); // what the shootdown's handler does on cpu 1
    expect(v1.hw.mmu.load32(VA)).toBe(2222);
    expect(v0.tables.census().pds).toBe(1);
  });

  it('reclaims the shadows of directories no vCPU has loaded when the pool runs dry', () => {
    const b = new Buffers();
    const v0 = vcpu(b, 0);
    const v1 = vcpu(b, 1);
    const layout = new ShadowLayout(MIN_RAM_BYTES, 2);
    // cpu 1 keeps one address space loaded, with a filled shadow table.
    mapOnePage(v1, OLD_FRAME);
    mark(b.ram, OLD_FRAME, 1111);
    v1.ops.mmu.writeCr3(PD);
    expect(v1.hw.mmu.load32(VA)).toBe(1111);
    // cpu 0 loads more directories, one after another, than the pool has frames.
    const first = 0x400;
    for (let i = 0; i < layout.poolFrames + 10; i++) {
      const frame = pfn(first + i);
      b.ram.zeroFrame(frame);
      v0.ops.mmu.allocPd(frame);
      v0.ops.mmu.writeCr3(paddr(frame * 4096));
    }
    const census = v0.tables.census();
    expect(census.poolInUse).toBeLessThanOrEqual(layout.poolFrames);
    expect(census.pds).toBeLessThan(layout.poolFrames);
    // cpu 1's loaded shadow survived with its table: no new hidden fault after a TLB flush.
    v1.hw.tlb.flushAll();
    expect(v1.hw.mmu.load32(VA)).toBe(1111);
    expect(v1.hw.counters.hiddenFaults).toBe(1);
    // A directory reclaimed while unloaded is rebuilt when loaded again.
    v0.ops.mmu.writeCr3(paddr(first * 4096));
    expect(v0.ops.mmu.readCr3()).toBe(paddr(first * 4096));
  });

  it('fails with a clear error when loaded address spaces need more shadow tables than the pool holds', () => {
    const b = new Buffers();
    const v = vcpu(b);
    const layout = new ShadowLayout(MIN_RAM_BYTES, 2);
    b.ram.zeroFrame(PD_FRAME);
    v.ops.mmu.allocPd(PD_FRAME);
    v.ops.mmu.writeCr3(PD);
    const touch = (i: number): number => {
      const va = 0x0040_0000 * (i + 1);
      const pt = pfn(0x400 + i);
      b.ram.zeroFrame(pt);
      v.ops.mmu.allocPt(MM, pt);
      v.ops.mmu.setPmd(paddr(PD + pdIndex(va) * 4), makePte(pt, USER_RW));
      v.ops.mmu.setPteAt(MM, vaddr(va), paddr(pt * 4096), makePte(OLD_FRAME, USER_RW));
      return v.hw.mmu.load32(va);
    };
    // One frame is the directory's; every other can hold a table.
    for (let i = 0; i < layout.poolFrames - 1; i++) touch(i);
    expect(() => touch(layout.poolFrames - 1)).toThrow(/shadow-table frames reserved above guest RAM/);
  });
});

describe('shadow MMU lock', () => {
  it('is free, with its holder word clear, after every operation', () => {
    const b = new Buffers();
    const v = vcpu(b);
    mapOnePage(v, OLD_FRAME);
    v.ops.mmu.writeCr3(PD);
    v.hw.mmu.load32(VA);
    v.tables.census();
    const hv = new Int32Array(b.hvState);
    expect(Atomics.load(hv, SHADOW_CTL.lock)).toBe(0);
    expect(Atomics.load(hv, SHADOW_CTL.lockHolder)).toBe(0);
  });

  it('makes a vCPU waiting for it while another holds it leave with MachineAbortedError on abort', () => {
    const b = new Buffers();
    const v0 = vcpu(b, 0);
    const v1 = vcpu(b, 1);
    mapOnePage(v0, OLD_FRAME);
    // cpu 1 holds the lock (as inside a shadow update of its own).
    const held = new HvLock(new Int32Array(b.hvState), SHADOW_CTL.lock, SHADOW_CTL.lockHolder, 'shadow MMU lock', new VcpuWait(v1.hw, testWaitPolicy(1000)));
    held.acquire();
    Atomics.store(b.machine, MACHINE_CTL.runState, RunState.Aborted);
    expect(() => v0.ops.mmu.writeCr3(PD)).toThrow(MachineAbortedError);
    expect(() => v0.tables.census()).toThrow(/cpu 0: machine aborted while waiting for the shadow MMU lock/);
    expect(held.holder()).toBe(1);
    held.release();
  });

  it('follows the run\'s --watchdog-ms: a vCPU waiting for the lock another holds fails after that long, naming the holder', () => {
    const b = new Buffers();
    const v0 = vcpu(b, 0, waitPolicyFor({ cpus: 2, watchdogMs: 300 }, 2));
    const v1 = vcpu(b, 1);
    mapOnePage(v0, OLD_FRAME);
    const held = new HvLock(new Int32Array(b.hvState), SHADOW_CTL.lock, SHADOW_CTL.lockHolder, 'shadow MMU lock', new VcpuWait(v1.hw, testWaitPolicy()));
    held.acquire();
    const start = performance.now();
    expect(() => v0.tables.census()).toThrow(/^watchdog: cpu 0 waited \d+ ms for the shadow MMU lock, held by cpu 1 \(the limit is --watchdog-ms 300\)$/);
    const waited = performance.now() - start;
    expect(waited).toBeGreaterThanOrEqual(300);
    // Not the old fixed 30 s lock limit.
    expect(waited).toBeLessThan(10_000);
    held.release();
  });
});
