/**
 * The VMI backend on one vCPU, without threads: what each pv op costs (traps and VM exits by
 * reason), lazy mode moving the UpdatePxE exits to its end, pte_update_defer riding on the next
 * flush, and the native effect behind every ROM call. vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../../src/hv/backend.js';
import { createVmi, vmiBackend } from '../../../../src/hv/vmi/index.js';
import type { VmiRom } from '../../../../src/hv/vmi/hypervisor/rom.js';
import { APIC_ICR, APIC_ICR2, SET_APIC_DEST_FIELD } from '../../../../src/hw/apic.js';
import type { VcpuHardware } from '../../../../src/hw/cpu.js';
import { PTE_P, PTE_RW, PTE_US, makePte } from '../../../../src/hw/paging.js';
import { paddr, pfn, vaddr } from '../../../../src/hw/types.js';
import { buildPvOps } from '../../../../src/hv/bind.js';
import { CpuMask } from '../../../../src/pv/cpumask.js';
import type { FlushInfo, MmRef, PvOps } from '../../../../src/pv/ops.js';
import { testHardware, testGuest, testWaitPolicy } from '../../../helpers/hardware.js';

const guest = testGuest({ nativeFlushTlbOthers: (_m: CpuMask, _i: FlushInfo): void => {} });
const USER_RW = PTE_P | PTE_RW | PTE_US;
/** A page table at frame 0x200 and a page directory at frame 0x201 of the 16 MiB test RAM. */
const PT = paddr(0x200 * 4096);
const PD = paddr(0x201 * 4096);
const MM = 0x1000 as MmRef;
const OTHER_MM = 0x2000 as MmRef;

interface Vmi {
  hw: VcpuHardware;
  ops: PvOps;
  rom: VmiRom;
}

