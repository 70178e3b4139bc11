/**
 * The steal-time record's `preempted` byte (kvm_steal_time.preempted, Linux arch/x86/include/uapi/asm/kvm_para.h
 * paravirt"): the one word of the hypervisor's steal-time protocol that three parties write.
 * Every Atomics access to it lives here. Any thread; each function names who may call it.
 *
 *   word STEAL_TIME.preempted (u8 preempted in the low byte, the rest padding)
 *     KVM_VCPU_PREEMPTED (1 << 0)  the vCPU was runnable when the host took its CPU away
 *     KVM_VCPU_FLUSH_TLB (1 << 1)  a guest asked for a TLB flush instead of sending an IPI
 *
 * Protocol (KVM's kvm_steal_time_set_preempted / record_steal_time, and the guest's
 * kvm_flush_tlb_multi):
 *
 *   host, vCPU V scheduled out while runnable:  store(word, PREEMPTED)        markPreempted
 *   guest initiator I, for target V:            s = load(word)                loadPreempted
 *                                               while s & PREEMPTED:
 *                                                 cas(word, s, s | FLUSH_TLB) requestFlush
 *                                                 success: skip V's IPI; done
 *                                                 failure: s = what it found; again
 *   host, V loaded again (before guest entry):  old = exchange(word, 0)       takeOnLoad
 *                                               if old & FLUSH_TLB: flush V's TLB
 *
 * Why no flush is lost: I's compare-exchange and V's exchange are both read-modify-writes of
 * the same word, so one of them comes first. If I's comes first, V's exchange returns FLUSH_TLB
 * and V flushes before it runs guest code. If V's comes first, the word is 0 and I's
 * compare-exchange (expecting PREEMPTED) fails and I, finding 0, keeps V in its IPI mask. (Linux
 * tries the compare-exchange once; retrying when another initiator's FLUSH_TLB request is what
 * changed the byte also skips V, where Linux would send one needless IPI.) If V was loaded and
 * parked again in between, I's request lands on the new PREEMPTED: still sound, since V is
 * parked again and flushes before its next guest access. The byte is set
 * only while V runs no guest code (src/vcpu/park.ts sets it on V's own thread as it parks),
 * so a target skipped by I cannot use a stale translation before its flush.
 */
import { STEAL_TIME, VCPU_BLOCK, vcpuBase } from './layout.js';
import { KVM_VCPU_FLUSH_TLB, KVM_VCPU_PREEMPTED } from './pvclock.js';

/** Word index of cpu's preempted word in the machine block. */
export function preemptedIndex(cpu: number): number {
  return vcpuBase(cpu) + VCPU_BLOCK.stealTime + STEAL_TIME.preempted;
}

/** Any thread: the byte as it is now. */
export function loadPreempted(words: Int32Array, cpu: number): number {
  // ORDERING: pairs with markPreempted's store and takeOnLoad's exchange: a reader sees
  // PREEMPTED only between the vCPU's park and its next load.
  return Atomics.load(words, preemptedIndex(cpu)) & 0xff;
}

/**
 * The vCPU `cpu` itself, as it parks while runnable (the host's kvm_steal_time_set_preempted
 * when it schedules a runnable vCPU out). The byte is 0 here: the last load cleared it.
 */
export function markPreempted(words: Int32Array, cpu: number): void {
  // ORDERING: before the vCPU waits on its schedState word, and after its last guest access;
  // pairs with an initiator's loadPreempted and requestFlush.
  Atomics.store(words, preemptedIndex(cpu), KVM_VCPU_PREEMPTED);
}

/**
 * A guest initiator, for a target it saw PREEMPTED (`seen`): ask for a flush on its next load.
 * Returns the byte found: `seen` when the request stands (the target will flush before it
 * runs); anything else when the byte changed meanwhile (the caller looks again: still
 * PREEMPTED means another initiator's request got there first).
 */
export function requestFlush(words: Int32Array, cpu: number, seen: number): number {
  // ORDERING: compare-exchange against the target's takeOnLoad exchange (see the header).
  return Atomics.compareExchange(words, preemptedIndex(cpu), seen, seen | KVM_VCPU_FLUSH_TLB) & 0xff;
}

/**
 * The vCPU `cpu` itself, on being loaded again, before any guest code runs (record_steal_time's
 * xchg): clears the byte and returns what it held.
 */
export function takeOnLoad(words: Int32Array, cpu: number): number {
  // ORDERING: exchange against initiators' requestFlush compare-exchange (see the header).
  return Atomics.exchange(words, preemptedIndex(cpu), 0) & 0xff;
}
