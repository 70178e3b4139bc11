/**
 * The --trace builder (src/report/trace.ts) over hand-made per-vCPU recordings: metadata per vCPU,
 * complete events, flow pairs, instants, one timeline across workers, and the streamed file
 * being the same JSON as the built object. Unit tests, main thread, no workers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VmExitReason } from '../../src/hw/cost.js';
import { INVALIDATE_TLB_VECTOR } from '../../src/hw/apic.js';
import { CallFunc } from '../../src/kernel/layout.js';
import { DEFAULT_TRACE_EVENTS, TraceBuffer, TraceKind, FLOW_SLOTS, defaultTraceEvents, flowSlotBytes, type VcpuTrace } from '../../src/stats/trace-buffer.js';
import { buildTrace, writeTraceFile, type TraceEvent } from '../../src/report/trace.js';

const run = { backend: 'native', workload: 'tlb_flush1', cpus: 2 };

/** Two vCPUs' recorders over one flow-slot block, as a machine would have them. */
function recorders(capacity = 64): [TraceBuffer, TraceBuffer] {
  const slots = new Int32Array(new SharedArrayBuffer(flowSlotBytes(2)));
  return [new TraceBuffer(0, capacity, slots), new TraceBuffer(1, capacity, slots)];
}

/** cpu 0 shoots down cpu 1: shootdown span around an IPI send; cpu 1 handles it. Times in ms. */
function oneShootdown(): VcpuTrace[] {
  const [c0, c1] = recorders();
  const id = c0.publishFlow(1, INVALIDATE_TLB_VECTOR);
  c0.span(TraceKind.IpiSend, 1.0002, 1.0004, 1, INVALIDATE_TLB_VECTOR, id);
  c0.span(TraceKind.Shootdown, 1.0, 1.003, 1, 0, 0);
  const got = c1.takeFlow(INVALIDATE_TLB_VECTOR);
  c1.span(TraceKind.FlushHandler, 1.0011, 1.0015, CallFunc.FlushTlb, 0, 0);
  c1.span(TraceKind.Irq, 1.001, 1.002, INVALIDATE_TLB_VECTOR, 0, got);
  c1.instant(TraceKind.Hypercall, 3, 0);
  c1.instant(TraceKind.Trap, VmExitReason.PtWrite, 0);
  // Same clock for both (offsets equal): the times above are the timeline.
  return [c0.export(), c1.export()].map((v) => ({ ...v, clockOffsetNs: 5e12 }));
}

const ofPhase = (events: TraceEvent[], ph: TraceEvent['ph']): TraceEvent[] => events.filter((e) => e.ph === ph);

