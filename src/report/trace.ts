/**
 * --trace: each vCPU's recorded events (src/stats/trace-buffer.ts) as one Chrome trace-event
 * JSON file (the "JSON Object Format"), which Perfetto and chrome://tracing open. Main thread,
 * after the run.
 *
 * One process (pid 1, named for the run) with one thread track per vCPU (tid = CPU id, named and
 * sorted by metadata events). On each track:
 * - complete events (ph "X"): `flush_tlb_others` shootdowns on the initiator, with the IPI sends
 *   and hypervisor kicks inside them; interrupt handlers (`irq ...`) on the targets, with the
 *   flush handler (`flush_tlb_func`) inside; hypervisor services (`hv HV_FLUSH`, Xen's remote
 *   flush; `hv HV_PARK`, the time descheduled) and flushes owed to a preempted vCPU and done as it
 *   is loaded again;
 * - instants (ph "i", thread scope): hypercalls, traps and VM exits;
 * - flow arrows (ph "s" on the sender, "f" with "bp":"e" on the target, same cat and id) from an
 *   IPI's or kick's send to its handling. Perfetto binds a flow event to the slice that encloses
 *   its timestamp, so each sits just inside the start of its own send or handler slice. A handling pairs
 *   with the latest send of its vector (coalesced sends have no arrow); only complete pairs are
 *   written.
 *
 * Timestamps are microseconds (fractional, nanosecond resolution) from the first event of the
 * run. Each is rounded to a whole nanosecond from the same monotonic clock reading, start and
 * end alike, so slices that nested when recorded still nest exactly.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { InternalError } from '../lib/errors.js';
import { VmExitReason } from '../hw/cost.js';
import { CALL_FUNCTION_VECTOR, INVALIDATE_TLB_VECTOR, LOCAL_TIMER_VECTOR, RESCHEDULE_VECTOR } from '../hw/apic.js';
import { CallFunc } from '../kernel/layout.js';
import { TraceKind, type VcpuTrace } from '../stats/trace-buffer.js';

/** What the trace says about the run it comes from. */
export interface TraceRunInfo {
  backend: string;
  workload: string;
  cpus: number;
}

/** One trace event (the fields pvemu writes; see the Trace Event Format). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 's' | 'f' | 'M';
  pid: number;
  tid: number;
  cat?: string;
  /** Microseconds. */
  ts?: number;
  /** Microseconds (X only). */
  dur?: number;
  /** Instant scope: thread. */
  s?: 't';
  /** Flow id (s and f). */
  id?: number;
  /** Flow end binding: the enclosing slice. */
  bp?: 'e';
  args?: Record<string, number | string | boolean>;
}

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
  otherData: TraceOtherData;
}

/** Trace-level metadata: the run, and what did not fit in the recorders. */
export interface TraceOtherData {
  backend: string;
  workload: string;
  cpus: number;
  /** Events each vCPU recorded past its buffer and dropped, index = CPU id. */
  droppedEvents: number[];
  flowPairing: string;
}

/**
 * Where a flow event sits in its slice: this many ns after its start (or at its middle, if
 * shorter). Inside the slice, so Perfetto binds it there whatever its rounding of fractional
 * microseconds; near the start, because that is where the id is published (send) and taken
 * (handling): a sender preempted inside its send slice would otherwise seem to send late.
 */
const FLOW_BIND_NS = 10;

/** The pid of the one process the vCPU tracks belong to. */
export const TRACE_PID = 1;

const FLOW_PAIRING = 'each handled IPI or hypervisor request pairs with the latest send of its vector or request bit; sends coalesced into one IRR bit have no arrow';

const EXIT_NAMES: Readonly<Record<VmExitReason, string>> = {
  [VmExitReason.Hypercall]: 'hypercall',
  [VmExitReason.Cr3]: 'cr3',
  [VmExitReason.Invlpg]: 'invlpg',
  [VmExitReason.Apic]: 'apic',
  [VmExitReason.PtWrite]: 'pt_write',
  [VmExitReason.HiddenFault]: 'hidden_fault',
  [VmExitReason.Halt]: 'halt',
  [VmExitReason.Preemption]: 'preemption',
};

/** HV_* request bits by index (src/hw/cpu.ts). */
const HV_BIT_NAMES = ['HV_PARK', 'HV_FLUSH', 'HV_SYNC'];

