import { describe, expect, it } from 'vitest';
import {
  KERNEL_KEPT_FRAMES, checkConservation, conservationText, conservationViolations, type GuestFrameFigures,
} from '../../src/machine/conservation.js';
import { snapshotCounters, VcpuCounters, type CounterSnapshot } from '../../src/stats/counters.js';
import { formatReport } from '../../src/report/format.js';
import { runWorkload } from '../helpers/machine.js';

/** One vCPU's counters with the given fields set. */
function cpu(fields: Partial<CounterSnapshot>): { counters: CounterSnapshot } {
  return { counters: { ...snapshotCounters(new VcpuCounters()), ...fields } };
}

/** Balanced books: 2 CPUs that sent and handled each other's IPIs (one coalesced) and requests; 10 frames out, 9 back. */
function balanced(): { counters: CounterSnapshot }[] {
  return [
    cpu({ ipisSent: 5, ipisHandled: 2, callRequestsSent: 4, callRequestsHandled: 2, framesAllocated: 8, framesFreed: 2 }),
    cpu({ ipisSent: 3, ipisHandled: 5, ipisCoalesced: 1, callRequestsSent: 2, callRequestsHandled: 4, framesAllocated: 2, framesFreed: 7 }),
  ];
}

/** Guest memory after power-off: 100 managed frames all free again, the zero page kept. */
const memory: GuestFrameFigures = { managedFrames: 100, freeFrames: 100, keptFrames: KERNEL_KEPT_FRAMES, tmpfsFrames: 0 };

describe('checkConservation', () => {
  it('passes balanced books', () => {
    const r = checkConservation(balanced(), memory);
    expect(r).toEqual({
      ipis: { sent: 8, handled: 7, coalesced: 1, ok: true },
      flushes: { requests: 6, acks: 6, ok: true },
      frames: { allocated: 10, freed: 9, inUse: 1, kept: 1, ok: true },
      hypervisor: [],
      ok: true,
    });
    expect(conservationViolations(r)).toEqual([]);
    expect(conservationText(r)).toMatch(/^OK: IPIs 8 = 7 \+ 1 coalesced, call requests 6 = 6, frames 10 - 9 = 1 in use \(1 kept\)$/);
  });

  it('names a lost IPI with both numbers', () => {
    const perCpu = balanced();
    perCpu[1]!.counters.ipisHandled -= 1;
    const r = checkConservation(perCpu, memory);
    expect(r.ok).toBe(false);
    expect(r.ipis.ok).toBe(false);
    expect(r.flushes.ok && r.frames.ok).toBe(true);
    expect(conservationViolations(r)).toEqual(['IPIs sent 8 != handled 6 + coalesced 1']);
  });

  it('names an unacknowledged call/flush request with both numbers', () => {
    const perCpu = balanced();
    perCpu[0]!.counters.callRequestsSent += 1;
    const r = checkConservation(perCpu, memory);
    expect(r.ok).toBe(false);
    expect(r.flushes).toEqual({ requests: 7, acks: 6, ok: false });
    expect(conservationViolations(r)).toEqual(['call/flush requests 7 != acknowledged 6']);
  });

  it('names frames whose counters disagree with guest memory', () => {
    // A frame freed that the counters never saw freed: memory says 1 in use, the counters 2.
    const perCpu = balanced();
    perCpu[0]!.counters.framesFreed -= 1;
    const r = checkConservation(perCpu, memory);
    expect(r.ok).toBe(false);
    expect(r.frames.ok).toBe(false);
    expect(conservationViolations(r)).toEqual(['frames allocated 10 - freed 8 = 2 != 1 in use in guest memory']);
    expect(conservationText(r)).toMatch(/^VIOLATED: frames allocated 10 - freed 8/);
  });

  it('names frames still in use after power-off (a leak) even when the counters agree', () => {
    const perCpu = balanced();
    perCpu[1]!.counters.framesAllocated += 3;
    const r = checkConservation(perCpu, { ...memory, freeFrames: 97 });
    expect(r.frames).toEqual({ allocated: 13, freed: 9, inUse: 4, kept: 1, ok: false });
    expect(conservationViolations(r)).toEqual(['frames in use after power-off 4 != 1 kept by the kernel (leak)']);
  });


  it('counts frames of files left in the file system as kept, and still names one frame more as a leak', () => {
    const perCpu = balanced();
    perCpu[1]!.counters.framesAllocated += 3;
    const held = checkConservation(perCpu, { ...memory, freeFrames: 97, tmpfsFrames: 3 });
    expect(held.frames).toEqual({ allocated: 13, freed: 9, inUse: 4, kept: 4, ok: true });
    const leaked = checkConservation(perCpu, { ...memory, freeFrames: 97, tmpfsFrames: 2 });
    expect(conservationViolations(leaked)).toEqual(['frames in use after power-off 4 != 3 kept by the kernel (leak)']);
  });
  it('lists every violated law at once', () => {
    const perCpu = balanced();
    perCpu[0]!.counters.ipisSent += 2;
    perCpu[0]!.counters.callRequestsHandled += 1;
    perCpu[0]!.counters.framesAllocated += 1;
    const v = conservationViolations(checkConservation(perCpu, memory));
    expect(v).toHaveLength(3);
    expect(v[0]).toContain('IPIs sent 10 != handled 7 + coalesced 1');
    expect(v[1]).toContain('requests 6 != acknowledged 7');
    expect(v[2]).toContain('frames allocated 11 - freed 9 = 2 != 1 in use');
  });

  it('fails on a hypervisor law the backend reports broken, naming it', () => {
    const r = checkConservation(balanced(), memory, [{ text: 'xen pins 3 - unpins 1 = 1 pinned', ok: false }, { text: 'fine', ok: true }]);
    expect(r.ok).toBe(false);
    expect(conservationViolations(r)).toEqual(['xen pins 3 - unpins 1 = 1 pinned']);
  });
});

describe('conservation on a real run', () => {
  it('is reported, holds, and shows in the table', async () => {
    const r = await runWorkload('tlb_flush1', 2, { ops: 300 });
    const c = r.conservation;
    expect(c).toBeDefined();
    expect(c!.ok).toBe(true);
    expect(c!.ipis).toEqual({ sent: r.ipis.sent, handled: r.ipis.handled, coalesced: r.ipis.coalesced, ok: true });
    expect(c!.flushes.requests).toBe(r.counters.callRequestsSent);
    expect(c!.flushes.requests).toBeGreaterThan(0);
    expect(c!.frames.allocated - c!.frames.freed).toBe(c!.frames.inUse);
    expect(c!.frames.inUse).toBe(KERNEL_KEPT_FRAMES);
    expect(formatReport(r)).toMatch(/conservation\s+OK: IPIs \d+ = \d+/);
  });
});
