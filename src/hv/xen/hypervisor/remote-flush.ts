/**
 * The hypervisor's remote TLB flush (mmuext_op TLB_FLUSH_MULTI / INVLPG_MULTI / *_ALL): no guest
 * IPI, no guest handler. The initiator posts a request in each target's mailbox in hvState and
 * kicks it (ApicBus.kick, HV_FLUSH); each target flushes its own TLB at its next boundary — in the
 * hypervisor, whatever its IF — and acknowledges; the hypercall returns once every target has, or
 * is descheduled. Runs on vCPU workers: `flushOthers` on the initiator, `serviceOwn` on a target.
 *
 * Words, per target T (src/hv/xen/hypervisor/layout.ts XEN_VCPU): flushRequest (what T owes: FLUSH_INVLPG |
 * page, or FLUSH_FULL), postSeq (requests posted to T), doneSeq (the postSeq T last flushed for).
 *
 *   initiator I, for target T                 target T, at a boundary (HV_FLUSH) or on resume
 *   1. merge the request into flushRequest    a. s := load(postSeq)
 *      (CAS; two different ones -> FULL)      b. r := exchange(flushRequest, 0)
 *   2. ticket := add(postSeq, 1) + 1          c. flush r on T's own TLB
 *   3. kick(T, HV_FLUSH)                      d. doneSeq := s (only T writes it)
 *   4. wait until doneSeq >= ticket, or until T is descheduled
 *
 * Why the wait is right: if T's (a) read a postSeq >= ticket, I's add (2) came before it, so I's
 * merge (1) did too, and T's exchange (b) — after (a) — took I's request, or an earlier pass of T
 * took it and finished its flush before this pass stored doneSeq (d). If (a) saw less, T does not
 * claim the ticket, and I's kick (3), after its add, makes T run the handler again. Coalescing
 * only ever widens a request (to a full flush), so whoever takes a merged request flushes at
 * least what each initiator asked for.
 *
 * A descheduled target is not waited for once it has parked (its activity word says so: T
 * publishes it itself in src/vcpu/park.ts, after its last guest access and before it sleeps):
 * its request stays posted, and T serves it from its resume hook before it runs guest code again
 * (counted as a deferred flush on T). Why that is exact: I loads T's activity after posting; if
 * it reads parked, T's store of parked came first, and T's resume stores its activity back
 * before it runs the hook — after I's load, so after I's post: the hook takes I's request. The
 * scheduler's decision alone (schedState Descheduled) is not enough: it is stored before T
 * reaches a boundary and parks, and until then T runs guest code on its old entries (the
 * coherence checker caught exactly that, docs/coherence.md).
 *
 * While I waits it takes its own pending work (hw.takeInterrupts: hypervisor requests whatever IF,
 * guest interrupts if IF is set) through its VcpuWait (src/hw/wait.ts), as the kernel does while
 * it waits for call acknowledgements, so two vCPUs flushing each other both make progress.
 */
import { describeVcpu } from '../../../hw/activity.js';
import { HV_FLUSH, type VcpuHardware } from '../../../hw/cpu.js';
import { VCPU_BLOCK, VcpuActivity, WaitKind, vcpuBase } from '../../../hw/layout.js';
import { PARKED_ACTIVITY } from '../../../hw/sched-word.js';
import { TakeWhileWaiting, type VcpuWait, type WaitSite } from '../../../hw/wait.js';
import { PAGE_MASK } from '../../../hw/paging.js';
import type { CpuMask } from '../../../pv/cpumask.js';
import { FLUSH_FULL, FLUSH_INVLPG, FLUSH_KIND_MASK, XEN_VCPU, type XenLayout } from './layout.js';
import { TraceKind } from '../../../stats/trace-buffer.js';
import type { BackendFaults } from '../../backend.js';

/** A flush request word: FLUSH_INVLPG with the page, or FLUSH_FULL. */
export function flushRequest(kind: number, va: number): number {
  return kind === FLUSH_INVLPG ? ((va & PAGE_MASK) | FLUSH_INVLPG) : FLUSH_FULL;
}

