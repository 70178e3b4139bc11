/**
 * The machine block: one SharedArrayBuffer beside guest RAM holding what the emulated hardware
 * and the main thread share with every vCPU — run control, each vCPU's local APIC, pvclock and
 * steal-time records, and what each vCPU is doing (for watchdog reports). Every word is declared
 * here once; the guest kernel's own shared data lives in guest RAM (src/kernel/layout.ts).
 *
 *   machine block (Int32 words)
 *   +---------------------------+  0
 *   | MACHINE_CTL               |  run state, stop request, exit status, online mask, ...
 *   +---------------------------+  MACHINE_CTL.WORDS
 *   | VCPU_BLOCK  cpu 0         |  APIC | IPI accounting | pvclock | steal time | activity
 *   | VCPU_BLOCK  cpu 1         |
 *   | ...                       |
 *   +---------------------------+  vcpuBase(cpus)
 *
 * Runs on any thread (pure offsets).
 */
import { defineStruct } from './struct.js';

/** Machine-wide run control. */
export const MACHINE_CTL = defineStruct(
  'machine_ctl',
  {
    /** RunState: written by the main thread (Running, StopRequested) and vCPUs (Shutdown, Aborted). */
    runState: 1,
    /** Guest exit_group status of the init task, valid once runState is Shutdown. */
    exitStatus: 1,
    /** CPU id + 1 of the vCPU that aborted the run (0: none). */
    abortCpu: 1,
    /** Bitmask of vCPUs that finished secondary bring-up (bit i = cpu i), two words. */
    onlineMask: 2,
    /** Number of vCPUs whose run loop has ended. */
    finishedCpus: 1,
    /** Set to 1 by the boot CPU when the kernel is up and the workload's init task exists. */
    bootDone: 1,
  },
  16,
);

export const enum RunState {
  Booting = 0,
  Running = 1,
  /** The main thread asks the workload to finish (its --seconds elapsed). */
  StopRequested = 2,
  /** The guest called exit_group on its last process; vCPUs leave their loops. */
  Shutdown = 3,
  /** A vCPU failed (exception, watchdog); everyone leaves at once. */
  Aborted = 4,
}

/** Number of interrupt vectors, and words in a 256-bit IRR/ISR bitmap. */
export const APIC_VECTORS = 256;
export const APIC_BITMAP_WORDS = APIC_VECTORS / 32;

/**
 * One vCPU's block. The APIC part mirrors the xAPIC registers pvemu models; the pvclock and
 * steal-time parts follow the KVM ABI layouts (Linux arch/x86/include/asm/pvclock-abi.h and arch/x86/include/uapi/asm/kvm_para.h) word for word.
 */
export const VCPU_BLOCK = defineStruct(
  'vcpu_block',
  {
    // --- local APIC, line 0: every word a sender touches, so an IPI moves one cache line ---
    /**
     * The word a running vCPU polls and senders publish with one Atomics.or: bits 0..15 are
     * IPIs of vectors 0xf0..0xff themselves, the rest say where else to look and whether the
     * owner sleeps (PENDING_* in src/hw/apic.ts).
     */
    pending: 1,
    /** Incoming IPIs of vectors below 0xf0: bit v set = vector v sent. Senders Atomics.or, the owner takes them with Atomics.exchange. */
    irr: APIC_BITMAP_WORDS,
    /**
     * Hypervisor requests for this vCPU (HV_* bits, src/hw/cpu.ts): work the hypervisor does on
     * the vCPU's own thread at its next boundary, whatever its IF — a remote TLB flush, a park.
     */
    hvPending: 1,
    /** STARTUP IPI received: start vector | 0x100 (0 = still waiting for SIPI). */
    startup: 1,
    /** Futex word a halted vCPU sleeps on; a sender that finds it halted bumps it and notifies. */
    doorbell: 1,
    pad0: 4,
    // --- local APIC, owner-side registers ---
    /**
     * The IRR proper: every vector taken from the incoming words and not yet accepted. Written
     * only by the owner (plain stores); other threads read it for diagnostics only.
     */
    irrLatched: APIC_BITMAP_WORDS,
    /** In-Service Register: vectors accepted and not yet EOI'd. Written only by the owner. */
    isr: APIC_BITMAP_WORDS,
    /** Incoming interrupts that are not IPIs (the LAPIC timer, injected vectors), as `irr`. */
    extIrr: APIC_BITMAP_WORDS,
    /** Task Priority Register (vector class 0..15 in bits 7..4). Owner only. */
    tpr: 1,
    /** Interrupt Command Register, low and high halves (high: destination in bits 31..24). */
    icrLo: 1,
    icrHi: 1,
    /** LVT timer entry: vector, mask bit 16, periodic bit 17. Written by the owner, read by the clock. */
    lvtTimer: 1,
    /** Timer initial count, in bus cycles (the bus runs at APIC_BUS_HZ). */
    timerInitialCount: 1,
    /** Timer divide configuration, as the divisor itself (1, 2, 4, ... 128). */
    timerDivide: 1,
    pad1: 2,
    // --- pvclock_vcpu_time_info (32 bytes, arch/x86/include/asm/pvclock-abi.h) ---
    pvclock: 8,
    // --- kvm_steal_time (64 bytes, arch/x86/include/uapi/asm/kvm_para.h) ---
    stealTime: 16,
    // --- activity, for watchdog and crash reports (written by the owner, read by anyone) ---
    /** VcpuActivity value. */
    activity: 1,
    /** Current task id, 0 for idle. */
    currentTid: 1,
    /** Last system call number entered, -1 none. */
    lastSyscall: 1,
    /** What this vCPU is waiting for (WaitKind), 0 when not waiting. */
    waitKind: 1,
    /** The CPU or object it waits on (meaning depends on waitKind). */
    waitTarget: 1,
    /** Bumped by the vCPU at every run slice and slow wait: the main thread's sign of life. */
    heartbeat: 1,
    /** SchedState: the overcommit scheduler's decision for this vCPU (src/machine/sched). */
    schedState: 1,
  },
  16,
);

