/**
 * A program for a run: its ELF image read and validated, and its argument and environment vectors
 * checked against exec's limits, before any vCPU starts. Main thread.
 *
 * exec (src/kernel/exec.ts) builds init's initial stack on vCPU 0 with buildInitialStack, which
 * refuses an image over ARG_MAX_BYTES (Linux's old MAX_ARG_PAGES limit) or a string holding a
 * NUL. Refused there, the failure would surface as that vCPU's InternalError after boot; run
 * here with the same builder and the same stack top, the refusal is one ConfigError naming the
 * vectors, before a worker exists. The AT_RANDOM bytes differ from the vCPU's, but only their
 * count affects the layout, so the size checked here is the size exec needs.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../lib/errors.js';
import type { ProgramImage } from '../vcpu/task-args.js';
import { auxvFor, AT_RANDOM_BYTES, buildInitialStack, HWCAP_RV32IMA, parseElf, type ElfImage } from '../kernel/binfmt-elf.js';
import { STACK_TOP } from '../kernel/exec.js';

/**
 * Throws the ConfigError exec would hit building the initial stack of `image` with `argv` and
 * `envp`, its option renamed to `what` (the caller's name for those vectors).
 */
export function checkExecArgs(image: ElfImage, argv: readonly string[], envp: readonly string[], what: string): void {
  try {
    buildInitialStack({ stackTop: STACK_TOP, argv, envp, random: new Uint8Array(AT_RANDOM_BYTES), auxv: auxvFor(image, HWCAP_RV32IMA) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // buildInitialStack names the vector ("argv and envp", "envp[2]"); its text follows as a sentence.
    throw new ConfigError(what, `${err.option} ${err.allowed}`);
  }
}

/**
 * A riscv32 static ELF executable as a run's init: `bytes` read from `path`, validated (parseElf),
 * its argv (argv[0] is the path as given, then `args`) and `envp` checked against exec's initial
 * stack. `errors` names the options a refusal blames: the file's, and the vectors'.
 */
export function programImage(
  path: string,
  bytes: Uint8Array,
  args: readonly string[],
  envp: readonly string[],
  errors: { file: string; vectors: string },
): ProgramImage {
  const image = parseElf(bytes, { name: `${errors.file} ${path}` });
  const argv = [path, ...args];
  checkExecArgs(image, argv, envp, errors.vectors);
  return { name: path.slice(path.lastIndexOf('/') + 1), bytes, argv, envp: [...envp] };
}

/**
 * For library callers: the program at `path`, read from disk, with its arguments and
 * environment (NAME=VALUE strings), ready to be MachineConfig.program. Bad input is a
 * ConfigError naming `program`.
 */
export function loadProgram(path: string, args: readonly string[] = [], envp: readonly string[] = []): ProgramImage {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError('program', `cannot read ${JSON.stringify(path)}: ${why.replace(/\s*\n\s*/g, ' ')}`);
  }
  return programImage(path, bytes, args, envp, { file: 'program', vectors: 'program' });
}