/** Two requests owed to one vCPU, as one: the same page stays a page, anything else a full flush. */
export function mergeFlushRequests(pending: number, incoming: number): number {
  if (pending === 0 || pending === incoming) return incoming;
  return FLUSH_FULL;
}

export class RemoteFlush {
  /** Ticket per target of the flushOthers in progress (a nested one gets its own array). */
  private tickets: Int32Array;
  private depth = 0;
  private readonly mine: number;
  /** The hypercall waiting now, for the watchdog's message. */
  private hypercall = '';
  /**
   * Step 4's wait: it takes this vCPU's hypervisor requests whatever IF says (and guest
   * interrupts if IF is set), so two vCPUs flushing each other both make progress.
   */
  private readonly site: WaitSite = {
    kind: WaitKind.HvFlushAck,
    take: TakeWhileWaiting.Always,
    describe: (cpu, c) =>
      `in the Xen ${this.hypercall} hypercall for cpu ${cpu} to flush its TLB; ${describeVcpu(c.machineWords, c.bus, cpu)}`,
  };

  constructor(
    private readonly words: Int32Array,
    private readonly layout: XenLayout,
    private readonly hw: VcpuHardware,
    /** How this vCPU waits for acknowledgements (the run's WaitPolicy). */
    private readonly wait: VcpuWait,
    /** Injected faults (BackendFaults.ignoreFlushMailbox, skipFlushOnResume); absent: none. */
    private readonly faults: BackendFaults = {},
  ) {
    this.tickets = new Int32Array(layout.cpus);
    this.mine = layout.vcpuBase(hw.cpu);
  }

  /** Install this vCPU's side: the HV_FLUSH handler and the resume hook. Owning vCPU, at boot. */
  install(): void {
    this.hw.onHypervisorRequest(HV_FLUSH, () => { this.serviceOwn(); });
    this.hw.onResume(() => {
      const trace = this.hw.trace;
      const t0 = trace !== null ? trace.now() : 0;
      if (this.serviceOwn(this.faults.skipFlushOnResume !== true)) {
        this.hw.cost.deferredFlush();
        // --trace: a flush owed while descheduled, done as the vCPU is loaded again.
        if (trace !== null) trace.span(TraceKind.ResumeFlush, t0, trace.now(), 0, 0, 0);
      }
    });
  }

  /** Flush this vCPU's own TLB: a page (its global entry too) or everything, global entries included. */
  flushLocal(kind: number, va: number): void {
    const { hw } = this;
    if (kind === FLUSH_INVLPG) {
      hw.mmu.invlpg(va);
      hw.cost.charge('flushSingle');
    } else {
      // Xen's flushes drop global entries too (flushtlb.c toggles CR4.PGE around the CR3 reload
      // when guest mappings may be global); pvemu's kernel maps its vmalloc area global.
      hw.tlb.flushAllIncludingGlobal();
      hw.cost.charge('flushGlobal');
    }
  }

  /**
   * Owning vCPU only: do what other vCPUs posted here, then acknowledge. Returns true if there
   * was something to flush. `flush` false is the injected fault skipFlushOnResume: the requests
   * are taken and acknowledged, and the TLB keeps its entries.
   */
  serviceOwn(flush = true): boolean {
    // Injected fault: the mailbox is never served, so initiators wait until the watchdog names us.
    if (this.faults.ignoreFlushMailbox === true) return false;
    const w = this.words;
    const b = this.mine;
    // ORDERING: (a) before (b) in the header: pairs with the initiators' add of postSeq after
    // their merge.
    const posted = Atomics.load(w, b + XEN_VCPU.postSeq);
    // ORDERING: (b): pairs with the initiators' compareExchange of flushRequest.
    const request = Atomics.exchange(w, b + XEN_VCPU.flushRequest, 0);
    if (request !== 0 && flush) {
      this.flushLocal(request & FLUSH_KIND_MASK, request & PAGE_MASK);
      this.hw.counters.flushRequestsHandled++;
    }
    if (((posted - w[b + XEN_VCPU.doneSeq]!) | 0) > 0) {
      // ORDERING: (d), after the flush: pairs with the initiators' Atomics.load of doneSeq.
      Atomics.store(w, b + XEN_VCPU.doneSeq, posted);
    }
    return request !== 0;
  }

