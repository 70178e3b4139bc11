/**
 * `pvemu torture` (src/cli/torture.ts): its options and their one-line errors, its table, stop
 * conditions and exit status over a scripted runner, and a short real campaign, each run a child
 * process booting real vCPU workers from the build output (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliMain, EXIT_USAGE } from '../../src/cli/commands.js';
import { parseTortureOptions, spawnRun, tortureCommand, type TortureRunner } from '../../src/cli/torture.js';
import { campaignRunSeed, describeConfig, describeInjection, NO_INJECTION, planCampaign, type PlannedRun, type RunOutcome } from '../../src/cli/torture-plan.js';
import { ConfigError } from '../../src/lib/errors.js';
import { captureIo } from '../helpers/cli-io.js';


/** Every --inject name, the default. */
const ALL = [
  'none', 'dropFlushes', 'noAck', 'dropIpis', 'ackBeforeFlush', 'lazyNoGenCheck', 'firstPageFlush',
  'xenIgnoreMailbox', 'xenSkipFlushOnResume', 'kvmSkipFlushOnLoad', 'shadowSkipSync',
];

/** The ConfigError message `argv` gets, or undefined if it parses. */
function rejection(...argv: string[]): string | undefined {
  try {
    parseTortureOptions(argv);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe('pvemu torture options', () => {
  it('takes a seed, runs, minutes, injections and a watchdog limit', () => {
    expect(parseTortureOptions(['--seed', '7'])).toEqual({ seed: 7, runs: 20, inject: ALL, watchdogMs: 2000 });
    // --minutes alone: no count limit; both: whichever comes first.
    expect(parseTortureOptions(['--seed', '7', '--minutes', '0.5'])).toEqual({ seed: 7, minutes: 0.5, inject: ALL, watchdogMs: 2000 });
    expect(parseTortureOptions(['--seed', '7', '--minutes', '60', '--runs', '3'])).toMatchObject({ minutes: 60, runs: 3 });
    expect(parseTortureOptions(['--seed=7', '--inject', 'noAck,none', '--watchdog-ms', '5000'])).toMatchObject({ inject: ['noAck', 'none'], watchdogMs: 5000 });
    expect(parseTortureOptions(['--replay', '4294967295'])).toEqual({ replay: 4294967295, inject: ALL, watchdogMs: 2000 });
    // The matrix runs every cell unless --runs, --minutes or --cell says otherwise.
    expect(parseTortureOptions(['--seed', '7', '--matrix'])).toEqual({ seed: 7, matrix: true, inject: ALL, watchdogMs: 2000 });
    expect(parseTortureOptions(['--seed', '7', '--matrix', '--cell', '12'])).toMatchObject({ matrix: true, cell: 12 });
  });

  it('rejects bad input with one line naming the option and what is allowed', () => {
    expect(rejection()).toBe('--seed: missing: give --seed S for a campaign, or --replay RUNSEED for one run');
    expect(rejection('--seed', 'x')).toBe('--seed: must be an integer from 0 to 4294967295, got x');
    expect(rejection('--seed', '4294967296')).toBe('--seed: must be an integer from 0 to 4294967295, got 4294967296');
    expect(rejection('--seed', '1', '--runs', '0')).toBe('--runs: must be an integer from 1 to 1000000, got 0');
    expect(rejection('--seed', '1', '--runs', '-1')).toBe('--runs: must be an integer from 1 to 1000000, got -1');
    expect(rejection('--seed', '1', '--minutes', '0')).toBe('--minutes: must be a positive number no greater than 10080, got 0');
    expect(rejection('--seed', '1', '--minutes', 'soon')).toBe('--minutes: must be a positive number no greater than 10080, got soon');
    expect(rejection('--seed', '1', '--inject', 'noAck,bitflip')).toBe(`--inject: unknown injection bitflip; known: ${ALL.join(', ')}`);
    expect(rejection('--seed', '1', '--inject', 'noAck,noAck')).toBe('--inject: noAck given twice');
    expect(rejection('--seed', '1', '--watchdog-ms', '50')).toBe('--watchdog-ms: must be an integer from 100 to 600000, got 50');
    expect(rejection('--replay', '5', '--seed', '1')).toBe('--replay: cannot be combined with --seed: it runs the one run of that seed');
    expect(rejection('--seed', '1', '--seed', '2')).toBe('--seed: given twice; it takes one value');
    expect(rejection('--seed', '1', '--cpus', '4')).toBe('--cpus: unknown option (see pvemu torture --help)');
    expect(rejection('--seed')).toBe('--seed: missing value');
    expect(rejection('--seed', '1', 'now')).toBe('now: unexpected argument (torture takes only --options; see pvemu torture --help)');
    expect(rejection('--seed', '1', '--cell', '3')).toBe('--cell: needs --matrix: it names one cell of the matrix');
    expect(rejection('--seed', '1', '--matrix', '--cell', '3', '--runs', '2')).toBe('--cell: cannot be combined with --runs: it runs the one cell');
    expect(rejection('--seed', '1', '--matrix', '--cell', '0')).toBe('--cell: must be an integer from 1 to 1000000, got 0');
    expect(rejection('--seed', '1', '--matrix=yes')).toBe('--matrix: takes no value');
    expect(rejection('--replay', '5', '--matrix')).toBe('--replay: cannot be combined with --matrix: it runs the one run of that seed');
  });

  it('exits 2 with the one line through pvemu and npm run torture\'s entry point', async () => {
    const io = captureIo();
    expect(await cliMain(['torture', '--seed', '1', '--runs', '0'], io)).toBe(EXIT_USAGE);
    expect(io.stderr).toBe('pvemu: --runs: must be an integer from 1 to 1000000, got 0\n');
    expect(io.stdout).toBe('');
    const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
    expect(existsSync(cli), 'build first: npm test runs npm run build as pretest').toBe(true);
    const r = spawnSync(process.execPath, [cli, 'torture', '--seed', '1', '--minutes', '-3'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(EXIT_USAGE);
    expect(r.stderr).toBe('pvemu: --minutes: must be a positive number no greater than 10080, got -3\n');
  }, 60_000);

  it('prints its usage for --help and pvemu help torture', async () => {
    const io = captureIo();
    expect(await cliMain(['torture', '--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/^Usage: pvemu torture --seed S/);
    const help = captureIo();
    expect(await cliMain(['help', 'torture'], help)).toBe(0);
    expect(help.stdout).toBe(io.stdout);
  });
});

/** A runner that answers at once, by injection: `answers` maps an injection name to an outcome. */
function scripted(answers: Record<string, RunOutcome>, seen: PlannedRun[] = []): TortureRunner {
  return (run) => {
    seen.push(run);
    return { outcome: Promise.resolve(answers[run.injection]!), kill: () => {} };
  };
}

const PASSED: RunOutcome = { kind: 'returned', hostMs: 800, ops: 1000, selfCheck: { passed: true, message: 'ok' }, perCpu: Array.from({ length: 8 }, () => ({ callRequestsHandled: 9, flushes: 99, shootdownDeferred: 1 })) };

describe('pvemu torture over a scripted runner', () => {
  it('tables the verdicts, lists what was missed with its replay command, and exits 1', async () => {
    const io = captureIo();
    const seen: PlannedRun[] = [];
    const runner = scripted({
      none: PASSED,
      dropFlushes: { kind: 'threw', hostMs: 1500, error: { name: 'CoherenceError', message: 'TLB coherence check: cpu 1 used a stale TLB entry' } },
      noAck: PASSED,
    }, seen);
    const status = await tortureCommand(['--seed', '9', '--runs', '12', '--inject', 'none,dropFlushes,noAck'], io, runner);
    expect(seen.map((r) => r.runSeed)).toEqual(Array.from({ length: 12 }, (_, i) => campaignRunSeed(9, i)));
    const count = (name: string): number => seen.filter((r) => r.injection === name).length;
    expect(count('noAck')).toBeGreaterThan(0);
    expect(count('dropFlushes')).toBeGreaterThan(0);
    expect(status).toBe(1);
    expect(io.stdout).toContain(`torture seed 9: 12 runs, ${count(NO_INJECTION)} passed, ${count('dropFlushes')} caught, ${count('noAck')} missed, 0 unexpected\n`);
    expect(io.stdout).toMatch(new RegExp(`\\n  dropFlushes +${count('dropFlushes')} +- +${count('dropFlushes')} +0 +0 +1500 +1500\\n`));
    for (const run of seen.filter((r) => r.injection === 'noAck')) {
      expect(io.stdout).toContain(`    reproduce: npm run torture -- --replay ${run.runSeed} --inject none,dropFlushes,noAck\n`);
    }
    expect(io.stdout.match(/reproduce:/g)).toHaveLength(count('noAck'));
    expect(io.stdout.endsWith('unexpected\n')).toBe(true);
  });

  it('exits 0 when every injection was caught, and repeats plan-changing options in the replay line', async () => {
    const io = captureIo();
    const status = await tortureCommand(['--seed', '9', '--runs', '6', '--inject', 'noAck', '--watchdog-ms', '700'], io, scripted({
      noAck: { kind: 'threw', hostMs: 2100, error: { name: 'WatchdogError', message: 'watchdog: cpu 0 waited 701 ms for call-function acknowledgement from cpu 1; cpu 1 is running' } },
    }));
    // The scripted watchdog names cpus 0 and 1: a run whose noAck CPU is another is unexplained.
    const named = planCampaign(9, 6, ['noAck']).filter((r) => [0, 1].includes(r.config.inject!.noAckCpu!)).length;
    expect(named).toBeGreaterThan(0);
    expect(io.stdout).toContain(`torture seed 9: 6 runs, 0 passed, ${named} caught, 0 missed, ${6 - named} unexpected\n`);
    expect(status).toBe(named === 6 ? 0 : 1);
    if (named < 6) expect(io.stdout).toMatch(/reproduce: npm run torture -- --replay \d+ --inject noAck --watchdog-ms 700\n/);
    const allCaught = captureIo();
    const ok = await tortureCommand(['--seed', '9', '--runs', '3', '--inject', 'dropFlushes'], allCaught, scripted({
      dropFlushes: { kind: 'returned', hostMs: 900, ops: 50, selfCheck: { passed: false, message: 'tlb_flush1: thread 1: 0x10000000 read 3 after MADV_DONTNEED, expected 0' }, perCpu: [] },
    }));
    expect(ok).toBe(0);
    expect(allCaught.stdout).toContain('torture seed 9: 3 runs, 0 passed, 3 caught, 0 missed, 0 unexpected\n');
    expect(allCaught.stdout).not.toContain('missed or unexpected:');
  });

  it('calls a hang, a crash and an error no injection explains unexpected', async () => {
    const io = captureIo();
    const status = await tortureCommand(['--seed', '3', '--runs', '3', '--inject', 'none'], io, (run) => {
      const outcomes: RunOutcome[] = [
        { kind: 'hang', hostMs: 26000, limitMs: 26000 },
        { kind: 'crashed', hostMs: 40, status: null, signal: 'SIGSEGV', stderr: '' },
        { kind: 'threw', hostMs: 700, error: { name: 'InternalError', message: 'frame 12 freed twice' } },
      ];
      return { outcome: Promise.resolve(outcomes[[0, 1, 2].find((i) => campaignRunSeed(3, i) === run.runSeed)!]!), kill: () => {} };
    });
    expect(status).toBe(1);
    expect(io.stdout).toContain('UNEXPECTED: no answer within the 26.0-s host-time limit (killed): a hang no watchdog caught');
    expect(io.stdout).toContain('UNEXPECTED: the child process ended without a result (signal SIGSEGV)');
    expect(io.stdout).toContain('UNEXPECTED: InternalError: frame 12 freed twice');
    expect(io.stdout).toContain('torture seed 3: 3 runs, 0 passed, 0 caught, 0 missed, 3 unexpected\n');
  });

  it('starts no run after --minutes, and replays one run seed alone with its configuration', async () => {
    const io = captureIo();
    // Each scripted run takes a second, the time limit is 0.6 s: the first run starts, no second.
    const slow: TortureRunner = () => ({ outcome: new Promise((resolve) => setTimeout(() => resolve(PASSED), 1000)), kill: () => {} });
    expect(await tortureCommand(['--seed', '4', '--minutes', '0.01', '--inject', 'none'], io, slow)).toBe(0);
    expect(io.stdout).toContain('torture seed 4 (0.01 min)\n');
    expect(io.stdout).toContain('torture seed 4: 1 run, 1 passed, 0 caught, 0 missed, 0 unexpected\n');
    const replay = captureIo();
    const seen: PlannedRun[] = [];
    const runSeed = campaignRunSeed(4, 5);
    const planned = planCampaign(4, 6)[5]!;
    // A passing run is a pass without an injection and a miss with one.
    const expected = planned.injection === NO_INJECTION ? 0 : 1;
    expect(await tortureCommand(['--replay', `${runSeed}`], replay, scripted(Object.fromEntries(ALL.map((name) => [name, PASSED])), seen))).toBe(expected);
    expect(seen).toEqual([planned]);
    expect(replay.stdout).toContain(`config ${JSON.stringify(seen[0]!.config)}\n`);
    expect(replay.stdout).toContain(`torture replay ${runSeed}: 1 run, `);
  });
});

/**
 * A seed whose first six runs are short (host time, 1 or 2 vCPUs, no overcommit) and hold the
 * control group, dropFlushes and noAck (asserted below: a change to the planner that moves them
 * fails here, and a new seed can be found by drawing planCampaign(seed, 6) for seeds in turn),
 * and besides them ackBeforeFlush, firstPageFlush and shadowSkipSync.
 */
const SHORT_CAMPAIGN_SEED = 256107;

/** The detectors each injection kind counts (torture-plan.ts, caughtBy). */
const DETECTORS: Readonly<Record<string, readonly string[]>> = {
  dropFlushes: ['check', 'self-check'],
  noAck: ['watchdog'],
  dropIpis: ['watchdog'],
  xenIgnoreMailbox: ['watchdog', 'conservation', 'check', 'self-check'],
  kvmSkipFlushOnLoad: ['check', 'self-check'],
  ackBeforeFlush: ['check', 'self-check'],
  lazyNoGenCheck: ['check', 'self-check'],
  firstPageFlush: ['check', 'self-check'],
  xenSkipFlushOnResume: ['check', 'self-check'],
  shadowSkipSync: ['check', 'self-check'],
};

describe('a short real torture campaign', () => {
  it('runs each configuration in a child, catches or misses each injection, and finds nothing unexpected', async () => {
    const plan = planCampaign(SHORT_CAMPAIGN_SEED, 6);
    const kinds = new Set(plan.map((r) => r.injection));
    for (const kind of [NO_INJECTION, 'dropFlushes', 'noAck']) expect(kinds).toContain(kind);
    expect(plan.every((r) => r.config.clock === 'host' && r.config.cpus <= 2 && r.config.pcpus === undefined)).toBe(true);

    const io = captureIo();
    // The project's default watchdog limit rather than the campaign's 2 s: a busy host (the rest
    // of the suite beside this file) must not trip it in a run without an injection.
    const status = await tortureCommand(['--seed', `${SHORT_CAMPAIGN_SEED}`, '--runs', '6', '--watchdog-ms', '5000'], io, spawnRun);
    const lines = io.stdout.split('\n').filter((l) => l.startsWith('run '));
    expect(lines, io.stdout).toHaveLength(6);
    for (const [i, line] of lines.entries()) {
      const run = plan[i]!;
      const head = `run ${i + 1}/6 (seed ${run.runSeed}): ${describeConfig(run.config)}; ${describeInjection(run)}: `;
      expect(line.startsWith(head), `${line}\nexpected it to start with\n${head}`).toBe(true);
      const verdict = line.slice(head.length);
      if (run.injection === NO_INJECTION) {
        expect(verdict, io.stdout).toBe('passed');
        continue;
      }
      const m = /^(?:caught by (check|self-check|watchdog|conservation) in \d+ ms|MISSED.*)$/.exec(verdict);
      expect(m, io.stdout).not.toBeNull();
      if (m![1] !== undefined) expect(DETECTORS[run.injection], line).toContain(m![1]);
    }
    const summary = new RegExp(`torture seed ${SHORT_CAMPAIGN_SEED}: 6 runs, (\\d+) passed, (\\d+) caught, (\\d+) missed, (\\d+) unexpected\\n$`).exec(io.stdout);
    expect(summary, io.stdout).not.toBeNull();
    const [passed, caught, missed, unexpected] = summary!.slice(1).map(Number);
    expect(unexpected, io.stdout).toBe(0);
    expect(passed).toBe(plan.filter((r) => r.injection === NO_INJECTION).length);
    expect(caught! + missed!).toBe(plan.filter((r) => r.injection !== NO_INJECTION).length);
    expect(status).toBe(missed === 0 ? 0 : 1);
  }, 300_000);
});