describe('buildTrace', () => {
  it('names one process and one sorted thread track per vCPU', () => {
    const t = buildTrace(oneShootdown(), run);
    expect(t.displayTimeUnit).toBe('ns');
    const meta = ofPhase(t.traceEvents, 'M');
    expect(meta.filter((e) => e.name === 'process_name')).toHaveLength(1);
    for (const cpu of [0, 1]) {
      expect(meta).toContainEqual({ name: 'thread_name', ph: 'M', pid: 1, tid: cpu, args: { name: `vCPU ${cpu}` } });
      expect(meta).toContainEqual({ name: 'thread_sort_index', ph: 'M', pid: 1, tid: cpu, args: { sort_index: cpu } });
    }
  });

  it('writes the shootdown on the initiator and the handler inside the interrupt on the target, in µs', () => {
    const x = ofPhase(buildTrace(oneShootdown(), run).traceEvents, 'X');
    const shootdown = x.find((e) => e.name === 'flush_tlb_others')!;
    expect(shootdown).toMatchObject({ tid: 0, ts: 0, dur: 3, args: { targets: 1, kernelRange: false } });
    const irq = x.find((e) => e.name === 'irq INVALIDATE_TLB_VECTOR')!;
    const handler = x.find((e) => e.name === 'flush_tlb_func')!;
    expect(irq).toMatchObject({ tid: 1, ts: 1, dur: 1 });
    expect(handler).toMatchObject({ tid: 1, ts: 1.1, dur: 0.4 });
    // Each track lists an enclosing slice before what it encloses.
    const onCpu0 = x.filter((e) => e.tid === 0).map((e) => e.name);
    expect(onCpu0).toEqual(['flush_tlb_others', 'send INVALIDATE_TLB_VECTOR']);
  });

  it('draws a flow from the send on one vCPU to the handling on the other, bound inside both slices', () => {
    const events = buildTrace(oneShootdown(), run).traceEvents;
    const [s] = ofPhase(events, 's');
    const [f] = ofPhase(events, 'f');
    expect(s).toBeDefined();
    expect(f).toMatchObject({ id: s!.id, cat: s!.cat, bp: 'e', tid: 1 });
    expect(s!.tid).toBe(0);
    const send = events.find((e) => e.name === 'send INVALIDATE_TLB_VECTOR')!;
    const irq = events.find((e) => e.name === 'irq INVALIDATE_TLB_VECTOR')!;
    for (const [flow, slice] of [[s!, send], [f!, irq]] as const) {
      expect(flow.ts!).toBeGreaterThan(slice.ts!);
      expect(flow.ts!).toBeLessThan(slice.ts! + slice.dur!);
    }
  });

  it('leaves out a flow whose other end was not recorded (a coalesced send)', () => {
    const [c0, c1] = recorders();
    const first = c0.publishFlow(1, INVALIDATE_TLB_VECTOR);
    c0.span(TraceKind.IpiSend, 1, 1.001, 1, INVALIDATE_TLB_VECTOR, first);
    const second = c0.publishFlow(1, INVALIDATE_TLB_VECTOR); // same IRR bit, before the target took it
    c0.span(TraceKind.IpiSend, 1.002, 1.003, 1, INVALIDATE_TLB_VECTOR, second);
    const got = c1.takeFlow(INVALIDATE_TLB_VECTOR);
    expect(got).toBe(second);
    expect(c1.takeFlow(INVALIDATE_TLB_VECTOR)).toBe(0);
    c1.span(TraceKind.Irq, 1.004, 1.005, INVALIDATE_TLB_VECTOR, 0, got);
    const events = buildTrace([c0.export(), c1.export()], run).traceEvents;
    expect(ofPhase(events, 's').map((e) => e.id)).toEqual([second]);
    expect(ofPhase(events, 'f').map((e) => e.id)).toEqual([second]);
  });

  it('writes hypercalls, traps and VM exits as thread-scoped instants named for what they are', () => {
    const [, c1] = recorders();
    c1.instant(TraceKind.Hypercall, 3, 0);
    c1.instant(TraceKind.Trap, VmExitReason.PtWrite, 0);
    c1.instant(TraceKind.VmExit, VmExitReason.Cr3, 0);
    const instants = ofPhase(buildTrace([c1.export()], run).traceEvents, 'i');
    expect(instants.map((e) => [e.name, e.s, e.tid])).toEqual([['hypercall', 't', 1], ['trap pt_write', 't', 1], ['vmexit cr3', 't', 1]]);
    expect(instants[0]!.args).toEqual({ entries: 3 });
  });

  it('puts workers with different clocks on one timeline by their offsets', () => {
    const [c0, c1] = recorders();
    c0.span(TraceKind.Shootdown, 10, 10.002, 1, 0, 0);
    c1.span(TraceKind.Shootdown, 3, 3.002, 1, 0, 0);
    // Worker 1's performance.now() started 7.001 ms after worker 0's: its 3 ms is worker 0's 10.001.
    const v0 = { ...c0.export(), clockOffsetNs: 1e12 };
    const v1 = { ...c1.export(), clockOffsetNs: 1e12 + 7.001e6 };
    const x = ofPhase(buildTrace([v0, v1], run).traceEvents, 'X');
    expect(x.map((e) => [e.tid, e.ts])).toEqual([[0, 0], [1, 1]]);
  });

  it('counts what did not fit, in the metadata and the track name', () => {
    const [c0] = recorders(2);
    for (let i = 0; i < 5; i++) c0.instant(TraceKind.Hypercall, i, 0);
    expect(c0.publishFlow(1, INVALIDATE_TLB_VECTOR)).toBe(0); // full: no id, no arrow
    const t = buildTrace([c0.export()], { ...run, cpus: 1 });
    expect(ofPhase(t.traceEvents, 'i')).toHaveLength(2);
    expect(t.otherData.droppedEvents).toEqual([3]);
    expect(t.traceEvents).toContainEqual(expect.objectContaining({ name: 'thread_name', args: { name: 'vCPU 0 (3 events dropped)' } }));
  });

  it('gives flow ids unique across vCPUs in the slot of the target and vector', () => {
    const slots = new Int32Array(new SharedArrayBuffer(flowSlotBytes(3)));
    const a = new TraceBuffer(0, 8, slots);
    const b = new TraceBuffer(2, 8, slots);
    const ids = [a.publishFlow(1, 0xfd), b.publishFlow(1, 0xfb), a.publishFlow(1, 0xfb)];
    expect(new Set(ids).size).toBe(3);
    expect(slots[1 * FLOW_SLOTS + 0xfd]).toBe(ids[0]);
    expect(slots[1 * FLOW_SLOTS + 0xfb]).toBe(ids[2]);
  });
});

describe('defaultTraceEvents', () => {
  it('gives small machines the full cap and shares 8M events out on big ones', () => {
    expect(defaultTraceEvents(2)).toBe(DEFAULT_TRACE_EVENTS);
    expect(defaultTraceEvents(8)).toBe(DEFAULT_TRACE_EVENTS);
    expect(defaultTraceEvents(64)).toBe(131072);
  });
});

describe('writeTraceFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvemu-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams the same JSON object buildTrace builds', () => {
    const vcpus = oneShootdown();
    const path = join(dir, 't.json');
    const n = writeTraceFile(path, vcpus, run);
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    const built = buildTrace(vcpus, run);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(built)));
    expect(n).toBe(built.traceEvents.length);
  });
});
