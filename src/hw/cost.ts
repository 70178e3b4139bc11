/**
 * The cost model (docs/architecture.md, "Measurement"): cycles per event, with defaults from published
 * figures, each naming its source; a user's table overrides any entry. A
 * `CostMeter` per vCPU turns the events the hardware and the backends report into exact counts
 * and modelled cycles. Worker-local; no Atomics.
 */
import { ConfigError } from '../lib/errors.js';
import type { VcpuCounters } from '../stats/counters.js';
import { TraceKind, type TraceBuffer } from '../stats/trace-buffer.js';

export interface CostEntry {
  /** Cycles per event. */
  readonly cycles: number;
  /** Where the figure comes from. */
  readonly source: string;
}

const VM_EXIT_SOURCE = 'VM exit round trip 2.5k-3k cycles on Skylake server (KVM timer fast-path patches, 2020)';

/** The default table. Figures without a published source say they are pvemu's estimates. */
export const DEFAULT_COSTS = Object.freeze({
  /** A trapping operation: privileged instruction or write-protected page-table store, exit and emulate. */
  trap: { cycles: 2750, source: VM_EXIT_SOURCE },
  /** A hypercall's exit and return. */
  hypercall: { cycles: 2750, source: VM_EXIT_SOURCE },
  /** Each entry a hypercall carries (one validated PTE update or one flush target). */
  hypercallEntry: { cycles: 260, source: 'pvemu estimate: one validated PTE store, priced like an INVLPG (260 cycles, Ingo Molnar, linux-mm 2015-06-08)' },
  /** A VM exit taken for any other reason (CR3 write, INVLPG, APIC access, hidden fault, halt). */
  vmexit: { cycles: 2750, source: VM_EXIT_SOURCE },
  /** Sending one IPI (an ICR write on bare hardware). */
  ipiSend: { cycles: 300, source: 'pvemu estimate: an xAPIC ICR write; guest IPIs cost 4-5x the host cost (Yury Norov, arm64 IPI benchmark, 2017)' },
  /** Taking one IPI on the target: interrupt entry and exit. */
  ipiDeliver: { cycles: 1000, source: 'pvemu estimate: interrupt entry and iret on the target' },
  /** End of interrupt (an APIC register write). */
  eoi: { cycles: 100, source: 'pvemu estimate: an xAPIC register write' },
  /** One memory reference of a page walk (2 natively, up to 24 with two-dimensional paging). */
  walkRef: { cycles: 30, source: 'pvemu estimate: a page-walk reference served from cache' },
  /** Full TLB flush (CR3 reload). */
  flushFull: { cycles: 96, source: 'CR3 reload flush 96 cycles (Ingo Molnar, linux-mm, 2015-06-08)' },
  /** Single-page flush (INVLPG). */
  flushSingle: { cycles: 260, source: 'INVLPG 260 cycles (Ingo Molnar, linux-mm, 2015-06-08)' },
  /** Full flush including global pages. */
  flushGlobal: { cycles: 2283, source: 'global flush 2283 cycles (Dave Hansen, commit a5102476a24b)' },
  /** Resynchronising one shadow entry from the guest's table (on top of the exit that led here). */
  shadowSync: { cycles: 500, source: 'pvemu estimate: read the guest PTE, validate, write the shadow PTE' },
  // The cost of plain work. Virtual time (--clock virtual) advances each vCPU's clock by these
  // besides the events above; host-time runs do not use them.
  /** One retired RV32 instruction of a --program. */
  instruction: { cycles: 1, source: 'pvemu estimate: a scalar core retiring one simple instruction per cycle' },
  /** One operation of a TypeScript workload besides its accesses, calls and faults: the loop's own arithmetic and branches. */
  operation: { cycles: 100, source: 'pvemu estimate: a benchmark loop\'s bookkeeping per iteration, about 50 ns at 2 GHz' },
  /** One load or store of a TypeScript workload through the MMU (a TLB hit). */
  memoryAccess: { cycles: 4, source: 'pvemu estimate: an L1 hit, 4-5 cycles load-to-use (Intel optimization manual, Skylake)' },
  /** A system call's entry and return (SYSCALL, the entry code, SYSRET), besides what the call does. */
  syscall: { cycles: 150, source: 'pvemu estimate: a null system call, about 75 ns at 2 GHz without page-table isolation' },
  /** A page fault's exception entry, the handler's lookup and the return, besides what it does (walks, flushes). */
  pageFault: { cycles: 1000, source: 'pvemu estimate: exception entry, find_vma and the fault handler, iret; about 0.5 µs at 2 GHz' },
  /** A fault turned into a signal: the signal frame, the handler's entry and rt_sigreturn. */
  signal: { cycles: 3000, source: 'pvemu estimate: signal delivery and return, about 1.5 µs at 2 GHz' },
  /** One iteration of a spin-wait (PAUSE in a loop). */
  pause: { cycles: 140, source: 'PAUSE latency up to 140 cycles on Skylake (Intel 64 and IA-32 Architectures Optimization Reference Manual, 2016: Pause Latency in Skylake Microarchitecture)' },
} satisfies Record<string, CostEntry>);

export type CostKey = keyof typeof DEFAULT_COSTS;
export type CostTable = Readonly<Record<CostKey, number>>;

export const COST_KEYS = Object.keys(DEFAULT_COSTS) as CostKey[];

