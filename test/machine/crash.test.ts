import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/lib/errors.js';
import { testConfig, runWorkload } from '../helpers/machine.js';
import { runReport } from '../../src/report/build.js';

/** Handles of worker threads and their message ports still open in this process. */
function threadHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r)).length;
}

/**
 * The handle count once the terminated threads' handles are closed: closing is asynchronous, so
 * on a busy host give it a few seconds (a zombie thread never closes, and fails the check).
 */
async function settledThreadHandles(atMost: number): Promise<number> {
  const deadline = Date.now() + 5000;
  while (threadHandles() > atMost && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return threadHandles();
}

describe('a vCPU worker that throws', () => {
  for (const kind of ['internal', 'plain'] as const) {
    it(`stops the machine with the vCPU, task and system call named (${kind} error), leaves no threads, and the next machine runs`, async () => {
      const before = threadHandles();
      const cfg = { ...testConfig('tlb_flush1', 2, { ops: 100_000 }), watchdogMs: 5000, inject: { throwOnSyscallCpu: 1, throwAfterSyscalls: 20, throwKind: kind } };
      const t0 = Date.now();
      const err = await runReport(cfg).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(InternalError);
      const message = (err as Error).message;
      expect(message).toMatch(/injected fault in system call (\d+)/);
      const nr = /injected fault in system call (\d+)/.exec(message)![1];
      // Where it happened: the vCPU, its task and that system call.
      expect(message).toMatch(new RegExp(`\\(cpu 1, task \\d+, last syscall ${nr}\\)`));
      if (kind === 'plain') expect(message).toMatch(/^Error: /);
      // The other vCPU was stopped, not left to run its 100000 operations or to a watchdog.
      expect(Date.now() - t0).toBeLessThan(cfg.watchdogMs * 2);
      expect(await settledThreadHandles(before)).toBeLessThanOrEqual(before);
      const next = await runWorkload('tlb_flush1', 2, { ops: 200 });
      expect(next.selfCheck.passed).toBe(true);
      expect(next.conservation?.ok).toBe(true);
      expect(await settledThreadHandles(before)).toBeLessThanOrEqual(before);
    }, 60_000);
  }
});
