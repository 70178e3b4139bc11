/**
 * A program's argument and environment vectors, checked against exec's limits before any
 * vCPU starts. Main thread.
 *
 * exec (src/kernel/exec.ts) builds init's initial stack on vCPU 0 with buildInitialStack, which
 * refuses an image over ARG_MAX_BYTES (Linux's old MAX_ARG_PAGES limit) or a string holding a
 * NUL. Refused there, the failure would surface as that vCPU's InternalError after boot; run
 * here with the same builder and the same stack top, the refusal is one ConfigError naming the
 * vectors, before a worker exists. The AT_RANDOM bytes differ from the vCPU's, but only their
 * count affects the layout, so the size checked here is the size exec needs.
 */
import { ConfigError } from '../lib/errors.js';
import { auxvFor, AT_RANDOM_BYTES, buildInitialStack, HWCAP_RV32IMA, type ElfImage } from '../kernel/binfmt-elf.js';
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