function vectorName(vector: number): string {
  switch (vector) {
    case INVALIDATE_TLB_VECTOR: return 'INVALIDATE_TLB_VECTOR';
    case CALL_FUNCTION_VECTOR: return 'CALL_FUNCTION_VECTOR';
    case RESCHEDULE_VECTOR: return 'RESCHEDULE_VECTOR';
    case LOCAL_TIMER_VECTOR: return 'LOCAL_TIMER_VECTOR';
    default: return `vector 0x${vector.toString(16)}`;
  }
}

function callFuncName(func: number): string {
  switch (func) {
    case CallFunc.FlushTlb: return 'flush_tlb_func';
    case CallFunc.FlushTlbKernel: return 'do_kernel_range_flush';
    case CallFunc.LeaveMm: return 'leave_mm';
    default: return `call func ${func}`;
  }
}

function hvBitName(index: number): string {
  return HV_BIT_NAMES[index] ?? `hv bit ${index}`;
}

function hvBitsName(bits: number): string {
  const names: string[] = [];
  for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) names.push(hvBitName(b));
  return names.join('|');
}

function exitName(reason: number): string {
  return EXIT_NAMES[reason as VmExitReason] ?? `exit ${reason}`;
}

/** Name, category and arguments of one recorded event. */
function describe(kind: TraceKind, a: number, b: number): { name: string; cat: string; args: Record<string, number | string | boolean> } {
  switch (kind) {
    case TraceKind.Shootdown: return { name: 'flush_tlb_others', cat: 'shootdown', args: { targets: a, kernelRange: b === 1 } };
    case TraceKind.FlushHandler: return { name: callFuncName(a), cat: 'flush', args: {} };
    case TraceKind.IpiSend: return { name: `send ${vectorName(b)}`, cat: 'ipi', args: { dest: a, vector: b } };
    case TraceKind.Irq: return { name: `irq ${vectorName(a)}`, cat: 'irq', args: { vector: a } };
    case TraceKind.HvKick: return { name: `kick ${hvBitsName(b)}`, cat: 'hv', args: { dest: a } };
    case TraceKind.HvService: return { name: `hv ${hvBitName(a)}`, cat: 'hv', args: {} };
    case TraceKind.ResumeFlush:
      return { name: a === 1 ? 'flush on load (KVM FLUSH_TLB)' : 'flush on resume (Xen mailbox)', cat: 'flush', args: { deferred: true } };
    case TraceKind.Hypercall: return { name: 'hypercall', cat: 'hypercall', args: { entries: a } };
    case TraceKind.Trap: return { name: `trap ${exitName(a)}`, cat: 'trap', args: {} };
    case TraceKind.VmExit: return { name: `vmexit ${exitName(a)}`, cat: 'vmexit', args: {} };
    default: {
      const unknown: never = kind;
      throw new InternalError(`trace: unknown event kind ${String(unknown)}`);
    }
  }
}

const isSpan = (kind: number): boolean => kind !== TraceKind.Hypercall && kind !== TraceKind.Trap && kind !== TraceKind.VmExit;
const isSend = (kind: number): boolean => kind === TraceKind.IpiSend || kind === TraceKind.HvKick;
const isHandling = (kind: number): boolean => kind === TraceKind.Irq || kind === TraceKind.HvService;

/**
 * Every event of the trace, in order: metadata, then each vCPU's events by start time (an
 * enclosing slice before what it encloses), each flow event right after the slice it binds to.
 */
