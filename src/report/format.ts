import type { HypervisorReport, LatencySummaryNs, Report } from './types.js';
import { COST_KEYS, type CostTable, defaultCostTable } from '../hw/cost.js';
import { conservationText } from '../machine/conservation.js';
import { formatBytes } from '../hw/memory.js';
import { hostUsageText, unreliableWarning } from './host-usage.js';
import { versionText } from '../lib/version.js';
/**
 * The report as a person reads it: `pvemu run`'s table (formatReport) and the small formatters
 * the comparison table shares. Main thread.
 */
/** Host ns as µs with two decimals. */
export function us(ns: number): string {
  return (ns / 1000).toFixed(2);
}

export function latencyRow(l: LatencySummaryNs): string {
  return `${us(l.p50)} / ${us(l.p90)} / ${us(l.p99)} / ${us(l.max)}`;
}

/** Collapses a possibly multi-line message (a guest's or a check's) onto one table line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

/**
 * Columns two spaces apart, header first: right-aligned (numbers) except the columns listed
 * in `left` (names and free text).
 */
export function columns(header: readonly string[], rows: readonly (readonly string[])[], left: readonly number[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Modelled cycles as a whole number (a user's cost table may hold fractions). */
export function cycles(n: number): string {
  return `${Math.round(n)}`;
}

/** VM exits: the total, then the reasons that occurred ("1200 (cr3 200, invlpg 1000)"). */
function vmexitsText(v: HypervisorReport['vmexits']): string {
  const reasons: [string, number][] = [
    ['hypercall', v.hypercall],
    ['cr3', v.cr3],
    ['invlpg', v.invlpg],
    ['apic', v.apic],
    ['pt-write', v.ptWrite],
    ['hidden-fault', v.hiddenFault],
    ['halt', v.halt],
    ['preemption', v.preemption],
  ];
  const total = reasons.reduce((n, [, count]) => n + count, 0);
  const seen = reasons.filter(([, count]) => count > 0).map(([name, count]) => `${name} ${count}`);
  return seen.length === 0 ? `${total}` : `${total} (${seen.join(', ')})`;
}

/** The run's cost table: the defaults, or the entries a user's table changed. */
function costsText(costs: CostTable, given: boolean): string {
  if (!given) return 'defaults (pvemu list shows them)';
  const defaults = defaultCostTable();
  const changed = COST_KEYS.filter((k) => costs[k] !== defaults[k]).map((k) => `${k} ${costs[k]}`);
  return changed.length === 0 ? 'given (same as the defaults)' : `given: ${changed.join(', ')} (others default)`;
}

/** What ran and when: "0.1.0 (commit 929244c1a2b3, with uncommitted changes), run at 2026-...". */
function provenanceText(r: Report): string {
  return `${versionText(r.pvemu)}, run at ${r.date}`;
}

/** The rest of the configuration: parameters, checker, trace, clock. */
function settingsText(c: Report['config']): string {
  const params = Object.entries(c.params).map(([k, v]) => `${k}=${v}`);
  return [
    ...(params.length > 0 ? [`params ${params.join(' ')}`] : []),
    `check ${c.check ? (c.checkCount === true ? 'on, counting' : 'on') : 'off'}`,
    `trace ${c.trace ? 'on' : 'off'}`,
    `watchdog ${c.watchdogMs} ms`,
    `clock ${c.clock}`,
    ...(c.seed !== undefined ? [`seed ${c.seed}`] : []),
  ].join(', ');
}

/** The system calls that took the most modelled cycles in all, at most four: "munmap 120: 8263, madvise ...". */
function costliestSyscalls(by: NonNullable<Report['bySyscall']>): string {
  const rows = Object.values(by).filter((c) => c.modeledCycles > 0).sort((a, b) => b.modeledCycles - a.modeledCycles).slice(0, 4);
  if (rows.length === 0) return 'none cost modelled cycles';
  return rows.map((c) => `${c.name} ${c.calls}: ${Math.round(c.modeledCycles / c.calls)}`).join(', ');
}

/** One cell of the self-check column: PASS or FAIL with the message on one line. */
export function selfCheckText(check: Report['selfCheck']): string {
  return `${check.passed ? 'PASS' : 'FAIL'}${check.message ? `: ${oneLine(check.message)}` : ''}`;
}

export function formatReport(r: Report): string {
  const check = selfCheckText(r.selfCheck);
  const sdCycles = r.shootdowns.modeledCycles;
  const hv = r.hv;
  const virtual = r.config.clock === 'virtual';
  // Latencies are host time, or in virtual time the initiator's modelled clock.
  const unit = virtual ? 'modelled µs' : 'µs';
  const rows: [string, string][] = [
    ...(r.interrupted !== undefined
      ? [['interrupted', `by ${r.interrupted.signal}: a partial report, of the run until then`] as [string, string]]
      : []),
    ['elapsed (s)', `${r.seconds.toFixed(3)}${virtual ? ' modelled' : ''}`],
    ...(virtual && r.hostUsage !== undefined
      ? [['host time per modelled second (s)', (r.seconds > 0 ? r.hostUsage.wallSeconds / r.seconds : 0).toFixed(1)] as [string, string]]
      : []),
    ...(virtual ? [['turn hand-overs between vCPUs', `${r.counters.turnHandOvers}`] as [string, string]] : []),
    ['ops', r.program !== undefined ? `${r.ops} (instructions retired)` : `${r.ops}`],
    [virtual ? 'ops per modelled second' : 'ops/s', r.opsPerSec.toFixed(1)],
    ['shootdowns (count, targets, IPIs, deferred)', `${r.shootdowns.count}, ${r.shootdowns.targets}, ${r.shootdowns.ipis}, ${r.shootdowns.deferred}`],
    [`shootdown latency p50/p90/p99/max (${unit})`, latencyRow(r.shootdowns.latencyNs)],
    ['modelled cycles/shootdown p50/p99 (mean)', `${sdCycles.p50} / ${sdCycles.p99} (${sdCycles.mean})`],
    [`flush handler p50/p90/p99/max (${unit})`, latencyRow(r.flushHandlerNs)],
    [`smp call round trip p50/p90/p99/max (${unit})`, latencyRow(r.smpCallNs)],
    ...(r.ipiDeliveryNs !== undefined ? [['IPI delivery p50/p90/p99/max (modelled µs)', latencyRow(r.ipiDeliveryNs)] as [string, string]] : []),
    ...(r.config.pcpus !== undefined ? [[`steal time, all vCPUs (${virtual ? 'modelled ' : ''}ms)`, (r.stealNs / 1e6).toFixed(3)] as [string, string]] : []),
    ['TLB (hits, misses, walks)', `${r.tlb.hits}, ${r.tlb.misses}, ${r.tlb.walks}`],
    ['TLB flushes (full, single, global)', `${r.tlb.flushesFull}, ${r.tlb.flushesSingle}, ${r.tlb.flushesGlobal}`],
    ['IPIs (sent, handled, coalesced, refused)', `${r.ipis.sent}, ${r.ipis.handled}, ${r.ipis.coalesced}, ${r.ipis.refused}`],
    ['faults (total, demand-zero, SIGSEGV, SIGBUS)', `${r.faults}, ${r.faultsDetail.demandZero}, ${r.faultsDetail.segv}, ${r.faultsDetail.machineChecks + r.faultsDetail.sigbus}`],
    ['syscalls, context switches, timer IRQs', `${r.syscalls}, ${r.contextSwitches}, ${r.timerInterrupts}`],
    ['modelled cycles (total)', cycles(r.modeledCycles)],
    ['hv traps, hypercalls (entries)', `${hv.traps}, ${hv.hypercalls} (${hv.hypercallEntries})`],
    ['hv VM exits', vmexitsText(hv.vmexits)],
    ['hv rejected, deferred flushes', `${hv.rejected}, ${hv.deferredFlushes}`],
    ['hv shadow syncs, hidden faults', `${hv.shadowSyncs}, ${hv.hiddenFaults}`],
    ['cost table', costsText(r.config.costs, r.config.costsGiven)],
    ['settings', settingsText(r.config)],
    ...(r.conservation !== undefined ? [['conservation', conservationText(r.conservation)] as [string, string]] : []),
    ...(r.check !== undefined ? [['TLB coherence check (violations)', `${r.check.violations}`] as [string, string]] : []),
    ...(r.bySyscall !== undefined ? [['costliest system calls (calls: cycles per call)', costliestSyscalls(r.bySyscall)] as [string, string]] : []),
    ...(r.unknownSyscalls !== undefined
      ? [['unknown syscalls and ops (count)', Object.entries(r.unknownSyscalls).map(([nr, n]) => `${nr}: ${n}`).join(', ')] as [string, string]]
      : []),
    ['self-check', check],
    ['exit status', `${r.exitStatus}`],
    ['pvemu', provenanceText(r)],
    ...(r.hostUsage !== undefined ? [['host', hostUsageText(r.hostUsage)] as [string, string]] : []),
  ];
  // In virtual time only the host line itself is host time.
  const warning = r.config.clock === 'virtual' ? undefined : unreliableWarning(r.hostUsage);
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `backend ${r.backend}, workload ${r.workload}, ${r.cpus} vCPU${r.cpus === 1 ? '' : 's'}` +
      (r.config.pcpus !== undefined ? ` on ${r.config.pcpus} pCPU${r.config.pcpus === 1 ? '' : 's'}` : '') +
      ` (${formatBytes(r.config.memBytes)} RAM, ${r.config.hz} Hz; host ${r.host.platform}/${r.host.arch},` +
      ` ${r.host.cores} cores, Node ${r.host.node})`,
    ...(warning !== undefined ? [warning] : []),
    ...rows.map(([label, value]) => `  ${label.padEnd(labelWidth)}  ${value}`),
    '',
    ...columns(
      ['cpu', 'ops', 'shootdowns', 'IPIs sent', 'IPIs handled', 'flush reqs', 'TLB hits', 'TLB misses', 'faults', 'halts', 'ctx sw', 'p50 µs', 'p99 µs'],
      r.perCpu.map((c) => [
        `${c.cpu}`,
        `${c.ops}`,
        `${c.shootdowns}`,
        `${c.ipisSent}`,
        `${c.ipisHandled}`,
        `${c.flushRequestsHandled}`,
        `${c.tlbHits}`,
        `${c.tlbMisses}`,
        `${c.faults}`,
        `${c.halts}`,
        `${c.contextSwitches}`,
        us(c.shootdownLatencyNs.p50),
        us(c.shootdownLatencyNs.p99),
      ]),
    ).map((l) => `  ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}
