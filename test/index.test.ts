/**
 * The library's entry point (src/index.ts) carries what the CLI uses: the cost table and its
 * merge, a program image loaded from a path, the backend comparison, the trace writer, and the
 * backend and workload descriptions. (No machine boots here: the comparison gets a fake runner.)
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as pvemu from '../src/index.js';

const ELF = fileURLToPath(new URL('../guest/bin/args.elf', import.meta.url));

describe('pvemu as a library', () => {
  it('merges a partial cost table with the defaults', () => {
    expect(pvemu.mergeCostTable({ trap: 3000 }, 'costs')).toEqual({ ...pvemu.defaultCostTable(), trap: 3000 });
    expect(pvemu.COST_KEYS).toContain('hypercall');
  });

  it('loads a program image from a path, with its arguments and environment, and refuses a missing file', () => {
    const image = pvemu.loadProgram(ELF, ['a', 'b'], ['X=1']);
    expect(image).toMatchObject({ name: 'args.elf', argv: [ELF, 'a', 'b'], envp: ['X=1'] });
    expect(image.bytes.length).toBeGreaterThan(0);
    expect(() => pvemu.loadProgram('/nonexistent.elf')).toThrow(/^program: cannot read "\/nonexistent\.elf"/);
  });

  it('compares backends, keeping a failed run as an entry and naming each backend as it starts', async () => {
    const started: string[] = [];
    const entries = await pvemu.runComparison(
      pvemu.defaultConfig(),
      ['native', 'xen'],
      async (config) => {
        if (config.backend === 'xen') throw new pvemu.WatchdogError('cpu 1 waited 5000 ms for cpu 0');
        return { backend: config.backend } as pvemu.Report;
      },
      (backend) => { started.push(backend); },
    );
    expect(started).toEqual(['native', 'xen']);
    expect(entries[0]).toEqual({ kind: 'report', report: { backend: 'native' } });
    expect(entries[1]).toEqual({ kind: 'failed', failure: { backend: 'xen', error: { name: 'WatchdogError', message: 'cpu 1 waited 5000 ms for cpu 0' } } });
  });

  it('describes the backends and workloads, and exports the trace writer', () => {
    const names: pvemu.BackendInfo[] = pvemu.describeBackends();
    expect(names.map((b) => b.name)).toEqual(['native', 'xen', 'vmi', 'shadow', 'kvm', 'kvm-nopvflush']);
    const workloads: pvemu.WorkloadInfo[] = pvemu.describeWorkloads();
    expect(workloads.map((w) => w.name)).toContain('tlb_flush1');
    expect(typeof pvemu.writeTraceFile).toBe('function');
  });
});
