/**
 * The torture campaign's plan (docs/torture.md): random valid machine configurations with a
 * deliberately injected bug, drawn from a seed, and the judgement of how each run ended. Pure:
 * no process state, no I/O, so the same seed gives the same plan on every host and the unit
 * tests can draw hundreds of runs. Main thread (CLI); src/cli/torture.ts runs the plan.
 *
 * A campaign under seed S draws run i from its own seed streamSeed(S, i) (src/lib/prng.ts), so
 * one run can be replayed from that number alone (`--replay RUNSEED`), whatever came before it.
 */
import { describeBackends } from '../hv/registry.js';
import { DEFAULT_TLB } from '../hw/tlb.js';
import { InternalError } from '../lib/errors.js';
import { streamSeed, Xorshift32 } from '../lib/prng.js';
import type { MachineConfig } from '../machine/config.js';
import type { FaultInjection, InjectedCpus } from '../vcpu/task-args.js';
import { describeWorkloads, findWorkload } from '../workloads/registry.js';
import type { WorkloadParam } from '../workloads/params.js';

const MIB = 1024 * 1024;

/** vCPU counts drawn: one (no remote flush at all), two, and the overcommitted 4 and 8 of a 2-core host. */
export const TORTURE_CPUS: readonly number[] = [1, 2, 4, 8];
/** Timer frequencies drawn: Linux's CONFIG_HZ choices 100, 250 and 1000. */
export const TORTURE_HZ: readonly number[] = [100, 250, 1000];
/** Guest RAM drawn, in MiB: from the test suite's 64 MiB to the default 256 MiB. */
export const TORTURE_MEM_MIB: readonly number[] = [64, 128, 256];
/**
 * Every run's watchdog limit, in ms: shorter than the default 5000 so a withheld acknowledgement
 * is found in seconds. The machine scales it by the vCPUs sharing each physical CPU (waitPolicy,
 * src/hw/wait.ts; docs/architecture.md, "Waiting"), which is what keeps it from tripping on an
 * overcommitted run's descheduled targets.
 */
export const TORTURE_WATCHDOG_MS = 2000;
/**
 * Host-time runs last this long after boot, in seconds, per vCPU's share of a host core (see
 * hostSeconds): long enough for thousands of shootdowns when every vCPU has a core.
 */
export const HOST_SECONDS = { min: 0.3, max: 0.8 } as const;
/**
 * The host cores a plan assumes: the 2-core hosts pvemu targets. A plan must not depend on the
 * host it is drawn on (a replay elsewhere must draw the same run), so it assumes this one.
 */
export const PLANNED_HOST_CORES = 2;
/**
 * Virtual-time runs last this long in modelled seconds. A modelled second takes hundreds of host
 * seconds (the report's "host time per modelled second": about 300 for 4 vCPUs on a quiet 2-core
 * host), so a run stays at a few host seconds; 3 ms is what the full virtual-time matrix
 * (test/machine/virtual-time.test.ts) gives every workload without overcommit.
 */
export const VIRTUAL_SECONDS = { min: 0.003, max: 0.01 } as const;
/**
 * vCPU counts a virtual-time run may have. Overcommitted virtual runs need 30 modelled ms (200
 * for ctxswitch) for every thread to get a slice (test/machine/virtual-time.test.ts), a minute
 * of host time, so virtual runs are drawn without --pcpus and at most 4 vCPUs.
 */
export const VIRTUAL_CPUS: readonly number[] = [1, 2, 4];
/** One run in this many is in virtual time: its interleavings are other ones than the host's. */
const VIRTUAL_ONE_IN = 6;
/** One multi-vCPU host-time run in this many is overcommitted (--pcpus below --cpus). */
const OVERCOMMIT_ONE_IN = 4;
/** One run in this many gets no injection: the control group, which must simply pass. */
const NO_INJECTION_ONE_IN = 4;

/**
 * The workloads whose operations send TLB shootdowns, weighted above the rest: they are where a
 * dropped flush or a missing acknowledgement has something to break. `everyThreadInitiates`:
 * every thread sends shootdowns; false means thread 0 alone does (mprotect's and munmap's
 * toggler, idle's active thread). Thread indexes go by arrival at the start barrier, not by vCPU
 * (src/workloads/harness.ts), so in those workloads the injected CPU may well be the initiator
 * itself, to which nobody sends a request. `targetsUseThePages`: the targets of a shootdown go
 * on to use the pages it covers with the entries they had (mprotect's and munmap's probers, and
 * fork_cow's threads writing their own regions after another thread's fork write-protected the
 * whole mm). In tlb_flush1-3, ebizzy and vmalloc each thread touches only its own pages, so a
 * target that kept its old entries for another thread's page never uses them; idle's sleepers
 * use the pages only after switching back to the mm, which flushes by the mm's tlb_gen whatever
 * flush they were sent (lazy TLB). There only the injected CPU's own dropped flushes show.
 * `shootsDown`: whether this configuration of it sends shootdowns (ebizzy reuses one buffer,
 * with no munmap, when mmap_each is 0).
 */
interface ShootdownWorkload {
  readonly everyThreadInitiates: boolean;
  readonly targetsUseThePages: boolean;
  shootsDown(params: Readonly<Record<string, number>>): boolean;
}

const always = (): boolean => true;

