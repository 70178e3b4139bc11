/**
 * Usage text for `pvemu --help` and each command's --help. Defaults and ranges
 * come from the constants the parser enforces, and names from the registries, so the text
 * cannot drift from the checks. Main thread (CLI).
 */
import { COST_KEYS, MAX_COST_CYCLES } from '../hw/cost.js';
import { describeBackends } from '../hv/registry.js';
import { formatBytes, MAX_RAM_BYTES, MIN_RAM_BYTES } from '../hw/memory.js';
import { ARG_MAX_BYTES } from '../kernel/binfmt-elf.js';
import { defaultConfig, MAX_HZ, MIN_HZ, MAX_SEED, MAX_RUN_SECONDS, MAX_WATCHDOG_MS, MIN_WATCHDOG_MS } from '../machine/config.js';
import { MAX_CPUS } from '../lib/limits.js';
import { describeWorkloads } from '../workloads/registry.js';
import { DEFAULT_TRACE_EVENTS, DEFAULT_TRACE_EVENTS_TOTAL, MAX_TRACE_EVENTS } from '../stats/trace-buffer.js';
import { DEFAULT_RUN_SECONDS } from './options.js';

/** Two columns: the left padded to its widest entry. */
function twoColumns(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd()).join('\n');
}

export function mainUsage(): string {
  return `Usage: pvemu <command> [options]

Emulates an SMP machine and measures what TLB shootdowns cost under each paravirtual backend.

Commands:
${twoColumns([
  ['run', 'run one workload or program on one machine and print a report (pvemu run --help)'],
  ['compare', 'run one workload or program on several backends and print one table (pvemu compare --help)'],
  ['torture', 'run seeded random machines with injected protocol bugs and report which were caught (pvemu torture --help)'],
  ['list', 'list the backends, workloads and default costs'],
  ['help [COMMAND]', 'show this text, or the options of COMMAND'],
  ['version', 'print the pvemu version (and git commit, from a checkout); also --version, -V'],
])}

Exit status: 0 success, 1 a failed self-check or run error, 2 bad usage, 70 an internal bug.
`;
}

type OptionRow = readonly [string, string];

/** The options of one machine configuration, shared by run and compare. */
function machineOptionRows(): OptionRow[] {
  const d = defaultConfig();
  const workloads = describeWorkloads().map((w) => w.name).join(', ');
  return [
    ['--workload NAME', `workload: ${workloads} (default ${d.workload})`],
    ['--cpus N', `number of vCPUs, 1 to ${MAX_CPUS} (default ${d.cpus})`],
    ['--pcpus P', 'physical CPUs the vCPUs share, 1 to --cpus; fewer than --cpus overcommits (default: one per vCPU)'],
    ['--mem SIZE', `guest RAM, ${formatBytes(MIN_RAM_BYTES)} to ${formatBytes(MAX_RAM_BYTES)}, as 256M, 512M, 65536K or bytes (default ${formatBytes(d.memBytes)})`],
    ['--hz N', `timer interrupts per second per vCPU, ${MIN_HZ} to ${MAX_HZ} (default ${d.hz})`],
    ['--seconds S', `run for S seconds, more than 0 and at most ${MAX_RUN_SECONDS} (default ${DEFAULT_RUN_SECONDS})`],
    ['--ops N', 'run until N operations have completed instead (not with --seconds)'],
    ['--watchdog-ms MS', `limit on any cross-CPU wait, ${MIN_WATCHDOG_MS} to ${MAX_WATCHDOG_MS} (default ${d.watchdogMs})`],
    ['--cost FILE', `JSON object of cycles per event, 0 to ${MAX_COST_CYCLES}, for any of ${COST_KEYS.join(', ')}; the rest keep their defaults (pvemu list shows them)`],
    ['--param NAME=VALUE', 'a numeric workload parameter; repeatable (default: none)'],
    ['--program FILE', 'run this riscv32 ELF program as init instead of a workload (not with --workload, --ops or --param); ARGS after -- are its arguments'],
    ['--env NAME=VALUE', `an environment variable of the --program, in its envp in the order given; repeatable, each NAME once, no NUL; argv and envp together must fit exec's ${ARG_MAX_BYTES / 1024} KiB (default: an empty environment)`],
    ['--clock MODE', 'host: run the vCPUs at once, figures in host time; virtual: one at a time in the order of their modelled clocks, so every count and modelled figure is the same on every run and host, and --seconds is modelled time (default host)'],
    ['--seed N', `the run's randomness, 0 to ${MAX_SEED}: the workloads' random streams and the guest's entropy (AT_RANDOM, getrandom); the same seed gives the same bytes (default: 0 for the workloads and the host's entropy for the guest; 0 for both with --clock virtual)`],
    ['--check', 'check TLB coherence: compare every TLB hit with the page tables and the flush generations; a translation used after its shootdown completed stops the run at once and fails it (exit 1; default: off)'],
    ['--check=count', 'the same checker, but the run goes on and counts every violation; it fails at its end (for studying a broken protocol)'],
  ];
}

