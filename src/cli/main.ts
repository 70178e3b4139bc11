#!/usr/bin/env node
/**
 * The `pvemu` executable: hands argv to the commands (commands.ts) and their exit status to the
 * process. Main thread.
 *
 * It sets `process.exitCode` and lets the process end by itself, rather than calling
 * process.exit(): a run's vCPU workers may still be shutting down, and stdout may still be
 * draining into a pipe. If something is left holding the event loop open, the guard below
 * says so and exits anyway, so a script calling pvemu never hangs.
 */
import type { CliIo, StopSignal } from './commands.js';

// Ctrl-C while the modules load (a second or more on a busy host) must still stop the run with
// its partial report: note it now, and hand it to the run once it can listen.
let early: StopSignal | undefined;
const noteEarly = (signal: NodeJS.Signals): void => {
  early ??= signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
};
process.on('SIGINT', noteEarly);
process.on('SIGTERM', noteEarly);
const { cliMain, processIo } = await import('./commands.js');
process.off('SIGINT', noteEarly);
process.off('SIGTERM', noteEarly);
// From here to the run's own subscription is synchronous: no signal can fall between the two.
const io: CliIo = early === undefined ? processIo : {
  ...processIo,
  onStopSignal: (handler) => {
    const off = processIo.onStopSignal!(handler);
    const signal = early!;
    queueMicrotask(() => handler(signal));
    return off;
  },
};

/**
 * How long the process may stay alive after the command has finished, in ms. Worker teardown
 * takes milliseconds; ten seconds is long enough never to cut off a slow but healthy exit.
 */
const EXIT_GRACE_MS = 10_000;

// `pvemu list | head -1` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await cliMain(process.argv.slice(2), io);

// unref(): this timer alone does not keep the process alive; it fires only if something else does.
setTimeout(() => {
  process.stderr.write(`pvemu: still running ${EXIT_GRACE_MS / 1000} s after the command finished (a worker or handle was left open); exiting\n`);
  process.exit();
}, EXIT_GRACE_MS).unref();