export const SHOOTDOWN_WORKLOADS: Readonly<Record<string, ShootdownWorkload>> = Object.freeze({
  tlb_flush1: { everyThreadInitiates: true, targetsUseThePages: false, shootsDown: always },
  tlb_flush2: { everyThreadInitiates: true, targetsUseThePages: false, shootsDown: always },
  tlb_flush3: { everyThreadInitiates: true, targetsUseThePages: false, shootsDown: always },
  mprotect: { everyThreadInitiates: false, targetsUseThePages: true, shootsDown: always },
  munmap: { everyThreadInitiates: false, targetsUseThePages: true, shootsDown: always },
  idle: { everyThreadInitiates: false, targetsUseThePages: false, shootsDown: always },
  ebizzy: { everyThreadInitiates: true, targetsUseThePages: false, shootsDown: (p) => p['mmap_each'] === 1 },
  fork_cow: { everyThreadInitiates: true, targetsUseThePages: true, shootsDown: always },
  vmalloc: { everyThreadInitiates: true, targetsUseThePages: false, shootsDown: always },
});

/** A shootdown workload is drawn this many times as often as any other. */
const SHOOTDOWN_WEIGHT = 3;

/**
 * The largest value drawn for a workload parameter, below its declared maximum, so a run fits
 * its guest RAM at 8 vCPUs and gets to its first operation at once: the declared ranges go up to what
 * one careful run can take (tlb_flush1's 2 GiB region, fork_cow's 1024 pages in every child),
 * not what a random one should. A parameter not listed here is drawn from its minimum up to its
 * default, the value its workload's author runs it at.
 */
const MODEST_MAX: Readonly<Record<string, Readonly<Record<string, (cfg: MachineConfig) => number>>>> = Object.freeze({
  tlb_flush1: { region_mb: () => 64 },
  tlb_flush2: { region_kb: () => 2048 },
  // Shared pages stay resident until the remap: all threads' regions together in a quarter of RAM.
  tlb_flush3: { region_mb: () => 8, budget_mb: (cfg) => cfg.memBytes / MIB / 4 },
  mprotect: { pages: () => 64, dwell: () => 8 },
  munmap: { pages: () => 64, dwell: () => 8 },
  idle: { pages: () => 64 },
  touch: { pages: () => 512 },
  membarrier: { senders: () => 8 },
  // Every thread stores all its chunks before its first operation, through the MMU with
  // --check's slow path: 8 threads of 8 × 80 KiB on vmi were still at it 3 s into a run.
  ebizzy: { chunks: () => 8, chunk_kb: () => 16 },
  fork_cow: { pages: () => 64 },
  ctxswitch: { procs: () => 4, pages: () => 16 },
});

/**
 * The backends whose remote TLB flush goes through the guest's call-function queues
 * (smp_call_function_many, src/kernel/smp.ts): native, and those that keep the native path
 * (docs/architecture.md, "A shootdown, file by file"). Xen's remote flush is the hypervisor's
 * mailbox instead, with no guest acknowledgement to withhold.
 */
export const CALL_QUEUE_FLUSH_BACKENDS: ReadonlySet<string> = new Set(['native', 'vmi', 'shadow', 'kvm', 'kvm-nopvflush']);

/** The seeded draws a plan makes: a Xorshift32 stream (src/lib/prng.ts) with the shapes it needs. */
export class Draw {
  private readonly rng: Xorshift32;

  constructor(seed: number) {
    this.rng = new Xorshift32(seed);
  }

  /** A uniform number in [0, 1). */
  unit(): number {
    return this.rng.next() / 2 ** 32;
  }

  /** A whole number from `lo` to `hi`, both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.unit() * (hi - lo + 1));
  }

  /** A number from `lo` to `hi`, rounded to `decimals` places. */
  real(lo: number, hi: number, decimals: number): number {
    const scale = 10 ** decimals;
    return Math.round((lo + this.unit() * (hi - lo)) * scale) / scale;
  }

