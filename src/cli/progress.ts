/**
 * Progress on stderr for long commands (`pvemu run`, bench sweeps): a cli-progress bar, drawn
 * only when the stream is a terminal and only once the work has lasted a second, so a short
 * run and any script reading stderr see nothing but errors. Main thread.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { Machine } from '../machine/machine.js';
import type { MachineConfig } from '../machine/config.js';
import { hostNowNs } from '../lib/host-clock.js';

/** Work shorter than this shows no bar at all, in ms: a bar that flashes for 200 ms is noise. */
export const PROGRESS_DELAY_MS = 1000;
/** How often `pvemu run` samples its progress, in ms: a comlink snapshot per vCPU costs ~0.1 ms. */
const RUN_POLL_MS = 250;

/** The part of a stream the bar needs: process.stderr, or a test's fake terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface Progress {
  /** Moves the bar to `value` of the total, with a short label of what is under way. */
  update(value: number, label?: string): void;
  /**
   * A line of text (ending in a newline): above the bar when one is drawn, else straight to
   * the stream, so log lines stay where they were before there was a bar.
   */
  log(line: string): void;
  /** Removes the bar; further calls do nothing. Always call it, or the bar's timer keeps the process alive. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is being counted to (runs, seconds, operations). */
  total: number;
  /** Unit shown after value/total: "runs", "s", "ops". */
  unit: string;
  /** Word in front of the bar: "sweep", "run". */
  title: string;
  stream?: ProgressStream;
  /** Show the bar only after this many ms (default PROGRESS_DELAY_MS). */
  delayMs?: number;
}

/** A bar for `o.total` units of work; see the file comment for when it is drawn. */
export function startProgress(o: ProgressOptions): Progress {
  const stream: ProgressStream = o.stream ?? process.stderr;
  if (stream.isTTY !== true) {
    return { update: () => undefined, log: (line) => void stream.write(line), stop: () => undefined };
  }
  let value = 0;
  let label = '';
  let multi: MultiBar | undefined;
  let bar: SingleBar | undefined;
  let stopped = false;
  const show = (): void => {
    const timed = o.unit === 's';
    // Counting seconds, value/total is the clock: a second clock (cli-progress's duration, and an
    // eta that is just total - value) would only disagree with it.
    const clock = timed ? '' : ' | {duration_formatted}, eta {eta_formatted}';
    multi = new MultiBar({
      stream,
      format: `${o.title} [{bar}] {percentage}% | {value}/{total} ${o.unit}${clock} | {label}`,
      formatValue: (v, _options, type) => (type === 'value' || type === 'total' ? v.toFixed(timed ? 1 : 0) : String(v)),
      hideCursor: true,
      clearOnComplete: true,
      // Our own stop() runs in a finally; cli-progress must not add SIGINT handlers of its own.
      gracefulExit: false,
      barsize: 24,
    });
    bar = multi.create(o.total, value, { label });
  };
  // unref(): a pending bar alone never keeps the process alive.
  const timer = setTimeout(show, o.delayMs ?? PROGRESS_DELAY_MS);
  timer.unref();
  return {
    update(v, l) {
      value = Math.min(v, o.total);
      if (l !== undefined) label = l;
      bar?.update(value, { label });
    },
    log(line) {
      if (multi === undefined) {
        stream.write(line);
        return;
      }
      multi.log(line);
      // Draw now: cli-progress flushes its log buffer on its next tick, which stop() skips.
      multi.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      multi?.stop();
    },
  };
}

/**
 * Progress of one `pvemu run`, from the vCPUs' live snapshots (Machine.snapshot, answered between
 * their run slices): the workload's seconds of --seconds, counted from the first vCPU's start of
 * work as the run's own clock is (boot is not part of it, and shows as "booting"), or operations
 * done of --ops. Polls only when `stream` is a terminal (undefined: no progress). Returns the
 * function that stops it.
 */
export function runProgress(machine: Pick<Machine, 'snapshot'>, config: MachineConfig, stream: ProgressStream | undefined): () => void {
  if (stream?.isTTY !== true) return () => undefined;
  // A --program without --seconds runs until it exits: there is no total to show progress of.
  if (config.program !== undefined && config.seconds === undefined) return () => undefined;
  const label = `${config.workload} on ${config.backend}, ${config.cpus} vCPU${config.cpus === 1 ? '' : 's'}`;
  const byOps = config.ops !== undefined;
  const progress = startProgress(byOps
    ? { total: config.ops ?? 0, unit: 'ops', title: 'run', stream }
    : { total: config.seconds ?? 0, unit: 's', title: 'run', stream });
  let polling = false;
  const poll = (): void => {
    if (polling) return; // one snapshot at a time: a busy vCPU answers late
    polling = true;
    Promise.resolve()
      .then(() => machine.snapshot())
      .then((snaps) => {
        if (byOps) {
          progress.update(snaps.reduce((n, s) => n + s.counters.ops, 0), label);
          return;
        }
        const started = snaps.map((s) => s.workStartNs).filter((t) => t > 0);
        if (started.length === 0) progress.update(0, `${label}: booting`);
        else progress.update((hostNowNs() - Math.min(...started)) / 1e9, label);
      })
      // A snapshot racing the end of the run (its port closed) just leaves the bar where it was.
      .catch(() => undefined)
      .finally(() => { polling = false; });
  };
  const interval = setInterval(poll, RUN_POLL_MS);
  interval.unref();
  return () => {
    clearInterval(interval);
    progress.stop();
  };
}
