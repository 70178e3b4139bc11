/**
 * --trace on real workers: tlb_flush1 on 2 vCPUs, natively through the CLI (the file it writes)
 * and on Xen through the Machine API; each trace must hold shootdown spans on an initiator,
 * handler spans on a target, IPI flows from one vCPU's track to the other's, and (Xen) hypercall
 * instants. Also the --trace options' one-line refusals. SMP tests; the build must be current.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliMain, EXIT_OK, EXIT_USAGE } from '../../src/cli/commands.js';
import { parseRunOptions } from '../../src/cli/options.js';
import { Machine } from '../../src/machine/machine.js';
import { MAX_TRACE_EVENTS } from '../../src/stats/trace-buffer.js';
import { buildTrace, type TraceEvent, type TraceFile } from '../../src/report/trace.js';
import { testConfig } from '../helpers/machine.js';
import { captureIo } from '../helpers/cli-io.js';


/** What every real tlb_flush1 trace on 2 vCPUs must show. */
function expectShootdownTrace(trace: TraceFile): void {
  const events = trace.traceEvents;
  const x = (name: string | RegExp): TraceEvent[] =>
    events.filter((e) => e.ph === 'X' && (typeof name === 'string' ? e.name === name : name.test(e.name)));
  expect(events.filter((e) => e.name === 'thread_name').map((e) => e.tid).sort()).toEqual([0, 1]);
  // Both threads shoot down each other's TLB: spans on each initiator.
  const shootdowns = x('flush_tlb_others');
  expect(new Set(shootdowns.map((e) => e.tid))).toEqual(new Set([0, 1]));
  for (const e of [...shootdowns, ...x(/./)]) expect(e.dur!).toBeGreaterThanOrEqual(0);
  // Flows: each s has one f with the same id and cat, on the other vCPU, no earlier than the send.
  const starts = new Map(events.filter((e) => e.ph === 's').map((e) => [e.id!, e]));
  const ends = events.filter((e) => e.ph === 'f');
  expect(ends.length).toBeGreaterThan(0);
  expect(ends.length).toBe(starts.size);
  for (const f of ends) {
    const s = starts.get(f.id!);
    expect(s, `flow ${f.id} has no start`).toBeDefined();
    expect(f).toMatchObject({ cat: s!.cat, bp: 'e' });
    expect(f.tid).not.toBe(s!.tid);
  }
}

describe('--trace on real workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvemu-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a native tlb_flush1 run as trace-event JSON with shootdowns, IPI handlers and flows between vCPUs', async () => {
    const path = join(dir, 'native.json');
    const io = captureIo();
    const status = await cliMain(
      ['run', '--backend', 'native', '--cpus', '2', '--workload', 'tlb_flush1', '--ops', '600', '--mem', '64M', '--watchdog-ms', '30000', '--trace', path],
      io,
    );
    expect(status, io.stderr).toBe(EXIT_OK);
    const trace = JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
    expect(trace.displayTimeUnit).toBe('ns');
    expect(trace.otherData).toMatchObject({ backend: 'native', workload: 'tlb_flush1', cpus: 2, droppedEvents: [0, 0] });
    expectShootdownTrace(trace);
    // Natively a shootdown is an INVALIDATE_TLB IPI: handled with flush_tlb_func on the target.
    const handlers = trace.traceEvents.filter((e) => e.ph === 'X' && e.name === 'flush_tlb_func');
    expect(handlers.length).toBeGreaterThan(0);
    expect(trace.traceEvents.some((e) => e.ph === 'X' && e.name === 'send INVALIDATE_TLB_VECTOR')).toBe(true);
  }, 60_000);

  it('shows Xen shootdowns as hypercalls with the hypervisor flush served on the target', async () => {
    const machine = new Machine({ ...testConfig('tlb_flush1', 2, { ops: 600 }), backend: 'xen', trace: true });
    const report = await machine.run();
    expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
    const vcpus = machine.trace();
    expect(vcpus).toHaveLength(2);
    const trace = buildTrace(vcpus!, { backend: 'xen', workload: 'tlb_flush1', cpus: 2 });
    expectShootdownTrace(trace);
    const events = trace.traceEvents;
    expect(events.filter((e) => e.ph === 'i' && e.name === 'hypercall').length).toBeGreaterThan(0);
    // No guest IPI for the flush: the initiator kicks, the target serves HV_FLUSH.
    expect(events.some((e) => e.ph === 'X' && e.name === 'hv HV_FLUSH')).toBe(true);
    expect(events.some((e) => e.ph === 'X' && e.name === 'kick HV_FLUSH')).toBe(true);
  }, 60_000);

  it('says on stderr how many events did not fit under --trace-events, and still writes the trace', async () => {
    const path = join(dir, 'capped.json');
    const io = captureIo();
    const status = await cliMain(
      ['run', '--cpus', '2', '--workload', 'tlb_flush1', '--ops', '200', '--mem', '64M', '--watchdog-ms', '30000', '--trace', path, '--trace-events', '50'],
      io,
    );
    expect(status, io.stderr).toBe(EXIT_OK);
    expect(io.stderr).toMatch(/^pvemu: --trace: \d+ events did not fit and were dropped \(cpu 0: \d+, cpu 1: \d+\); .*--trace-events for more\n$/);
    const trace = JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
    expect(trace.otherData.droppedEvents.every((n) => n > 0)).toBe(true);
    expect(trace.traceEvents.filter((e) => e.ph === 'X' || e.ph === 'i').length).toBe(100);
  }, 60_000);

  it('records nothing when tracing is off', async () => {
    const machine = new Machine(testConfig('tlb_flush1', 1, { ops: 50 }));
    await machine.run();
    expect(machine.trace()).toBeUndefined();
  }, 60_000);
});

describe('--trace options', () => {
  it('sets trace and the event cap in the config', () => {
    const opts = parseRunOptions(['--trace', 'out.json', '--trace-events', '1000']);
    expect(opts.trace).toBe('out.json');
    expect(opts.config).toMatchObject({ trace: true, traceEvents: 1000 });
    expect(parseRunOptions([]).config.trace).toBeUndefined();
  });

  it.each([
    { argv: ['--trace', ''], message: '--trace: must be a file path, got ""' },
    { argv: ['--trace-events', '10'], message: '--trace-events: needs --trace FILE' },
    { argv: ['--trace', 't.json', '--trace-events', '0'], message: `--trace-events: must be an integer from 1 to ${MAX_TRACE_EVENTS}, got 0` },
  ])('refuses $argv in one line', ({ argv, message }) => {
    expect(() => parseRunOptions(argv)).toThrow(message);
  });

  it('exits 2 before running when the trace file cannot be written', async () => {
    const io = captureIo();
    expect(await cliMain(['run', '--ops', '1', '--trace', '/nonexistent-dir/t.json'], io)).toBe(EXIT_USAGE);
    expect(io.stderr).toBe('pvemu: --trace: directory "/nonexistent-dir" does not exist\n');
  });
});
