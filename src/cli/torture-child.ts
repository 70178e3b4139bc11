/**
 * One torture run in a process of its own (docs/torture.md): `node torture-child.js CONFIG_JSON`
 * boots a machine for the MachineConfig, runs it, and prints one JSON line on stdout, a
 * RunOutcome of kind `returned` or `threw` (src/cli/torture-plan.ts). The parent
 * (src/cli/torture.ts) keeps the time limit and judges the line.
 *
 * A process rather than a machine in the parent: a run that hangs or corrupts its host process
 * (a vCPU worker spinning where no watchdog looks, a worker that will not end) is killed and
 * counted without taking the campaign with it. Main thread of the child.
 */
import { performance } from 'node:perf_hooks';
import type { MachineConfig } from '../machine/config.js';
import { Machine } from '../machine/machine.js';
import type { RunOutcome } from './torture-plan.js';

const start = performance.now();
const elapsedMs = (): number => Math.round(performance.now() - start);

async function runOnce(configJson: string): Promise<RunOutcome> {
  try {
    // new Machine validates the configuration; a ConfigError here is a planner bug, and is
    // reported like any other error for the parent to call unexpected.
    const machine = new Machine(JSON.parse(configJson) as MachineConfig);
    const result = await machine.run();
    return {
      kind: 'returned',
      hostMs: elapsedMs(),
      ops: result.perCpu.reduce((n, s) => n + s.counters.ops, 0),
      selfCheck: result.selfCheck,
      perCpu: result.perCpu.map((s) => ({
        callRequestsHandled: s.counters.callRequestsHandled,
        flushes: s.counters.tlbFlushesFull + s.counters.tlbFlushesSingle + s.counters.tlbFlushesGlobal,
        shootdownDeferred: s.counters.shootdownDeferred,
      })),
    };
  } catch (err) {
    const error = err instanceof Error ? { name: err.name, message: err.message } : { name: typeof err, message: String(err) };
    return { kind: 'threw', hostMs: elapsedMs(), error };
  }
}

const outcome = await runOnce(process.argv[2] ?? '');
// Exit once the line is out: a worker a failed run could not stop must not keep the process
// (and the parent's wait) alive; the parent's own limit is for the hangs before this point.
process.stdout.write(`${JSON.stringify(outcome)}\n`, () => process.exit(0));