export function defaultCostTable(): CostTable {
  return Object.fromEntries(COST_KEYS.map((k) => [k, DEFAULT_COSTS[k].cycles])) as CostTable;
}

/**
 * Largest cycles per event a user's table may give: 10^7, a few milliseconds at host clock
 * rates, far above any real trap or flush. The bound keeps one shootdown's modelled cycles
 * (tens of events even at 64 vCPUs) inside the histogram's 6 * 10^10 range, where larger
 * values would be clamped without a word.
 */
export const MAX_COST_CYCLES = 10_000_000;

/** JSON.parse's message on one line (newer V8 quotes the offending text, newlines and all). */
function jsonReason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}

/**
 * A whole cost table from a user's partial one: every key it gives must be a known cost and a
 * whole number of cycles from 0 to MAX_COST_CYCLES (the meter adds cycles as integers); keys it
 * leaves out keep their defaults. Anything else is a one-line ConfigError for `field`, `where`
 * naming the source ("costs", or --cost's file). The CLI's --cost and a library caller's
 * MachineConfig.costs both come through here.
 */
export function mergeCostTable(partial: object, field: string, where = ''): CostTable {
  const table: Record<string, number> = { ...defaultCostTable() };
  const at = where === '' ? '' : `${where}: `;
  // Object.entries sees own enumerable properties only; JSON.parse makes every key one, "__proto__" included.
  for (const [key, value] of Object.entries(partial)) {
    if (!Object.hasOwn(DEFAULT_COSTS, key)) {
      throw new ConfigError(field, `${at}unknown cost ${JSON.stringify(key)}; known: ${COST_KEYS.join(', ')}`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_COST_CYCLES) {
      throw new ConfigError(field, `${at}${key} must be a whole number of cycles from 0 to ${MAX_COST_CYCLES}, got ${JSON.stringify(value)}`);
    }
    table[key] = value;
  }
  return Object.freeze(table) as CostTable;
}

/**
 * A user's cost table (the JSON text of --cost FILE): an object of known keys to whole numbers
 * of cycles (mergeCostTable). `file` is only for messages.
 */
export function parseCostTable(text: string, file: string): CostTable {
  const where = JSON.stringify(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('--cost', `${where} is not valid JSON (${jsonReason(e)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw new ConfigError('--cost', `${where} must hold a JSON object of cost names to cycles, got ${got}`);
  }
  return mergeCostTable(parsed, '--cost', where);
}

/** Why a VM exit happened; each has its own counter. */
export const enum VmExitReason {
  Hypercall,
  Cr3,
  Invlpg,
  Apic,
  PtWrite,
  HiddenFault,
  Halt,
  Preemption,
}

/**
 * One vCPU's meter. Every method counts the event in VcpuCounters and adds its modelled cycles
 * to `counters.modeledCycles`.
 */
export class CostMeter {
  constructor(
    readonly table: CostTable,
    private readonly c: VcpuCounters,
    /** --trace: exits, traps and hypercalls become instants on this vCPU's track (null: off). */
    private readonly trace: TraceBuffer | null = null,
  ) {}

  charge(key: CostKey, n = 1): void {
    this.c.modeledCycles += this.table[key] * n;
  }

  /** A VM exit for `reason`, without the trap count (hypercalls and hidden faults use it). */
  vmexit(reason: VmExitReason): void {
    this.countExit(reason);
    this.charge('vmexit');
    if (this.trace !== null) this.trace.instant(TraceKind.VmExit, reason, 0);
  }

  private countExit(reason: VmExitReason): void {
    const c = this.c;
    switch (reason) {
      case VmExitReason.Hypercall: c.vmexitHypercall++; break;
      case VmExitReason.Cr3: c.vmexitCr3++; break;
      case VmExitReason.Invlpg: c.vmexitInvlpg++; break;
      case VmExitReason.Apic: c.vmexitApic++; break;
      case VmExitReason.PtWrite: c.vmexitPtWrite++; break;
      case VmExitReason.HiddenFault: c.vmexitHiddenFault++; break;
      case VmExitReason.Halt: c.vmexitHalt++; break;
      case VmExitReason.Preemption: c.vmexitPreemption++; break;
    }
  }

  /** A trapping operation: counted as a trap and a VM exit, priced as a trap (not as a generic exit). */
  trap(reason: VmExitReason): void {
    this.c.traps++;
    this.countExit(reason);
    this.charge('trap');
    if (this.trace !== null) this.trace.instant(TraceKind.Trap, reason, 0);
  }

  /** One hypercall carrying `entries` entries. */
  hypercall(entries: number): void {
    this.c.hypercalls++;
    this.c.hypercallEntries += entries;
    this.c.vmexitHypercall++;
    this.charge('hypercall');
    this.charge('hypercallEntry', entries);
    if (this.trace !== null) this.trace.instant(TraceKind.Hypercall, entries, 0);
  }

  rejected(): void {
    this.c.rejected++;
  }

  deferredFlush(): void {
    this.c.deferredFlushes++;
  }

  shadowSync(n = 1): void {
    this.c.shadowSyncs += n;
    this.charge('shadowSync', n);
  }

  hiddenFault(): void {
    this.c.hiddenFaults++;
    this.vmexit(VmExitReason.HiddenFault);
  }
}
