/**
 * Unit tests for src/hw/mmu.ts: user accesses through TLB, walker and guest RAM, with page
 * tables built by hand in a 16 MiB RAM. vitest thread only (no workers).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { GuestSegfault, InternalError } from '../../src/lib/errors.js';
import { Mmu, POLL_EVERY, type MmuHooks } from '../../src/hw/mmu.js';
import { PTE_A, PTE_D, PTE_G, PTE_P, PTE_RW, PTE_US, makePte } from '../../src/hw/paging.js';
import { DEFAULT_TLB, Tlb } from '../../src/hw/tlb.js';
import { pfn } from '../../src/hw/types.js';
import { PF_PROT, PF_USER, PF_WRITE } from '../../src/hw/walker.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { PageTables, smallRam } from './helpers.js';

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

const USER_RW = PTE_P | PTE_RW | PTE_US;
const USER_RO = PTE_P | PTE_US;
const VA = 0x0804_8000;
const FRAME = 0x100;

/** Hooks that record calls; the fault handler is replaceable per test. */
class RecordingHooks implements MmuHooks {
  pendingCalls = 0;
  faults: [number, number][] = [];
  fix: (va: number, errorCode: number) => void = (va, errorCode) => {
    throw new GuestSegfault(va, errorCode);
  };
  onPendingWork(): void {
    this.pendingCalls++;
  }
  onPageFault(va: number, errorCode: number): void {
    this.faults.push([va, errorCode]);
    this.fix(va, errorCode);
  }
}