export function runUsage(): string {
  const d = defaultConfig();
  const backends = describeBackends().map((b) => b.name).join(', ');
  return `Usage: pvemu run [options]
       pvemu run --program FILE.elf [options] [-- ARGS...]

Boots an emulated SMP machine, runs one workload on it and prints a report: throughput, TLB
shootdown counts, latency percentiles and modelled cycles, what the hypervisor did (traps,
hypercalls, VM exits), and a per-CPU table. Exits 0 when the workload's self-check passes,
1 when it fails.

With --program, init is a static riscv32 Linux executable (RV32IMA, see guest/README.md) run
with ARGS and the --env variables as its environment (none otherwise): what it writes to
stdout comes first, then the report, where ops are the
instructions its threads retired (ops/s: guest instructions per host second) and the
self-check is its exit status being 0. It runs until it exits; --seconds is then a time limit
(the program is killed with SIGKILL when it is reached).

Options:
${twoColumns([
  ['--backend NAME', `hypervisor backend: ${backends} (default ${d.backend})`],
  ...machineOptionRows(),
  ['--json FILE', 'also write the report as JSON to FILE (default: none)'],
  ['--trace FILE', 'also write a Chrome trace-event JSON to FILE (open it in Perfetto): a track per vCPU with shootdowns, flush handlers, IPIs with arrows from send to handling, hypercalls, traps and VM exits (default: none)'],
  ['--trace-events N', `events each vCPU records for --trace before it drops the rest, 1 to ${MAX_TRACE_EVENTS} (default ${DEFAULT_TRACE_EVENTS}, or ${DEFAULT_TRACE_EVENTS_TOTAL} shared out above ${DEFAULT_TRACE_EVENTS_TOTAL / DEFAULT_TRACE_EVENTS} vCPUs)`],
  ['-h, --help', 'show this text'],
])}

Run \`pvemu list\` for what each backend and workload does.
`;
}

export function compareUsage(): string {
  const backends = describeBackends().map((b) => b.name).join(',');
  return `Usage: pvemu compare [options]
       pvemu compare --program FILE.elf [options] [-- ARGS...]

Runs the same workload on the same machine configuration under each backend, one after another
(a new machine each), and prints one table: a row per backend with throughput, shootdowns,
IPIs, traps, hypercalls, modelled cycles per shootdown (p50) and host time per shootdown
(p50, p99). A backend whose run fails is reported in its row and the others still run.
Exits 0 when every backend ran and passed its self-check, 1 otherwise.

With --program, each backend runs the riscv32 program with ARGS and the --env variables, as
pvemu run --program does: its stdout comes first, once per distinct output and headed by the
backends that printed it, then the table, where ops/s is guest instructions per host second,
an elapsed column gives each run's time from exec to exit, and the self-check is the exit
status being 0.

Options:
${twoColumns([
  ['--backends A,B,...', `backends to compare, in this order (default ${backends})`],
  ...machineOptionRows(),
  ['--json FILE', 'also write a JSON array to FILE: per backend, its report as pvemu run writes it, or {backend, error} if its run failed (default: none)'],
  ['-h, --help', 'show this text'],
])}

Run \`pvemu list\` for what each backend and workload does.
`;
}

export function listUsage(): string {
  return `Usage: pvemu list

Lists the backends and workloads pvemu knows, one line each, and the default cost table
(cycles per event, with the source of each figure) that --cost FILE overrides.
`;
}
