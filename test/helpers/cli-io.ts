/** A CliIo that keeps what a command writes, for the CLI tests. */
import type { CliIo } from '../../src/cli/commands.js';

export interface CapturedIo extends CliIo {
  stdout: string;
  stderr: string;
  /** What the command wrote to its progress line. */
  progressText: string;
}

export function captureIo(): CapturedIo {
  const io: CapturedIo = {
    stdout: '',
    stderr: '',
    progressText: '',
    out: (text) => void (io.stdout += text),
    err: (text) => void (io.stderr += text),
    progress: (text) => void (io.progressText += text),
  };
  return io;
}