describe('mmu', () => {
  let pt: PageTables;
  let counters: VcpuCounters;
  let tlb: Tlb;
  let poll: Int32Array;
  let hooks: RecordingHooks;
  let mmu: Mmu;

  beforeEach(() => {
    pt = new PageTables(smallRam());
    counters = new VcpuCounters();
    tlb = new Tlb(DEFAULT_TLB, counters);
    poll = new Int32Array(new SharedArrayBuffer(16));
    hooks = new RecordingHooks();
    mmu = new Mmu(pt.ram, tlb, counters, poll, 2, hooks);
    mmu.writeCr3(pt.pd);
  });

  it('store32 then load32 round-trips through the page tables into the mapped frame', () => {
    pt.map(VA, FRAME, USER_RW);
    mmu.store32(VA + 8, 0xdeadbeef | 0);
    expect(mmu.load32(VA + 8)).toBe(0xdeadbeef | 0);
    expect(pt.ram.i32[(FRAME * 4096 + 8) >>> 2]).toBe(0xdeadbeef | 0);
    expect(counters.tlbWalks).toBe(1); // one walk (write), then a hit
    expect(counters.tlbHits).toBe(1);
  });

  it('8- and 16-bit accesses are little-endian and zero-extended', () => {
    pt.map(VA, FRAME, USER_RW);
    mmu.store32(VA, 0x8899aabb | 0);
    expect(mmu.load8(VA)).toBe(0xbb);
    expect(mmu.load16(VA + 2)).toBe(0x8899);
    mmu.store16(VA, 0x1234);
    mmu.store8(VA + 3, 0x7f);
    expect(mmu.load32(VA)).toBe(0x7f991234);
  });

  it('translate gives the physical byte address and fills the TLB', () => {
    pt.map(VA, FRAME, USER_RW);
    expect(mmu.translate(VA + 0xabc, false)).toBe(FRAME * 4096 + 0xabc);
    expect(tlb.probe(VA, 0)).toBe(true);
  });

  it('a store to a page mapped RW with D clear sets D through a dirty-assist walk', () => {
    const pteAt = pt.map(VA, FRAME, USER_RW);
    mmu.load32(VA); // fills the TLB with a clean entry
    expect(pt.read(pteAt) & PTE_D).toBe(0);
    expect(counters.tlbWalks).toBe(1);
    mmu.store32(VA, 7);
    expect(pt.read(pteAt) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(counters.tlbWalks).toBe(2); // the assist walked once...
    mmu.store32(VA, 8);
    expect(counters.tlbWalks).toBe(2); // ...and refreshed the entry, so the next store hits
  });

  it('a store to a read-only page faults with PF_PROT|PF_WRITE|PF_USER; fixing the PTE lets the retry succeed', () => {
    const pteAt = pt.map(VA, FRAME, USER_RO);
    expect(mmu.load32(VA)).toBe(0); // reading is allowed and caches a read-only entry
    hooks.fix = () => {
      pt.write(pteAt, makePte(pfn(FRAME), USER_RW));
    };
    mmu.store32(VA + 4, 42);
    expect(hooks.faults).toEqual([[VA + 4, PF_PROT | PF_WRITE | PF_USER]]);
    expect(mmu.load32(VA + 4)).toBe(42);
  });

  it('a fault handler that throws abandons the access with its error and writes nothing', () => {
    pt.map(VA, FRAME, USER_RO);
    expect(() => mmu.store32(VA, 1)).toThrow(GuestSegfault);
    expect(pt.ram.i32[(FRAME * 4096) >>> 2]).toBe(0);
  });

  it('a not-present page faults with PF_USER and a handler that maps it makes the load succeed', () => {
    hooks.fix = (va) => {
      pt.map(va, FRAME, USER_RW);
    };
    expect(mmu.load32(VA)).toBe(0);
    expect(hooks.faults).toEqual([[VA, PF_USER]]);
  });

  it('a fault handler that never fixes the mapping ends in InternalError naming the address', () => {
    hooks.fix = () => {};
    expect(() => mmu.load32(VA)).toThrow(InternalError);
    expect(() => mmu.load32(VA)).toThrow(/0x8048000/);
    expect(hooks.faults.length).toBe(2 * 64);
  });

  it('a user access to a supervisor page faults even when the PTE is global', () => {
    pt.map(VA, FRAME, PTE_P | PTE_RW | PTE_G);
    expect(() => mmu.load32(VA)).toThrow(GuestSegfault);
    expect(hooks.faults).toEqual([[VA, PF_PROT | PF_USER]]);
  });

  it('a stale TLB entry survives a PTE change until invlpg: why shootdowns exist', () => {
    const pteAt = pt.map(VA, FRAME, USER_RW);
    pt.ram.i32[((FRAME + 1) * 4096) >>> 2] = 222;
    pt.ram.i32[(FRAME * 4096) >>> 2] = 111;
    expect(mmu.load32(VA)).toBe(111);
    pt.write(pteAt, makePte(pfn(FRAME + 1), USER_RW)); // remap, as another CPU's setPte would
    expect(mmu.load32(VA)).toBe(111); // still the old frame
    mmu.invlpg(VA);
    expect(mmu.load32(VA)).toBe(222);
    expect(counters.tlbFlushesSingle).toBe(1);
  });

  it('writeCr3 without PCID flushes non-global entries and keeps global ones', () => {
    const kernelVa = 0xc000_0000;
    pt.map(VA, FRAME, USER_RW);
    pt.map(kernelVa, FRAME + 1, USER_RW | PTE_G);
    mmu.load32(VA);
    mmu.load32(kernelVa);
    mmu.writeCr3(pt.pd);
    expect(tlb.probe(VA, 0)).toBe(false);
    expect(tlb.probe(kernelVa, 0)).toBe(true);
    expect(counters.tlbFlushesFull).toBe(2); // the setup's writeCr3 and this one
  });

  it('writeCr3 with PCID flushes only the new PCID, and not at all with noFlush', () => {
    mmu.pcidEnabled = true;
    pt.map(VA, FRAME, USER_RW);
    mmu.writeCr3(pt.pd, 1);
    mmu.load32(VA);
    mmu.writeCr3(pt.pd, 2);
    mmu.load32(VA);
    expect(tlb.probe(VA, 1) && tlb.probe(VA, 2)).toBe(true);
    mmu.writeCr3(pt.pd, 1, true); // back to PCID 1 without a flush: its entry survived
    expect(tlb.probe(VA, 1)).toBe(true);
    mmu.writeCr3(pt.pd, 2); // a flushing switch to PCID 2 drops only PCID 2
    expect(tlb.probe(VA, 2)).toBe(false);
    expect(tlb.probe(VA, 1)).toBe(true);
  });

  it('writeCr3 rejects a PCID while PCID is disabled', () => {
    expect(() => mmu.writeCr3(pt.pd, 1)).toThrow(InternalError);
  });

  it('the pending-work hook runs before an atomic access when the poll word is non-zero, and within POLL_EVERY plain accesses; never when it is zero', () => {
    pt.map(VA, FRAME, USER_RW);
    for (let k = 0; k < 3 * POLL_EVERY; k++) mmu.load32(VA);
    expect(hooks.pendingCalls).toBe(0);
    Atomics.store(poll, 2, 1);
    mmu.atomicAdd32(VA, 1);
    expect(hooks.pendingCalls).toBe(1);
    for (let k = 0; k < POLL_EVERY; k++) {
      if (k % 2 === 0) mmu.load32(VA);
      else mmu.store8(VA, 1);
    }
    expect(hooks.pendingCalls).toBe(2);
  });

  it('the pending-work hook may flush the TLB and the access still translates afterwards', () => {
    pt.map(VA, FRAME, USER_RW);
    mmu.store32(VA, 5);
    hooks.onPendingWork = () => {
      tlb.flushAll();
      Atomics.store(poll, 2, 0);
    };
    Atomics.store(poll, 2, 1);
    expect(mmu.load32(VA)).toBe(5);
  });

  it('a misaligned load32 crossing a page reads each byte from its own page', () => {
    pt.map(VA, FRAME, USER_RW);
    pt.map(VA + 0x1000, FRAME + 7, USER_RW); // not physically adjacent
    pt.ram.bytes[FRAME * 4096 + 0xffe] = 0x11;
    pt.ram.bytes[FRAME * 4096 + 0xfff] = 0x22;
    pt.ram.bytes[(FRAME + 7) * 4096] = 0x33;
    pt.ram.bytes[(FRAME + 7) * 4096 + 1] = 0x44;
    expect(mmu.load32(VA + 0xffe)).toBe(0x44332211);
    expect(mmu.load16(VA + 0xfff)).toBe(0x3322);
  });

  it('a misaligned store32 crossing into a read-only page faults before writing any byte', () => {
    pt.map(VA, FRAME, USER_RW);
    pt.map(VA + 0x1000, FRAME + 7, USER_RO);
    expect(() => mmu.store32(VA + 0xffd, -1)).toThrow(GuestSegfault);
    expect(hooks.faults).toEqual([[VA + 0x1000, PF_PROT | PF_WRITE | PF_USER]]);
    expect(pt.ram.bytes[FRAME * 4096 + 0xffd]).toBe(0);
  });

  it('a misaligned store32 within a page writes little-endian bytes', () => {
    pt.map(VA, FRAME, USER_RW);
    mmu.store32(VA + 1, 0x04030201);
    expect(Array.from(pt.ram.bytes.subarray(FRAME * 4096, FRAME * 4096 + 6))).toEqual([0, 1, 2, 3, 4, 0]);
    expect(mmu.load32(VA + 1)).toBe(0x04030201);
  });

  it('cmpxchg32 and atomicAdd32 return the old value and need write permission', () => {
    pt.map(VA, FRAME, USER_RW);
    pt.map(VA + 0x1000, FRAME + 1, USER_RO);
    expect(mmu.cmpxchg32(VA, 0, 5)).toBe(0);
    expect(mmu.cmpxchg32(VA, 0, 9)).toBe(5); // compare fails, value kept
    expect(mmu.atomicAdd32(VA, 3)).toBe(5);
    expect(mmu.atomicLoad32(VA)).toBe(8);
    mmu.atomicStore32(VA, -1);
    expect(mmu.cmpxchg32(VA, 0xffffffff, 1)).toBe(-1); // expected compares as int32
    expect(mmu.atomicLoad32(VA + 0x1000)).toBe(0);
    expect(() => mmu.cmpxchg32(VA + 0x1000, 1, 2)).toThrow(GuestSegfault);
  });

  it('an atomic access at a misaligned address raises SIGBUS (a guest fault, not an emulator error) and changes nothing', () => {
    pt.map(VA, FRAME, USER_RW);
    let err: unknown;
    try {
      mmu.atomicAdd32(VA + 2, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GuestSegfault);
    expect((err as GuestSegfault).signal).toBe('SIGBUS');
    expect(mmu.load32(VA)).toBe(0);
  });

  it('a 4 MiB user page translates through the large TLB array', () => {
    const va = 0x0040_0000;
    pt.mapLarge(va, 0x400, USER_RW);
    mmu.store32(va + 0x12340, 99);
    expect(pt.ram.i32[(0x400 * 4096 + 0x12340) >>> 2]).toBe(99);
    expect(mmu.load32(va + 0x12340)).toBe(99);
    expect(counters.tlbWalks).toBe(1);
  });

  it('a PTE pointing beyond guest RAM is a machine check (SIGBUS, counted), not an out-of-range read', () => {
    pt.map(VA, pt.ram.frames + 5, USER_RW);
    const err = catchError(() => mmu.load32(VA));
    expect(err).toBeInstanceOf(GuestSegfault);
    expect((err as GuestSegfault).signal).toBe('SIGBUS');
    expect(counters.machineChecks).toBe(1);
    expect(counters.pageFaults).toBe(0);
  });

  it('a frame the hypervisor reserved (setGuestFrames) is a machine check like one past RAM', () => {
    mmu.setGuestFrames(pt.ram.frames - 8);
    pt.map(VA, pt.ram.frames - 4, USER_RW);
    const err = catchError(() => mmu.load32(VA));
    expect((err as GuestSegfault).signal).toBe('SIGBUS');
    expect(counters.machineChecks).toBe(1);
  });

  it('a page directory entry naming a table past RAM machine-checks in the walk', () => {
    pt.map(VA, 50, USER_RW);
    const pdep = (mmu.cr3 >>> 2) + (VA >>> 22);
    pt.ram.i32[pdep] = makePte(pfn(pt.ram.frames + 3), PTE_P | PTE_RW | PTE_US);
    const err = catchError(() => mmu.load32(VA));
    expect((err as GuestSegfault).signal).toBe('SIGBUS');
    expect(counters.machineChecks).toBe(1);
  });
});
