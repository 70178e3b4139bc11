/**
 * riscv32 ELF programs as guest tasks: the ProgramLoader a vCPU uses when the machine runs
 * `--program FILE.elf`. Each task is a GuestThread around a Hart: it runs the hart on this
 * vCPU's RvCore in budgets, enters the kernel's system-call dispatch on ECALL (yielding BLOCK
 * when the call sleeps, finishing it with the value it is resumed with), yields PREEMPT between
 * budgets and when an interrupt asked for a reschedule, and dies with the signal of a fault
 * nothing resolved. Init execs the program (kernel/exec.ts); threads start from the registers
 * copy_thread left on their kernel stack. The --seconds limit is not this file's: the boot vCPU
 * kills init's thread group when it is reached (vcpu.ts). Runs on the vCPU worker that
 * schedules the task.
 */
import { InternalError } from '../lib/errors.js';
import { parseElf, type ElfImage } from '../kernel/binfmt-elf.js';
import type { Exec } from '../kernel/exec.js';
import { BLOCK, PREEMPT, type GuestThread, SYSCALL_BLOCKED } from '../uapi/program.js';
import type { Scheduler, TaskRun } from '../kernel/sched.js';
import { ERESTARTSYS } from '../uapi/errno.js';
import { SYS_exit_group, SYS_rt_sigreturn } from '../uapi/unistd.js';
import type { Signals } from '../kernel/signal.js';
import { SIGTRAP } from '../uapi/signal.js';
import { PT_REGS_BYTES } from '../kernel/syscalls.js';
import type { UserAccess } from '../uapi/program.js';
import { StopReason, type RvCore } from '../riscv/core.js';
import { HART_CONTEXT_WORDS, Hart } from '../riscv/hart.js';
import { REG_A0, REG_SP } from '../riscv/isa.js';
import type { SyscallEntry, WorkMeter } from '../workloads/sys.js';
import type { ProgramImage } from './task-args.js';

/**
 * Instructions per run of the hart before the task yields PREEMPT: the kernel's loop looks at
 * its slice clock every 16 steps, so 20 000 instructions (a few hundred µs interpreted, less
 * compiled) keep a vCPU's 5 ms slice and the stop request within a few milliseconds.
 */
export const RUN_BUDGET = 20_000;
/** tp (x4): the thread pointer CLONE_SETTLS sets. */
const REG_TP = 4;

/** The kernel services a riscv32 task needs beside its system-call entry. */
export interface RvKernel {
  sched: Scheduler;
  exec: Exec;
  /** Console for kill messages, and the counter a kill bumps. */
  console(text: string): void;
  taskKilled(): void;
  /** A fatal signal with no handler: the task's process dies of it (Tasks.fatalSignal). */
  fatalSignal(run: TaskRun, signal: number): number;
  /** Signal delivery on return to user mode, and faults offered to handlers. */
  signals: Pick<Signals, 'pending' | 'exitToUser' | 'forceFault'>;
}

/**
 * Where copy_thread leaves a new thread's registers: just below the system-call frame
 * (PT_REGS_BYTES) at the top of its kernel stack, HART_CONTEXT_WORDS words.
 */
export function childRegsAddr(kernelStackTop: number): number {
  return kernelStackTop - PT_REGS_BYTES - HART_CONTEXT_WORDS * 4;
}

export class RvPrograms {
  private readonly image: ElfImage;
  private readonly words = new Int32Array(HART_CONTEXT_WORDS);

  constructor(
    private readonly core: RvCore,
    private readonly entry: SyscallEntry,
    private readonly kernel: RvKernel,
    private readonly mem: UserAccess,
    private readonly meter: WorkMeter,
    private readonly program: ProgramImage,
  ) {
    // The main thread validated the file; parsing again here is cheap and keeps one copy of
    // the layout on each worker.
    this.image = parseElf(program.bytes, { name: `--program ${program.name}` });
  }

  /** The ProgramLoader: init execs the program; a clone child restores its saved registers. */
  load(tid: number, userSp: number, kernelStackTop: number): GuestThread {
    const run = this.kernel.sched.current;
    if (run === null || run.tid !== tid) throw new InternalError(`riscv32 loader: task ${tid} is not the current task`);
    const hart = new Hart();
    if (userSp === 0) return this.init(run, hart);
    const at = childRegsAddr(kernelStackTop);
    for (let i = 0; i < HART_CONTEXT_WORDS; i++) this.words[i] = this.mem.kernelLoad32(at + i * 4);
    hart.restoreFrom(this.words, 0);
    return this.thread(run, hart);
  }

  private *init(run: TaskRun, hart: Hart): GuestThread {
    const start = this.kernel.exec.load(run.mm, {
      image: this.image, bytes: this.program.bytes, argv: this.program.argv, envp: this.program.envp,
    });
    if (typeof start === 'number') {
      this.kernel.console(`task ${run.tid}: exec of ${this.program.name} failed (${start})\n`);
      return yield* this.exitGroup(127);
    }
    hart.pc = start.entry >>> 0;
    hart.x[REG_SP] = start.sp;
    return yield* this.thread(run, hart);
  }

