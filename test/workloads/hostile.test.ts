/**
 * The hostile guest under every backend: each LKDTM attack gets the answer its backend owes
 * (Xen refuses, the others fault where memory is missing), the refusals, machine checks and
 * dropped IPIs are counted, the nonsense-syscall barrage leaves the guest's memory intact, and
 * the run's conservation laws still hold.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { buildReport } from '../../src/report/build.js';
import { testConfig } from '../helpers/machine.js';

/** What each backend must answer, attack by attack (the workload's `hostile: NAME: OUTCOME` lines). */
const EXPECTED: Record<string, Record<string, string>> = {
  native: {
    pt_writable: 'mapped, read and write allowed',
    map_beyond_ram: 'mapped, access raised SIGBUS',
    map_reserved: 'not applicable',
    load_unvalidated_pd: 'loaded, access raised SIGBUS',
  },
  xen: {
    pt_writable: 'refused',
    map_beyond_ram: 'refused',
    map_reserved: 'refused',
    load_unvalidated_pd: 'refused',
  },
  vmi: {
    pt_writable: 'mapped, read and write allowed',
    map_beyond_ram: 'mapped, access raised SIGBUS',
    map_reserved: 'not applicable',
    load_unvalidated_pd: 'loaded, access raised SIGBUS',
  },
  shadow: {
    pt_writable: 'mapped, read and write allowed',
    map_beyond_ram: 'mapped, access raised SIGBUS',
    map_reserved: 'mapped, access raised SIGBUS',
    load_unvalidated_pd: 'loaded, access raised SIGBUS',
  },
  kvm: {
    pt_writable: 'mapped, read and write allowed',
    map_beyond_ram: 'mapped, access raised SIGBUS',
    map_reserved: 'not applicable',
    load_unvalidated_pd: 'loaded, access raised SIGBUS',
  },
};

function outcomes(console: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of console.matchAll(/^hostile: (\w+): (.*)$/gm)) out[m[1]!] = m[2]!;
  return out;
}

describe('hostile guest', () => {
  for (const [backend, expected] of Object.entries(EXPECTED)) {
    it(`${backend}: every attack gets an error or a fault, is counted, and the machine stays intact`, async () => {
      const config = { ...testConfig('hostile', 2, { ops: 3000 }), backend };
      const raw = await new Machine(config).run();
      const report = buildReport(config, raw);
      const seen = outcomes(raw.console);
      for (const [attack, outcome] of Object.entries(expected)) expect(seen[attack], attack).toBe(outcome);
      expect(seen.ipi_no_cpu).toBe('ESR 0x24');
      expect(seen.map_fixed_low).toMatch(/^refused/);

      const refused = Object.values(expected).filter((o) => o === 'refused').length;
      const machineChecks = Object.values(expected).filter((o) => o.endsWith('SIGBUS')).length;
      expect(report.counters.rejected).toBeGreaterThanOrEqual(refused);
      expect(report.counters.machineChecks).toBe(machineChecks);
      // An ICR to APIC id `cpus`, an illegal vector, and a send_IPI_mask naming CPU `cpus`.
      expect(report.counters.ipiSendErrors).toBe(3);
      expect(report.counters.tasksKilled).toBe(0);
      expect(report.selfCheck.passed, raw.console).toBe(true);
      // Machine.run has already checked the conservation laws (it throws ConservationError otherwise).
      expect(report.ipis.sent).toBe(report.ipis.handled + report.ipis.coalesced);
    });
  }
});