  /** True once in `n` draws on average. */
  oneIn(n: number): boolean {
    return this.int(1, n) === 1;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new InternalError('torture plan: pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** One of `items`, each as likely as its weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((n, [, w]) => n + w, 0);
    let at = this.unit() * total;
    for (const [item, w] of items) {
      if (at < w) return item;
      at -= w;
    }
    return items[items.length - 1]![0];
  }

  /** A 32-bit seed for something else (MachineConfig.seed). */
  seed(): number {
    return this.rng.next();
  }
}

/** What caught an injected bug: --check, a watchdog, the workload's self-check, an end-of-run conservation law. */
export type Detector = 'check' | 'watchdog' | 'self-check' | 'conservation';

/** What one child process said about its run (src/cli/torture-child.ts), or how it failed to. */
export type RunOutcome =
  /** Machine.run() returned: the workload's self-check says how it went. */
  | { kind: 'returned'; hostMs: number; ops: number; selfCheck: { passed: boolean; message: string }; perCpu: CpuExposure[] }
  /** Machine.run() (or new Machine) threw: the error's class name and message. */
  | { kind: 'threw'; hostMs: number; error: { name: string; message: string } }
  /** The child ran past its host-time limit and was killed: a hang nothing inside detected. */
  | { kind: 'hang'; hostMs: number; limitMs: number }
  /** The child ended without its line: killed by a signal, out of memory, a bug before run(). */
  | { kind: 'crashed'; hostMs: number; status: number | null; signal: string | null; stderr: string };

/**
 * Per vCPU, what an injected fault had to act on: the call-function requests it ran, the TLB
 * flushes it was asked for (counted even when an injection drops them: src/hw/tlb.ts), and the
 * targets its own shootdowns did not interrupt (lazy ones, and on kvm preempted ones, each left
 * a FLUSH_TLB request: src/hv/kvm/guest/pv-flush.ts).
 */
export interface CpuExposure {
  callRequestsHandled: number;
  flushes: number;
  shootdownDeferred: number;
}

/**
 * One kind of deliberate bug the campaign injects. Adding a kind is adding an entry to
 * INJECTIONS (docs/torture.md, "Adding an injection kind").
 */
export interface InjectionKind {
  /** Its name in the table and in --inject. */
  readonly name: string;
  /** What the bug is and what should catch it, one line. */
  readonly summary: string;
  /** Whether the bug has anything to break in `cfg` (a remote flush, a call to withhold). */
  applies(cfg: MachineConfig): boolean;
  /** The MachineConfig.inject for `cfg`, drawn from `draw`; only called when applies(cfg). */
  draw(draw: Draw, cfg: MachineConfig): FaultInjection;
  /** The injection for the table: "noAck cpu 2". */
  describe(inject: FaultInjection): string;
  /** The detector that caught it in `outcome`, or undefined if none of its detectors did. */
  caughtBy(outcome: RunOutcome, inject: FaultInjection): Detector | undefined;
  /**
   * For a run that passed: why the fault may never have acted (a note on the MISSED line), or
   * undefined if it did act. Absent where no per-CPU count can tell.
   */
  inertBecause?(perCpu: readonly CpuExposure[], inject: FaultInjection): string | undefined;
}

/** Whether `cfg` runs a shootdown workload configured to send shootdowns. */
function shootsDown(cfg: MachineConfig): ShootdownWorkload | undefined {
  const w = Object.hasOwn(SHOOTDOWN_WORKLOADS, cfg.workload) ? SHOOTDOWN_WORKLOADS[cfg.workload] : undefined;
  return w !== undefined && w.shootsDown(cfg.params ?? {}) ? w : undefined;
}

/**
 * Whether `cfg` has an initiator on another vCPU than any one target sending that target
 * call-function requests through the guest's queues (src/kernel/smp.ts): membarrier IPIs every
 * CPU running the process that way on every backend, and with senders 0 (all) or at least 2 some
 * sender runs elsewhere; a shootdown workload does on a backend whose remote flush is the native
 * path, when every thread initiates.
 */
function callQueueTarget(cfg: MachineConfig): boolean {
  if (cfg.cpus < 2) return false;
  if (cfg.workload === 'membarrier') return (cfg.params?.['senders'] ?? 0) !== 1;
  return callQueueFlushes(cfg) && shootsDown(cfg)?.everyThreadInitiates === true;
}

/** Whether `cfg` has 2 or more vCPUs on a backend whose remote flush is the kernel's call queues. */
function callQueueFlushes(cfg: MachineConfig): boolean {
  return cfg.cpus >= 2 && CALL_QUEUE_FLUSH_BACKENDS.has(cfg.backend);
}

/** Whether `cfg` has more vCPUs than physical CPUs (--pcpus): vCPUs are descheduled. */
function overcommitted(cfg: MachineConfig): boolean {
  return cfg.cpus >= 2 && cfg.pcpus !== undefined && cfg.pcpus < cfg.cpus;
}

/**
 * The most pages a region may have for the TLB (DEFAULT_TLB: 64 sets of 4 ways) to still hold
 * entries from its end when its task, walking it again from the start, gets there: two per set.
 */
const TLB_KEPT_PAGES = (DEFAULT_TLB.sets * DEFAULT_TLB.ways) / 2;

/**
 * Whether `cfg`'s shootdowns flush ranges of more than one page whose other pages the TLB
 * still holds, and a task then uses, when it comes back to them: only there does a flush of the
 * first page alone leave an entry that gets used. mprotect's, munmap's and idle's `pages`, and
 * ebizzy's chunk, from 2 pages to TLB_KEPT_PAGES; vmalloc's two-page kernel stacks. Not:
 *   - tlb_flush1 and tlb_flush3, which drop regions of 1 MiB (256 pages) and more and touch them
 *     again from the start: by the time a thread gets to a page the flush left, the TLB has
 *     evicted it (the torture campaign missed the bug in every such run);
 *   - tlb_flush2, whose only range flush is its munmap every 256 pages: the entries it leaves are
 *     read-only ones for the zero page (each page is read back after its own MADV_DONTNEED), and
 *     the thread's next access to a page is a store, which a read-only entry does not serve
 *     (the matrix missed the bug in all 36 of its tlb_flush2 cells);
 *   - fork_cow, which flushes its whole mm at a fork and single pages at copy-on-write faults.
 */
function rangesTheTlbKeeps(cfg: MachineConfig): boolean {
  const p = cfg.params ?? {};
  switch (cfg.workload) {
    case 'mprotect':
    case 'munmap':
    case 'idle':
      return (p['pages'] ?? 0) >= 2 && (p['pages'] ?? 0) <= TLB_KEPT_PAGES;
    case 'ebizzy':
      return (p['chunk_kb'] ?? 0) / 4 >= 2 && (p['chunk_kb'] ?? 0) / 4 <= TLB_KEPT_PAGES;
    case 'vmalloc':
      return true;
    default:
      return false;
  }
}

/** A self-check that failed after real work: the workload saw the bug (not a run too short to do anything). */
function selfCheckCaught(outcome: RunOutcome): boolean {
  if (outcome.kind === 'threw') return outcome.error.name === 'SelfCheckError';
  return outcome.kind === 'returned' && !outcome.selfCheck.passed && outcome.ops > 0;
}

/** What catches a vCPU using translations a flush should have removed: --check, or the workload's own check. */
function staleEntryCaughtBy(outcome: RunOutcome): Detector | undefined {
  if (outcome.kind === 'threw' && outcome.error.name === 'CoherenceError') return 'check';
  return selfCheckCaught(outcome) ? 'self-check' : undefined;
}

/**
 * A WatchdogError naming `cpu`: the stuck CPU, or the one waiting on it (for its acknowledgement,
 * or for a lock its waiting initiator holds) — the watchdog's sentence names both.
 */
function watchdogNamed(outcome: RunOutcome, cpu: number | undefined): boolean {
  return outcome.kind === 'threw' && outcome.error.name === 'WatchdogError' && new RegExp(`\\bcpu ${cpu ?? -1}\\b`).test(outcome.error.message);
}

/** Half the time from the first event; otherwise after 1 to 16, so the fault starts mid-run, in full swing rather than at boot. */
function drawAfter(d: Draw): number | undefined {
  return d.oneIn(2) ? undefined : d.int(1, 16);
}

const afterText = (after: number | undefined): string => (after !== undefined ? ` after ${after}` : '');

/** A vCPU whose TLB ignores flushes: a target that acknowledges shootdowns without flushing. */
const dropFlushes: InjectionKind = {
  name: 'dropFlushes',
  summary: 'a vCPU\'s TLB ignores every flush but CR3 writes (inject.dropFlushesCpu); caught by --check or the workload\'s self-check',
  applies: (cfg) => cfg.cpus >= 2 && shootsDown(cfg) !== undefined,
  draw: (d, cfg) => {
    const cpu = d.int(0, cfg.cpus - 1);
    const after = drawAfter(d);
    return after === undefined ? { dropFlushesCpu: cpu } : { dropFlushesCpu: cpu, dropFlushesAfter: after };
  },
  describe: (i) => `dropFlushes cpu ${i.dropFlushesCpu ?? '?'}${afterText(i.dropFlushesAfter)}`,
  caughtBy: (outcome) => staleEntryCaughtBy(outcome),
  inertBecause: (perCpu, i) => {
    const flushes = perCpu[i.dropFlushesCpu ?? -1]?.flushes;
    const after = i.dropFlushesAfter ?? 0;
    return flushes !== undefined && flushes <= after ? `cpu ${i.dropFlushesCpu} was asked for ${flushes} flushes, none past the first ${after}: none was dropped` : undefined;
  },
};

/** A vCPU that runs call-function requests but never acknowledges them: its initiator waits for ever. */
const noAck: InjectionKind = {
  name: 'noAck',
  summary: 'a vCPU runs call-function requests but never acknowledges them (inject.noAckCpu); caught by the watchdog naming a CPU',
  applies: callQueueTarget,
  draw: (d, cfg) => ({ noAckCpu: d.int(0, cfg.cpus - 1) }),
  describe: (i) => `noAck cpu ${i.noAckCpu ?? '?'}`,
  caughtBy: (outcome, i) => (watchdogNamed(outcome, i.noAckCpu) ? 'watchdog' : undefined),
  inertBecause: (perCpu, i) => {
    const calls = perCpu[i.noAckCpu ?? -1]?.callRequestsHandled;
    return calls === 0 ? `cpu ${i.noAckCpu} was sent no call-function request` : undefined;
  },
};

/**
 * A vCPU whose APIC loses its call-function and TLB-invalidate IPIs (the IRR bit dropped as it is
 * taken): the request sits in its queue with nobody to run it, and the initiator waits for ever.
 */
const dropIpis: InjectionKind = {
  name: 'dropIpis',
  summary: 'a vCPU\'s APIC loses every call-function and TLB-invalidate IPI it takes (inject.dropIpisCpu); caught by the watchdog naming a CPU',
  applies: callQueueTarget,
  draw: (d, cfg) => {
    const cpu = d.int(0, cfg.cpus - 1);
    const after = drawAfter(d);
    return after === undefined ? { dropIpisCpu: cpu } : { dropIpisCpu: cpu, dropIpisAfter: after };
  },
  describe: (i) => `dropIpis cpu ${i.dropIpisCpu ?? '?'}${afterText(i.dropIpisAfter)}`,
  caughtBy: (outcome, i) => (watchdogNamed(outcome, i.dropIpisCpu) ? 'watchdog' : undefined),
  // A lost IPI is sent and never handled: a run that passed held the IPI conservation law
  // (sent = handled + coalesced, src/machine/conservation.ts), so it lost none.
  inertBecause: (_perCpu, i) =>
    `the IPI conservation law held: cpu ${i.dropIpisCpu} lost no IPI (it took ${i.dropIpisAfter !== undefined ? `no more than the first ${i.dropIpisAfter}, which still pass` : 'no call-function or TLB-invalidate IPI'})`,
};

/**
 * Xen never serves one vCPU's flush mailbox (BackendFaults.ignoreFlushMailbox, src/hv/backend.ts):
 * an initiator waiting in the flush hypercall waits for ever; one that found the target parked
 * leaves its request posted, and the target resumes on its old entries. Those are used only where
 * threads share the pages one of them changes (mprotect, munmap, idle); elsewhere the run ends
 * with the requests still posted, which Xen's conservation law (src/hv/xen/hypervisor/audit.ts)
 * names by CPU.
 */
const xenIgnoreMailbox: InjectionKind = {
  name: 'xenIgnoreMailbox',
  summary: 'xen never serves a vCPU\'s flush mailbox (inject.xenIgnoreMailboxCpu); caught by the watchdog or xen\'s mailbox conservation law naming the CPU, or by --check',
  applies: (cfg) => cfg.backend === 'xen' && cfg.cpus >= 2 && shootsDown(cfg) !== undefined,
  draw: (d, cfg) => ({ xenIgnoreMailboxCpu: d.int(0, cfg.cpus - 1) }),
  describe: (i) => `xenIgnoreMailbox cpu ${i.xenIgnoreMailboxCpu ?? '?'}`,
  caughtBy: (outcome, i) => {
    if (watchdogNamed(outcome, i.xenIgnoreMailboxCpu)) return 'watchdog';
    const unserved = new RegExp(`flush requests not served: (.*; )?cpu ${i.xenIgnoreMailboxCpu ?? -1} posted`);
    if (outcome.kind === 'threw' && outcome.error.name === 'ConservationError' && unserved.test(outcome.error.message)) return 'conservation';
    return staleEntryCaughtBy(outcome);
  },
};

/** "cpu 2", or "every vCPU" for an injection in shared code on all of them. */
const cpusText = (at: InjectedCpus | undefined): string => (at === 'all' ? 'every vCPU' : `cpu ${at ?? '?'}`);

/** The FaultInjection fields of the bugs in shared code, which take 'all'. */
type SharedCodeField = 'ackBeforeFlushCpu' | 'lazyNoGenCheckCpu' | 'firstPageFlushCpu' | 'xenSkipFlushOnResumeCpu' | 'kvmSkipFlushOnLoadCpu' | 'shadowSkipSyncCpu';

/**
 * A bug in shared code — the kernel's flush paths, a hypervisor's, the shadow's resync — that
 * leaves stale entries behind. It is injected on every vCPU, as such a bug would be (on one vCPU
 * it went unseen whenever that vCPU's thread was not the one to use the pages: KVM's flush on
 * load was caught in about half its runs), and caught by --check or the workload's self-check.
 */
function sharedCodeBug(
  name: string,
  field: SharedCodeField,
  what: string,
  applies: (cfg: MachineConfig) => boolean,
  inertBecause?: InjectionKind['inertBecause'],
): InjectionKind {
  return {
    name,
    summary: `${what} (inject.${field}); caught by --check or the self-check`,
    applies,
    draw: () => ({ [field]: 'all' }),
    describe: (i) => `${name} on ${cpusText(i[field])}`,
    caughtBy: (outcome) => staleEntryCaughtBy(outcome),
    ...(inertBecause !== undefined ? { inertBecause } : {}),
  };
}

/** For a run that passed: no shootdown skipped a target (`why`), so the bug had nothing to act on. */
const noneDeferred = (why: string) => (perCpu: readonly CpuExposure[]): string | undefined =>
  perCpu.every((c) => c.shootdownDeferred === 0) ? why : undefined;

/**
 * KVM takes a preempted vCPU's FLUSH_TLB request as it loads it again, and does not flush
 * (BackendFaults.skipFlushOnLoad): the vCPU runs on with entries its initiator skipped it for.
 * Only a preempted target gets such a request, so only overcommitted kvm runs can show it, and
 * only in a workload whose targets use the pages a shootdown covers: on tlb_flush1-3, ebizzy,
 * vmalloc and idle it went unseen in every one of more than twenty runs.
 */
const kvmSkipFlushOnLoad = sharedCodeBug(
  'kvmSkipFlushOnLoad', 'kvmSkipFlushOnLoadCpu', 'kvm takes a preempted vCPU\'s FLUSH_TLB request on load without flushing',
  (cfg) => cfg.backend === 'kvm' && overcommitted(cfg) && shootsDown(cfg)?.targetsUseThePages === true,
  // Every FLUSH_TLB request is a deferred target of some initiator.
  noneDeferred('no shootdown deferred a target: no FLUSH_TLB request was ever left'),
);

/**
 * A target acknowledges a flush request as it takes it and flushes when its task next enters
 * the kernel (a system call or a page fault). Only a target whose task uses the covered pages
 * in between can show it: the probers of mprotect and munmap. In tlb_flush1-3, ebizzy and
 * vmalloc no target holds an entry for what it is asked to flush; fork_cow's and idle's are
 * asleep in wait4 or a futex (lazy: no request is sent) when another thread's shootdown comes.
 */
const ackBeforeFlush = sharedCodeBug(
  'ackBeforeFlush', 'ackBeforeFlushCpu', 'every vCPU acknowledges a TLB flush request as it takes it and flushes at its task\'s next kernel entry',
  (cfg) => callQueueFlushes(cfg) && (cfg.workload === 'mprotect' || cfg.workload === 'munmap'),
  (perCpu) => (perCpu.every((c) => c.callRequestsHandled === 0) ? 'no vCPU was sent a flush request' : undefined),
);

/**
 * A lazy CPU switching back to its mm trusts its TLB without comparing generations. Only a CPU
 * a shootdown skipped while it was lazy, and that then uses the pages, can show it: idle's
 * sleepers, with 2 pages or more — with one, the frame MADV_DONTNEED frees is the one the next
 * round's store gets back, so the old entry names the current frame and its current bytes (the
 * matrix missed the bug there). Xen flushes lazy CPUs like the others (its hypercall takes the
 * whole cpumask).
 */
const lazyNoGenCheck = sharedCodeBug(
  'lazyNoGenCheck', 'lazyNoGenCheckCpu', 'every vCPU switching back from lazy TLB mode skips the tlb_gen comparison',
  (cfg) => callQueueFlushes(cfg) && cfg.workload === 'idle' && (cfg.params?.['pages'] ?? 0) >= 2,
  noneDeferred('no shootdown skipped a lazy vCPU'),
);

/**
 * Every flush of a range longer than a page covers only its first page: the initiator's request
 * and the flush_tlb_func that carries it out (the 33-page ceiling's full flush, and the F1/F2
 * reordering's, included). Any backend and vCPU count: an initiator's own flush shows it, where
 * the TLB still holds the rest of the range when the task comes back (rangesTheTlbKeeps).
 */
const firstPageFlush = sharedCodeBug(
  'firstPageFlush', 'firstPageFlushCpu', 'every vCPU flushes only the first page of a multi-page range flush',
  (cfg) => shootsDown(cfg) !== undefined && rangesTheTlbKeeps(cfg),
);

/**
 * Xen acknowledges the flushes posted to a descheduled vCPU when it schedules it again, without
 * flushing: the vCPU resumes on the entries its initiators were told were gone. Only
 * overcommitted xen runs deschedule one, and only workloads whose targets use the covered pages
 * can show it.
 */
const xenSkipFlushOnResume = sharedCodeBug(
  'xenSkipFlushOnResume', 'xenSkipFlushOnResumeCpu', 'xen acknowledges a descheduled vCPU\'s posted flushes without flushing as it schedules it again',
  (cfg) => cfg.backend === 'xen' && overcommitted(cfg) && shootsDown(cfg)?.targetsUseThePages === true,
  noneDeferred('no flush found its target descheduled'),
);

/**
 * Shadow paging: a guest PTE store traps and the shadow is not resynced, so the hardware goes on
 * walking the old entry. Every shootdown workload but vmalloc changes user mappings; --check
 * compares every fill from the shadow with the guest's own tables. vmalloc's changes are to
 * kernel mappings, whose page tables the shadow shares with the guest rather than copies: there
 * is no resync to skip (the matrix missed the bug in all 6 of its vmalloc cells).
 */
const shadowSkipSync = sharedCodeBug(
  'shadowSkipSync', 'shadowSkipSyncCpu', 'shadow: every vCPU\'s guest PTE stores trap without resyncing the shadow',
  (cfg) => cfg.backend === 'shadow' && shootsDown(cfg) !== undefined && cfg.workload !== 'vmalloc',
);

/** The injection kinds, in table order. */
export const INJECTIONS: readonly InjectionKind[] = Object.freeze([
  dropFlushes, noAck, dropIpis, ackBeforeFlush, lazyNoGenCheck, firstPageFlush,
  xenIgnoreMailbox, xenSkipFlushOnResume, kvmSkipFlushOnLoad, shadowSkipSync,
]);

/** The name of a run without an injection, in the table and in --inject. */
export const NO_INJECTION = 'none';

export function findInjection(name: string): InjectionKind | undefined {
  return INJECTIONS.find((k) => k.name === name);
}

/** Every name --inject accepts. */
export function injectionNames(): string[] {
  return [NO_INJECTION, ...INJECTIONS.map((k) => k.name)];
}

/** One planned run. */
export interface PlannedRun {
  /** Its own seed: everything below is a function of it (and of the injections allowed). */
  runSeed: number;
  config: MachineConfig;
  /** The injection kind's name, or NO_INJECTION (config.inject is then absent). */
  injection: string;
}

/** A workload parameter's value: from its minimum to the modest maximum for it. */
function drawParam(d: Draw, cfg: MachineConfig, p: WorkloadParam): number {
  const modest = MODEST_MAX[cfg.workload]?.[p.name];
  const hi = Math.max(p.min, Math.min(p.max, modest !== undefined ? modest(cfg) : p.default));
  return p.real === true ? d.real(p.min, hi, 3) : d.int(Math.ceil(p.min), Math.floor(hi));
}

/**
 * A host-time run's length: `perShare` seconds for every vCPU sharing one physical CPU, as the
 * watchdog's limit is scaled (waitPolicy, src/hw/wait.ts), on the planned host's cores. Eight
 * vCPUs on one or two cores get a few seconds: in 0.4 s such runs completed 0 to 9 operations
 * (a shootdown waits for every descheduled target to get a slice), a self-check failure for want
 * of work in a run that was meant to pass.
 */
function hostSeconds(perShare: number, cpus: number, pcpus: number | undefined): number {
  const physical = Math.min(pcpus ?? cpus, PLANNED_HOST_CORES);
  return Math.round(perShare * Math.ceil(cpus / physical) * 100) / 100;
}

/** A machine configuration, every field drawn (the order of the draws is part of the plan). */
function drawConfig(d: Draw): MachineConfig {
  const backend = d.pick(describeBackends().map((b) => b.name));
  const workload = d.weighted(describeWorkloads().map((w) => [w.name, Object.hasOwn(SHOOTDOWN_WORKLOADS, w.name) ? SHOOTDOWN_WEIGHT : 1] as const));
  const virtual = d.oneIn(VIRTUAL_ONE_IN);
  const cpus = d.pick(virtual ? VIRTUAL_CPUS : TORTURE_CPUS);
  const pcpus = !virtual && cpus > 1 && d.oneIn(OVERCOMMIT_ONE_IN) ? d.int(1, cpus - 1) : undefined;
  return drawRest(d, { backend, workload, cpus, ...(pcpus !== undefined ? { pcpus } : {}) }, virtual);
}

/** A configuration's shape: what a matrix cell fixes, and drawConfig draws first. */
interface Shape {
  backend: string;
  workload: string;
  cpus: number;
  pcpus?: number;
}

/** The rest of a configuration of `shape`, drawn (hz, RAM, length, parameters, guest seed, in that order). */
function drawRest(d: Draw, shape: Shape, virtual: boolean): MachineConfig {
  const { cpus, pcpus } = shape;
  const cfg: MachineConfig = {
    ...shape,
    hz: d.pick(TORTURE_HZ),
    memBytes: d.pick(TORTURE_MEM_MIB) * MIB,
    clock: virtual ? 'virtual' : 'host',
    seconds: virtual ? d.real(VIRTUAL_SECONDS.min, VIRTUAL_SECONDS.max, 3) : hostSeconds(d.real(HOST_SECONDS.min, HOST_SECONDS.max, 2), cpus, pcpus),
    watchdogMs: TORTURE_WATCHDOG_MS,
    check: true,
  };
  const params: Record<string, number> = {};
  for (const p of findWorkload(shape.workload)!.params) params[p.name] = drawParam(d, cfg, p);
  cfg.params = params;
  cfg.seed = d.seed();
  return cfg;
}

/** The matrix's vCPU counts (--matrix): each on a host core apiece and on half as many pCPUs. */
export const MATRIX_CPUS: readonly number[] = [2, 4, 8];

/**
 * Parameter draws a matrix cell makes before it counts as one its injection cannot act in. The
 * pickiest is firstPageFlush on tlb_flush2, whose region of 4 to 2048 KiB must hold 2 to 128
 * pages: a quarter of the draws, so 50 draws miss it once in 10^6 matrices.
 */
const CELL_DRAWS = 50;

/**
 * The matrix campaign under `seed` (--matrix, docs/torture.md): every injection kind allowed
 * (the control group too, if allowed) × every backend × every shootdown workload × MATRIX_CPUS
 * × {a core each, half as many pCPUs}, in host time, keeping the cells where the kind applies
 * for some draw of the parameters. Cell i of the whole enumeration draws from streamSeed(seed,
 * i), so a cell's run does not depend on which kinds are allowed.
 */
export function planMatrix(seed: number, allowed: readonly string[] = injectionNames()): PlannedRun[] {
  const kinds: (InjectionKind | undefined)[] = [...INJECTIONS, undefined];
  const runs: PlannedRun[] = [];
  let cell = 0;
  for (const kind of kinds) {
    for (const backend of describeBackends().map((b) => b.name)) {
      for (const workload of Object.keys(SHOOTDOWN_WORKLOADS)) {
        for (const cpus of MATRIX_CPUS) {
          for (const pcpus of [undefined, cpus / 2]) {
            const runSeed = streamSeed(seed, cell++);
            if (!allowed.includes(kind?.name ?? NO_INJECTION)) continue;
            const run = planCell(runSeed, { backend, workload, cpus, ...(pcpus !== undefined ? { pcpus } : {}) }, kind);
            if (run !== undefined) runs.push(run);
          }
        }
      }
    }
  }
  return runs;
}

/** One matrix cell's run, or undefined when `kind` applies to none of its draws. */
function planCell(runSeed: number, shape: Shape, kind: InjectionKind | undefined): PlannedRun | undefined {
  const d = new Draw(runSeed);
  for (let i = 0; i < CELL_DRAWS; i++) {
    const config = drawRest(d, shape, false);
    if (kind === undefined) {
      // The control group: every cell, as long as its workload sends shootdowns.
      if (shootsDown(config) === undefined) continue;
      return { runSeed, config, injection: NO_INJECTION };
    }
    if (!kind.applies(config)) continue;
    config.inject = kind.draw(d, config);
    return { runSeed, config, injection: kind.name };
  }
  return undefined;
}

/**
 * Configurations drawn before an injection kind gives up on finding one it applies to. The
 * rarest kinds (a hypervisor's resume flush: its backend, overcommitted, a workload whose
 * targets use the pages) apply to about one draw in 140, so 1000 draws failed about one run in
 * 1500; at 100,000 (a tenth of a second) a failure means the kind applies to nothing at all —
 * a bug in its entry.
 */
const MAX_DRAWS = 100_000;

/**
 * Run `runSeed`: a configuration and an injection drawn from `allowed` (names from
 * injectionNames(); default every one). With NO_INJECTION among others, one run in
 * NO_INJECTION_ONE_IN is left alone; otherwise a kind is picked first and the configuration
 * drawn until that kind applies to it, so injected runs are most runs whatever the vCPU counts.
 */
export function planRun(runSeed: number, allowed: readonly string[] = injectionNames()): PlannedRun {
  const d = new Draw(runSeed);
  const kinds = INJECTIONS.filter((k) => allowed.includes(k.name));
  const plain = allowed.includes(NO_INJECTION);
  if (kinds.length === 0 && !plain) throw new InternalError('torture plan: no injection allowed, not even none');
  if (kinds.length === 0 || (plain && d.oneIn(NO_INJECTION_ONE_IN))) {
    return { runSeed, config: drawConfig(d), injection: NO_INJECTION };
  }
  const kind = d.pick(kinds);
  for (let i = 0; i < MAX_DRAWS; i++) {
    const config = drawConfig(d);
    if (!kind.applies(config)) continue;
    config.inject = kind.draw(d, config);
    return { runSeed, config, injection: kind.name };
  }
  throw new InternalError(`torture plan: injection ${kind.name} applied to none of ${MAX_DRAWS} configurations drawn from run seed ${runSeed}`);
}

/** Run `index` (from 0) of the campaign under `seed`. */
export function campaignRunSeed(seed: number, index: number): number {
  return streamSeed(seed, index);
}

/** The first `runs` runs of the campaign under `seed`. */
export function planCampaign(seed: number, runs: number, allowed: readonly string[] = injectionNames()): PlannedRun[] {
  return Array.from({ length: runs }, (_, i) => planRun(campaignRunSeed(seed, i), allowed));
}

/** How a run ended, judged against its injection. */
export type Verdict =
  /** No injection, and the run passed. */
  | { verdict: 'passed' }
  /** The injected bug was caught by one of its detectors, `detectionMs` after the child began the run. */
  | { verdict: 'caught'; detector: Detector; detectionMs: number }
  /** The injected bug went unnoticed: the run passed. `inert`: why the fault may never have acted. */
  | { verdict: 'missed'; inert?: string }
  /** Anything else: an error no injection explains, a crash, a hang with no watchdog. */
  | { verdict: 'unexpected'; why: string };

/** The outcome in one line, for the table and the verdict's reason. */
export function describeOutcome(outcome: RunOutcome): string {
  switch (outcome.kind) {
    case 'returned':
      return outcome.selfCheck.passed
        ? `passed (${outcome.ops} ops)`
        : `self-check failed after ${outcome.ops} ops: ${outcome.selfCheck.message}`;
    case 'threw':
      return `${outcome.error.name}: ${outcome.error.message}`;
    case 'hang':
      return `no answer within the ${(outcome.limitMs / 1000).toFixed(1)}-s host-time limit (killed): a hang no watchdog caught`;
    case 'crashed':
      return `the child process ended without a result (${outcome.signal !== null ? `signal ${outcome.signal}` : `status ${outcome.status}`})${outcome.stderr !== '' ? `: ${outcome.stderr}` : ''}`;
  }
}

/** Judge `outcome` for `run` (docs/torture.md, "Reading the table"). */
export function classify(run: PlannedRun, outcome: RunOutcome): Verdict {
  const clean = outcome.kind === 'returned' && outcome.selfCheck.passed;
  const kind = findInjection(run.injection);
  if (kind === undefined) return clean ? { verdict: 'passed' } : { verdict: 'unexpected', why: describeOutcome(outcome) };
  const inject = run.config.inject ?? {};
  const detector = kind.caughtBy(outcome, inject);
  if (detector !== undefined) return { verdict: 'caught', detector, detectionMs: outcome.hostMs };
  if (clean) {
    const inert = kind.inertBecause?.(outcome.perCpu, inject);
    return inert !== undefined ? { verdict: 'missed', inert } : { verdict: 'missed' };
  }
  return { verdict: 'unexpected', why: describeOutcome(outcome) };
}

/** The configuration in one line: "kvm tlb_flush1, 4 vCPUs on 2 pCPUs, 250 Hz, 128M, host 0.45 s, region_mb=12, seed 123". */
export function describeConfig(cfg: MachineConfig): string {
  const params = Object.entries(cfg.params ?? {}).map(([k, v]) => `${k}=${v}`);
  return [
    `${cfg.backend} ${cfg.workload}`,
    `${cfg.cpus} vCPU${cfg.cpus === 1 ? '' : 's'}${cfg.pcpus !== undefined ? ` on ${cfg.pcpus} pCPU${cfg.pcpus === 1 ? '' : 's'}` : ''}`,
    `${cfg.hz} Hz`,
    `${cfg.memBytes / MIB}M`,
    `${cfg.clock ?? 'host'} ${cfg.seconds ?? '?'} s`,
    ...params,
    `seed ${cfg.seed ?? 'none'}`,
  ].join(', ');
}

/** The injection in one line: "none", "noAck cpu 2". */
export function describeInjection(run: PlannedRun): string {
  const kind = findInjection(run.injection);
  return kind === undefined ? NO_INJECTION : kind.describe(run.config.inject ?? {});
}