  private *thread(run: TaskRun, hart: Hart): GuestThread {
    const { core, meter, entry } = this;
    const { signals } = this.kernel;
    run.copyThread = (top, newsp, tls, setTls) => this.copyThread(hart, top, newsp, tls, setTls);
    run.userRegs = {
      read(out) {
        out[0] = hart.pc | 0;
        for (let r = 1; r < 32; r++) out[r] = hart.x[r]!;
      },
      write(regs) {
        hart.pc = regs[0]! >>> 0;
        for (let r = 1; r < 32; r++) hart.x[r] = regs[r]!;
      },
    };
    meter.markWorkStart();
    try {
      for (;;) {
        const before = hart.instret;
        const why = core.run(hart, RUN_BUDGET);
        meter.opsDone(hart.instret - before);
        // The system call's first argument, for restarting it after a signal (orig_a0).
        let syscallA0: number | null = null;
        switch (why) {
          case StopReason.Ecall: {
            const n = hart.syscallNumber();
            syscallA0 = hart.x[REG_A0]!;
            let r = entry.syscall(n, syscallA0, hart.x[REG_A0 + 1]!, hart.x[REG_A0 + 2]!, hart.x[REG_A0 + 3]!, hart.x[REG_A0 + 4]!, hart.x[REG_A0 + 5]!);
            if (n === SYS_rt_sigreturn && r !== SYSCALL_BLOCKED) {
              // The frame gave back every register, pc and a0 included: nothing to finish, and
              // nothing to restart (Linux's sigreturn clears the syscall marker the same way).
              syscallA0 = null;
              break;
            }
            if (r === SYSCALL_BLOCKED) {
              r = yield BLOCK;
              // -ERESTARTSYS: the call looks again now that something changed (wait4 after a
              // child's exit, a pipe read after a write, ppoll). The hart is still at its
              // ECALL, so not finishing the call runs it again — unless a signal woke it: then
              // the call is interrupted, and the signal code restarts it or makes it -EINTR.
              if (r === -ERESTARTSYS && !run.exiting) {
                if (!signals.pending(run)) {
                  yield PREEMPT;
                  continue;
                }
                r = run.interrupted;
                run.onInterrupt?.();
              }
            }
            hart.finishSyscall(r);
            break;
          }
          case StopReason.Budget:
          case StopReason.Interrupt:
            break;
          case StopReason.Fault: {
            const f = core.fault!;
            if (!signals.forceFault(run, f.signal, f.addr, f.mapped)) return yield* this.die(run, f.signal, core.describeFault());
            hart.pc = f.pc;
            break;
          }
          case StopReason.Ebreak:
            if (!signals.forceFault(run, SIGTRAP, hart.pc, false)) return yield* this.die(run, SIGTRAP, `SIGTRAP (breakpoint) at pc 0x${hart.pc.toString(16)}`);
            break;
          default: {
            const never: never = why;
            throw new InternalError(`riscv32 task: unknown stop reason ${String(never)}`);
          }
        }
        // Return to user mode: signal work, then a preemption point (sched_yield, a wake-up,
        // exit_group's kill).
        if (signals.exitToUser(run, syscallA0) === SYSCALL_BLOCKED) yield BLOCK;
        yield PREEMPT;
      }
    } finally {
      meter.markWorkEnd();
    }
  }

  /**
   * A fatal signal (no handler for it): the whole thread group dies of it: its parent's wait
   * sees WIFSIGNALED, a shell 128 + signal; the machine goes on running other processes.
   */
  private *die(run: TaskRun, signal: number, why: string): GuestThread {
    this.kernel.taskKilled();
    this.kernel.console(`task ${run.tid}: killed: ${why}\n`);
    if (this.kernel.fatalSignal(run, signal) === SYSCALL_BLOCKED) yield BLOCK;
    return 128 + signal;
  }

  private *exitGroup(status: number): GuestThread {
    const r = this.entry.syscall(SYS_exit_group, status, 0, 0, 0, 0, 0);
    if (r === SYSCALL_BLOCKED) yield BLOCK;
    return status;
  }

  /** copy_thread: the parent's registers at its ECALL, with the child's fix-ups, on the child's kernel stack. */
  private copyThread(hart: Hart, kernelStackTop: number, newsp: number, tls: number, setTls: boolean): number {
    const w = this.words;
    hart.saveTo(w, 0);
    // saveTo's layout: x1..x31 at 0..30, pc at 31, instret at 32..33.
    w[REG_A0 - 1] = 0;
    // copy_thread: a new stack if the caller gave one, else the parent's (fork: clone(SIGCHLD, 0)).
    if (newsp !== 0) w[REG_SP - 1] = newsp;
    if (setTls) w[REG_TP - 1] = tls;
    w[31] = (hart.pc + 4) | 0;
    w[32] = 0;
    w[33] = 0;
    const at = childRegsAddr(kernelStackTop);
    for (let i = 0; i < HART_CONTEXT_WORDS; i++) this.mem.kernelStore32(at + i * 4, w[i]!);
    return w[REG_SP - 1]! >>> 0;
  }
}