/** Offsets inside the pvclock record, in words (pvclock_vcpu_time_info). */
export const PVCLOCK = defineStruct('pvclock_vcpu_time_info', {
  version: 1,
  pad0: 1,
  tscTimestampLo: 1,
  tscTimestampHi: 1,
  systemTimeLo: 1,
  systemTimeHi: 1,
  tscToSystemMul: 1,
  /** s8 tsc_shift, u8 flags, u8 pad[2], packed little-endian in one word. */
  shiftFlags: 1,
});

/** Offsets inside the steal-time record, in words (kvm_steal_time: u64 steal, u32 version, u32 flags, u8 preempted, pad to 64 bytes). */
export const STEAL_TIME = defineStruct('kvm_steal_time', {
  stealLo: 1,
  stealHi: 1,
  version: 1,
  flags: 1,
  /** u8 preempted in the low byte; the rest of the word is padding. */
  preempted: 1,
  pad: 11,
});

export const enum VcpuActivity {
  Offline = 0,
  Booting = 1,
  User = 2,
  Kernel = 3,
  Interrupt = 4,
  Idle = 5,
  Halted = 6,
  Finished = 7,
  /** Parked by the overcommit scheduler: runnable, but without a physical CPU. */
  Descheduled = 8,
}

export const VCPU_ACTIVITY_NAMES = [
  'offline', 'booting', 'running user code', 'in the kernel', 'handling an interrupt', 'idle',
  'halted', 'finished', 'descheduled by the hypervisor',
] as const;

/** The hypervisor scheduler's word per vCPU (written by the main thread, read by the vCPU). */
export const enum SchedState {
  /** The vCPU may run (it has a physical CPU). */
  Running = 0,
  /** The vCPU must park at its next boundary and wait until Running again. */
  Descheduled = 1,
}

export const enum WaitKind {
  None = 0,
  /** Waiting for a call-function (or flush) request to CPU waitTarget to be acknowledged. */
  CallAck = 1,
  /** Spinning on a kernel lock at guest-physical word waitTarget. */
  Lock = 2,
  /** Waiting for CPU waitTarget to come online. */
  CpuOnline = 3,
  /** In a hypercall, waiting for CPU waitTarget to flush its TLB (Xen's remote flush). */
  HvFlushAck = 4,
  /** Waiting for a hypervisor lock; waitTarget is the lock word's index in the backend's state. */
  HvLock = 5,
  /** An application processor waiting for its STARTUP IPI from CPU waitTarget. */
  Startup = 6,
  /** Descheduled: waiting for the hypervisor scheduler to give this vCPU a physical CPU. */
  Scheduler = 7,
  /** Waiting for CPU waitTarget's backend to finish building shared hypervisor state. */
  HvSetup = 8,
  /** A page fault waiting for the OOM killer's victim, process waitTarget, to free its memory. */
  OomVictim = 9,
}

export const WAIT_KIND_NAMES = [
  'nothing', 'call-function acknowledgement', 'kernel lock', 'CPU online', 'hypervisor flush acknowledgement',
  'hypervisor lock', 'STARTUP IPI', 'a physical CPU', 'hypervisor setup', 'OOM victim',
] as const;

/** How describeVcpu names a wait's target: a CPU, an address or word, or nothing. */
export function waitTargetIsCpu(kind: WaitKind): boolean {
  return kind !== WaitKind.Lock && kind !== WaitKind.HvLock && kind !== WaitKind.Scheduler && kind !== WaitKind.OomVictim;
}

/** Word index of cpu's block in the machine block. */
export function vcpuBase(cpu: number): number {
  return MACHINE_CTL.WORDS + cpu * VCPU_BLOCK.WORDS;
}

/** Bytes needed for a machine with `cpus` vCPUs. */
export function machineBlockBytes(cpus: number): number {
  return vcpuBase(cpus) * 4;
}
