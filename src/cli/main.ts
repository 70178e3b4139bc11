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
import { cliMain, processIo } from './commands.js';

/**
 * How long the process may stay alive after the command has finished, in ms. Worker teardown
 * takes milliseconds; ten seconds is long enough never to cut off a slow but healthy exit.
 */
const EXIT_GRACE_MS = 10_000;

// `pvemu list | head -1` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await cliMain(process.argv.slice(2), processIo);

// unref(): this timer alone does not keep the process alive; it fires only if something else does.
setTimeout(() => {
  process.stderr.write(`pvemu: still running ${EXIT_GRACE_MS / 1000} s after the command finished (a worker or handle was left open); exiting\n`);
  process.exit();
}, EXIT_GRACE_MS).unref();
