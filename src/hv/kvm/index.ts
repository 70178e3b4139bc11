/**
 * The KVM backend: a guest on KVM with two-dimensional paging (EPT/NPT) and KVM's paravirtual
 * extensions (Linux arch/x86/kernel/kvm.c; docs/architecture.md). vCPU worker (create runs at
 * boot on each vCPU).
 *
 * - PTE writes are plain stores: the hardware walks the guest's own tables, nested inside the
 *   host's, so a TLB miss costs up to 24 memory references instead of 2 (modelled).
 * - Remote flushes use the PV TLB flush (guest/pv-flush.ts, with the host half in hypervisor/flush-on-load.ts): a preempted target gets FLUSH_TLB in its
 *   steal-time record and no IPI; running targets get native IPIs.
 * - IPIs use PV send-IPI (one hypercall per mask) and PV EOI (no exit); other APIC writes exit
 *   (guest/apic.ts). hlt exits to the host.
 * - CPUID reports the hypervisor bit and KVM's signature leaves with the features used here.
 *
 * `kvm-nopvflush` is the same guest with KVM_FEATURE_PV_TLB_FLUSH off (QEMU's
 * `-cpu ...,kvm-pv-tlb-flush=off`): the guest then flushes remote TLBs the native way, an IPI to
 * every target, preempted or not, and a wait for each acknowledgement. It is the baseline of the
 * PV TLB flush series' ebizzy figures (the guest side is Linux commit 858a43aae236).
 */
import type { Backend, BackendContext, PvOverrides } from '../backend.js';
import { VmExitReason } from '../../hw/cost.js';
import { nativeCpu } from '../native/cpu.js';
import type { PvInfo, PvOps } from '../../pv/ops.js';
import { kvmApic } from './guest/apic.js';
import { kvmFlushTlbOthers, newPvFlushStats, type PvFlushStats } from './guest/pv-flush.js';
import { installFlushOnLoad } from './hypervisor/flush-on-load.js';

/** kvm_guest_init's pv_info: paravirt_enabled, ring 0, shared kernel PMDs. */
const kvmInfo: PvInfo = Object.freeze({
  name: 'KVM',
  paravirtEnabled: true,
  kernelRpl: 0,
  sharedKernelPmd: true,
});

/**
 * Memory references of a TLB miss under two-dimensional paging, at worst: each of the guest's
 * 4 levels and the final address is itself translated through the host's 4 levels,
 * (4 + 1) x (4 + 1) - 1 = 24. pvemu's i386 guest has 2 levels (14 would do), but the model
 * prices the walks of the x86-64 guests the published figures come from.
 */
export const TWO_DIMENSIONAL_WALK_REFERENCES = 24;

/** CPUID leaves of KVM's signature and features (arch/x86/include/uapi/asm/kvm_para.h). */
export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;
const KVM_FEATURE_CLOCKSOURCE2 = 3;
const KVM_FEATURE_STEAL_TIME = 5;
const KVM_FEATURE_PV_EOI = 6;
const KVM_FEATURE_PV_TLB_FLUSH = 9;
const KVM_FEATURE_PV_SEND_IPI = 11;
const KVM_FEATURES = [KVM_FEATURE_CLOCKSOURCE2, KVM_FEATURE_STEAL_TIME, KVM_FEATURE_PV_EOI, KVM_FEATURE_PV_TLB_FLUSH, KVM_FEATURE_PV_SEND_IPI]
  .reduce((bits, f) => bits | (1 << f), 0);
const KVM_FEATURES_NO_PV_FLUSH = KVM_FEATURES & ~(1 << KVM_FEATURE_PV_TLB_FLUSH);
/** "KVMKVMKVM\0\0\0" as ebx, ecx, edx. */
const KVM_SIGNATURE: readonly [number, number, number] = [0x4b4d564b, 0x564b4d56, 0x4d];

/**
 * This vCPU's overrides and its PV flush counts (which tests read). `pvTlbFlush` false: the
 * feature is off (kvm-nopvflush), and remote flushes are native_flush_tlb_others.
 */
export function createKvm(ctx: BackendContext, native: PvOps, pvTlbFlush = true): { overrides: PvOverrides; flush: PvFlushStats } {
  const { hw } = ctx;
  const flush = newPvFlushStats();
  hw.setWalkReferences(TWO_DIMENSIONAL_WALK_REFERENCES);
  // The host half serves the guest's FLUSH_TLB requests; without the feature none are made.
  if (pvTlbFlush) installFlushOnLoad(ctx, flush);
  const features = pvTlbFlush ? KVM_FEATURES : KVM_FEATURES_NO_PV_FLUSH;
  const cpuidNative = nativeCpu(ctx, true).cpuid;
  const halting = <A extends unknown[]>(op: (...args: A) => void) => (...args: A): void => {
    hw.cost.vmexit(VmExitReason.Halt);
    op(...args);
  };
  const overrides: PvOverrides = {
    info: kvmInfo,
    init: { banner: () => `Booting paravirtualized kernel on ${kvmInfo.name}` },
    cpu: {
      cpuid: (leaf, subleaf) => {
        if (leaf === KVM_CPUID_SIGNATURE) return [KVM_CPUID_FEATURES, ...KVM_SIGNATURE];
        if (leaf === KVM_CPUID_FEATURES) return [features, 0, 0, 0];
        return cpuidNative(leaf, subleaf);
      },
    },
    irq: {
      safeHalt: halting(native.irq.safeHalt),
      halt: halting(native.irq.halt),
    },
    apic: kvmApic(ctx, native),
    ...(pvTlbFlush ? { mmu: { flushTlbOthers: kvmFlushTlbOthers(ctx, flush) } } : {}),
  };
  return { overrides, flush };
}

export const kvmBackend: Backend = Object.freeze({
  name: 'kvm',
  description: 'KVM with two-dimensional paging: plain PTE stores, PV TLB flush via steal-time preempted byte, PV send-IPI, PV EOI',
  create: (ctx: BackendContext, native: PvOps) => createKvm(ctx, native).overrides,
});

export const kvmNoPvFlushBackend: Backend = Object.freeze({
  name: 'kvm-nopvflush',
  description: 'KVM as kvm with KVM_FEATURE_PV_TLB_FLUSH off (kvm-pv-tlb-flush=off): remote flushes IPI every target, preempted or not',
  create: (ctx: BackendContext, native: PvOps) => createKvm(ctx, native, false).overrides,
});
