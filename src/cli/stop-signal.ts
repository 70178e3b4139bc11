/**
 * Ctrl-C and SIGTERM as a long command sees them: the first stops the work early and keeps what
 * it did (a partial report, a sweep's finished rows); a second, while the first is handled, ends
 * the process at once. Shared by `pvemu` and the bench runner. Main thread.
 */

/** The signals that stop a run early and keep its partial results. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** A command stopped by a signal exits 128 + its number, as a shell reports it. */
export const EXIT_SIGNAL: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
export function onStopSignal(handler: (signal: StopSignal) => void): () => void {
  let received = 0;
  const on = (signal: StopSignal): void => {
    // The second Ctrl-C: the user wants out now, partial results or not.
    if (++received > 1) process.exit(EXIT_SIGNAL[signal]);
    handler(signal);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
}