export function* traceEvents(vcpus: readonly VcpuTrace[], run: TraceRunInfo): Generator<TraceEvent> {
  yield { name: 'process_name', ph: 'M', pid: TRACE_PID, tid: 0, args: { name: `pvemu ${run.backend} ${run.workload} (${run.cpus} vCPUs)` } };
  for (const v of vcpus) {
    const name = v.dropped > 0 ? `vCPU ${v.cpu} (${v.dropped} events dropped)` : `vCPU ${v.cpu}`;
    yield { name: 'thread_name', ph: 'M', pid: TRACE_PID, tid: v.cpu, args: { name } };
    yield { name: 'thread_sort_index', ph: 'M', pid: TRACE_PID, tid: v.cpu, args: { sort_index: v.cpu } };
  }

  // One timeline: each worker's performance.now(), moved onto the host's monotonic clock.
  const live = vcpus.filter((v) => v.kind.length > 0);
  if (live.length === 0) return;
  const firstNs = Math.min(...live.map((v) => v.clockOffsetNs + v.start.reduce((m, t) => Math.min(m, t), Infinity) * 1e6));
  const toNs = (v: VcpuTrace, ms: number): number => Math.round(v.clockOffsetNs + ms * 1e6 - firstNs);

  // Only complete flows: an id sent and handled (a send whose handling was dropped, or one
  // coalesced into a later send, has no arrow).
  const sent = new Set<number>();
  const handled = new Set<number>();
  for (const v of live) {
    for (let i = 0; i < v.kind.length; i++) {
      const id = v.flow[i]!;
      if (id === 0) continue;
      if (isSend(v.kind[i]!)) sent.add(id);
      else if (isHandling(v.kind[i]!)) handled.add(id);
    }
  }

  for (const v of live) {
    const n = v.kind.length;
    const startNs = new Float64Array(n);
    const endNs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      startNs[i] = toNs(v, v.start[i]!);
      endNs[i] = toNs(v, v.end[i]!);
    }
    // Recorded at their end, so an enclosing slice comes after what it encloses: sort by start,
    // the longer first on a tie.
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => startNs[x]! - startNs[y]! || endNs[y]! - endNs[x]!);
    for (let j = 0; j < n; j++) {
      const i = order[j]!;
      const kind = v.kind[i]! as TraceKind;
      const { name, cat, args } = describe(kind, v.a[i]!, v.b[i]!);
      const ts = startNs[i]! / 1000;
      if (!isSpan(kind)) {
        yield { name, cat, ph: 'i', s: 't', ts, pid: TRACE_PID, tid: v.cpu, args };
        continue;
      }
      const durNs = endNs[i]! - startNs[i]!;
      yield { name, cat, ph: 'X', ts, dur: durNs / 1000, pid: TRACE_PID, tid: v.cpu, args };
      const id = v.flow[i]!;
      if (id === 0) continue;
      const at = (startNs[i]! + Math.min(FLOW_BIND_NS, Math.floor(durNs / 2))) / 1000;
      if (isSend(kind) && handled.has(id)) yield { name: 'ipi', cat: 'flow', ph: 's', id, ts: at, pid: TRACE_PID, tid: v.cpu };
      else if (isHandling(kind) && sent.has(id)) yield { name: 'ipi', cat: 'flow', ph: 'f', bp: 'e', id, ts: at, pid: TRACE_PID, tid: v.cpu };
    }
  }
}

function otherData(vcpus: readonly VcpuTrace[], run: TraceRunInfo): TraceOtherData {
  return { ...run, droppedEvents: vcpus.map((v) => v.dropped), flowPairing: FLOW_PAIRING };
}

/** The whole trace as one object (tests, small traces). */
export function buildTrace(vcpus: readonly VcpuTrace[], run: TraceRunInfo): TraceFile {
  return { traceEvents: [...traceEvents(vcpus, run)], displayTimeUnit: 'ns', otherData: otherData(vcpus, run) };
}

/** Characters of JSON buffered before each write: large traces never become one string. */
const WRITE_CHUNK_CHARS = 1 << 20;

/**
 * Writes the trace to `path`, streaming: the same JSON as JSON.stringify(buildTrace(...)) without
 * holding it in memory (a million events per vCPU is far past V8's longest string). Returns the
 * number of trace events written. Throws what the file system throws.
 */
export function writeTraceFile(path: string, vcpus: readonly VcpuTrace[], run: TraceRunInfo): number {
  const fd = openSync(path, 'w');
  try {
    let buf = '{"traceEvents":[\n';
    let count = 0;
    for (const e of traceEvents(vcpus, run)) {
      buf += (count === 0 ? '' : ',\n') + JSON.stringify(e);
      count++;
      if (buf.length >= WRITE_CHUNK_CHARS) {
        writeSync(fd, buf);
        buf = '';
      }
    }
    buf += `\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(otherData(vcpus, run))}}\n`;
    writeSync(fd, buf);
    return count;
  } finally {
    closeSync(fd);
  }
}