  /**
   * Make every vCPU in `targets` flush (kind, va): this one at once, the others through their
   * mailboxes; return when each has, or is descheduled. `hypercall` names the command for
   * watchdog messages.
   */
  flushOthers(targets: CpuMask, kind: number, va: number, hypercall: string): void {
    const self = this.hw.cpu;
    const request = flushRequest(kind, va);
    const tickets = this.depth === 0 ? this.tickets : new Int32Array(this.layout.cpus);
    this.depth++;
    try {
      for (let c = targets.next(0); c >= 0; c = targets.next(c + 1)) {
        if (c !== self) tickets[c] = this.post(c, request);
      }
      if (targets.has(self)) this.flushLocal(kind, va);
      for (let c = targets.next(0); c >= 0; c = targets.next(c + 1)) {
        if (c !== self) this.waitFor(c, tickets[c]!, hypercall);
      }
    } finally {
      this.depth--;
    }
  }

  /** Steps 1-3 of the header. Returns the ticket. Any vCPU, for target `cpu`. */
  private post(cpu: number, request: number): number {
    const w = this.words;
    const b = this.layout.vcpuBase(cpu);
    for (;;) {
      // ORDERING: the value the compareExchange below checks; pairs with other initiators' merges
      // and the target's exchange.
      const pending = Atomics.load(w, b + XEN_VCPU.flushRequest);
      const merged = mergeFlushRequests(pending, request);
      if (merged === pending) break;
      // ORDERING: (1): pairs with the target's Atomics.exchange (b).
      if (Atomics.compareExchange(w, b + XEN_VCPU.flushRequest, pending, merged) === pending) break;
    }
    // ORDERING: (2), after the merge: pairs with the target's load of postSeq (a).
    const ticket = (Atomics.add(w, b + XEN_VCPU.postSeq, 1) + 1) | 0;
    this.hw.bus.kick(cpu, HV_FLUSH);
    return ticket;
  }

  private done(cpu: number, ticket: number): boolean {
    // ORDERING: pairs with the target's Atomics.store of doneSeq (d), after its flush.
    return ((Atomics.load(this.words, this.layout.vcpuBase(cpu) + XEN_VCPU.doneSeq) - ticket) | 0) >= 0;
  }

  /** Step 4: wait for `cpu` to acknowledge `ticket`, unless it is descheduled or gone. */
  private waitFor(cpu: number, ticket: number, hypercall: string): void {
    if (this.done(cpu, ticket)) return;
    const { hw, wait } = this;
    const mw = hw.machineWords;
    const block = vcpuBase(cpu);
    const outer = this.hypercall;
    this.hypercall = hypercall;
    wait.begin(this.site, cpu);
    while (!this.done(cpu, ticket)) {
      // ORDERING: read after our post and kick; pairs with the target's Atomics.store of its
      // parked activity (park.ts scheduleOut) and of its activity again as it resumes, before
      // its resume hook (see the header for why the target cannot run guest code unflushed).
      if (Atomics.load(mw, block + VCPU_BLOCK.activity) === PARKED_ACTIVITY) {
        hw.counters.shootdownDeferred++;
        break;
      }
      // A vCPU that left its run loop never translates again (the machine is stopping).
      // ORDERING: diagnostic word (src/hw/activity.ts); Finished is its last store.
      if (Atomics.load(mw, block + VCPU_BLOCK.activity) === VcpuActivity.Finished) break;
      wait.pause();
    }
    wait.end();
    this.hypercall = outer;
  }
}