function boot(): Vmi {
  const hw = testHardware(2, 0);
  let rom: VmiRom | undefined;
  const capture: Backend = {
    ...vmiBackend,
    create: (ctx, native) => {
      const made = createVmi(ctx, native);
      rom = made.rom;
      return made.overrides;
    },
  };
  const ops = buildPvOps(capture, { hw, guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
  if (rom === undefined) throw new Error('createVmi was not called');
  return { hw, ops, rom };
}

const ptep = (i: number) => paddr(PT + i * 4);

describe('vmi backend', () => {
  it('identifies itself as VMI, a paravirtualized interface', () => {
    const { ops } = boot();
    expect(ops.info.name).toBe('VMI');
    expect(ops.info.paravirtEnabled).toBe(true);
  });

  it('stores every PTE natively and traps once per store outside lazy mode (SetPxE + UpdatePxE)', () => {
    const { hw, ops, rom } = boot();
    const c = hw.counters;
    ops.mmu.setPte(ptep(0), makePte(pfn(0x300), USER_RW));
    expect(c.traps).toBe(1);
    ops.mmu.setPteAt(MM, vaddr(0x1000), ptep(1), makePte(pfn(0x301), USER_RW));
    expect(c.traps).toBe(2);
    ops.mmu.setPmd(paddr(PD), makePte(pfn(0x200), USER_RW));
    expect(c.traps).toBe(3);
    expect(ops.mmu.pteClear(MM, vaddr(0x0), ptep(0))).toBe(makePte(pfn(0x300), USER_RW));
    expect(c.traps).toBe(4);
    expect(c.vmexitPtWrite).toBe(4);
    expect(rom.stats.pteWrites).toBe(4);
    // The stores themselves are the native ones.
    const i32 = hw.ram.i32;
    expect(Atomics.load(i32, ptep(0) >>> 2)).toBe(0);
    expect(Atomics.load(i32, ptep(1) >>> 2)).toBe(makePte(pfn(0x301), USER_RW));
    expect(Atomics.load(i32, PD >>> 2)).toBe(makePte(pfn(0x200), USER_RW));
    expect(c.modeledCycles).toBe(4 * hw.cost.table.trap);
  });

  it('queues UpdatePxE exits in lazy mode and replays each one at leave: traps >= PTE stores', () => {
    const { hw, ops, rom } = boot();
    const c = hw.counters;
    let stores = 0;
    for (let i = 0; i < 5; i++, stores++) ops.mmu.setPteAt(MM, vaddr(i * 4096), ptep(i), makePte(pfn(0x300 + i), USER_RW));
    ops.misc.enterLazyMmu();
    for (let i = 0; i < 10; i++, stores++) ops.mmu.pteClear(MM, vaddr(i * 4096), ptep(i));
    expect(c.traps).toBe(5); // nothing yet for the lazy ones
    expect(rom.pendingQueued).toBe(10);
    ops.misc.flushLazy(); // arch_flush_lazy_mmu_mode: issue, stay lazy
    expect(c.traps).toBe(15);
    for (let i = 0; i < 3; i++, stores++) ops.mmu.setPte(ptep(i), makePte(pfn(0x310 + i), USER_RW));
    expect(c.traps).toBe(15);
    ops.misc.leaveLazyMmu();
    expect(c.traps).toBe(18);
    expect(rom.stats.pteWrites).toBe(stores);
    expect(c.traps).toBeGreaterThanOrEqual(rom.stats.pteWrites);
    expect(rom.stats.lazyQueued).toBe(13);
  });

  it('issues queued updates before a flush inside lazy mode, so a flush never runs ahead of them', () => {
    const { hw, ops } = boot();
    ops.misc.enterLazyMmu();
    ops.mmu.pteClear(MM, vaddr(0), ptep(0));
    ops.mmu.pteClear(MM, vaddr(4096), ptep(1));
    ops.mmu.flushTlbSingle(vaddr(0));
    expect(hw.counters.vmexitPtWrite).toBe(2);
    expect(hw.counters.vmexitInvlpg).toBe(1);
    ops.misc.leaveLazyMmu();
    expect(hw.counters.traps).toBe(3);
  });

  it('defers pte_update_defer on the current address space to the next flush: one resync exit for the batch', () => {
    const { hw, ops, rom } = boot();
    const c = hw.counters;
    ops.mmu.activateMm(0 as MmRef, MM);
    for (let i = 0; i < 4; i++) ops.mmu.pteUpdateDefer(MM, vaddr(i * 4096), ptep(i));
    expect(c.traps).toBe(0);
    expect(rom.stats.deferredUpdates).toBe(4);
    expect(rom.pendingDeferred).toBe(4);
    ops.mmu.flushTlbSingle(vaddr(0));
    expect(c.vmexitPtWrite).toBe(1); // the batch's resync
    expect(c.vmexitInvlpg).toBe(1); // InvalPage itself
    expect(c.traps).toBe(2);
    expect(rom.pendingDeferred).toBe(0);
    // Nothing owed now: the next flush is only its own exit.
    ops.mmu.flushTlbUser();
    expect(c.traps).toBe(3);
    expect(c.vmexitCr3).toBe(1);
    expect(rom.stats.deferredResyncs).toBe(1);
  });

  it('cannot defer an update to another address space (no flush will follow on this CPU): it traps at once', () => {
    const { hw, ops, rom } = boot();
    ops.mmu.activateMm(0 as MmRef, MM);
    ops.mmu.pteUpdateDefer(OTHER_MM, vaddr(0), ptep(0));
    expect(hw.counters.traps).toBe(1);
    expect(rom.pendingDeferred).toBe(0);
    // init_mm (kernel mappings) may always defer.
    ops.mmu.pteUpdateDefer(0 as MmRef, vaddr(0xf000_0000), ptep(1));
    expect(hw.counters.traps).toBe(1);
    expect(rom.pendingDeferred).toBe(1);
  });

  it('traps pte_update (resync now), and AllocatePage / ReleasePage', () => {
    const { hw, ops, rom } = boot();
    ops.mmu.pteUpdate(MM, vaddr(0), ptep(0));
    ops.mmu.allocPt(MM, pfn(0x200));
    ops.mmu.allocPd(pfn(0x201));
    ops.mmu.releasePt(pfn(0x200));
    ops.mmu.releasePd(pfn(0x201));
    expect(hw.counters.traps).toBe(5);
    expect(rom.stats.pteUpdates).toBe(1);
    expect(rom.stats.pageTypeCalls).toBe(4);
  });

  it('traps CR3 loads (SetCR3), INVLPG (InvalPage) and TLB flushes (FlushTLB), then does the native thing', () => {
    const { hw, ops } = boot();
    const c = hw.counters;
    ops.mmu.writeCr3(PD);
    expect(hw.mmu.cr3).toBe(PD);
    expect(ops.mmu.readCr3()).toBe(PD);
    expect(c.vmexitCr3).toBe(1);
    ops.mmu.flushTlbSingle(vaddr(0x1000));
    expect(c.vmexitInvlpg).toBe(1);
    expect(c.tlbFlushesSingle).toBe(1);
    const full = c.tlbFlushesFull;
    ops.mmu.flushTlbUser();
    ops.mmu.flushTlbKernel();
    expect(c.vmexitCr3).toBe(3);
    expect(c.tlbFlushesFull).toBeGreaterThan(full);
    expect(c.tlbFlushesGlobal).toBe(1);
    expect(c.traps).toBe(4);
  });

  it('traps each ICR write of an IPI and each APIC read (APICWrite / APICRead), and the IPIs still go out', () => {
    const { hw, ops } = boot();
    const c = hw.counters;
    ops.apic.sendIpiMask(CpuMask.of(1), 0xfd);
    expect(c.vmexitApic).toBe(1);
    expect(c.ipisSent).toBe(1);
    expect(hw.bus.pendingVectors(1)).toContain(0xfd);
    ops.apic.apicWrite(APIC_ICR2, SET_APIC_DEST_FIELD(1));
    ops.apic.apicWrite(APIC_ICR, 0xfc);
    expect(c.vmexitApic).toBe(2);
    expect(c.ipisSent).toBe(2);
    expect(ops.apic.apicRead(APIC_ICR2)).toBe(SET_APIC_DEST_FIELD(1));
    expect(c.vmexitApic).toBe(3);
    expect(c.traps).toBe(3);
  });
});
