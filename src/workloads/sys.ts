/**
 * The guest's user-space runtime ("libc") for TypeScript guest programs: system-call wrappers
 * by Linux RISC-V number, user-memory access through the MMU, and the emulator's work meter.
 * One per task, on the vCPU worker that runs it.
 *
 * Blocking calls are generators (`yield* sys.futexWait(...)`): when the kernel answers
 * SYSCALL_BLOCKED the wrapper yields BLOCK and returns the value the task is resumed with.
 */
import { GuestSegfault } from '../lib/errors.js';
import { ERESTARTSYS } from '../uapi/errno.js';
import type { UserAccess } from '../uapi/program.js';
import { CLOCK_MONOTONIC } from '../uapi/time.js';
import { FUTEX_PRIVATE_FLAG, FUTEX_WAIT, FUTEX_WAKE } from '../uapi/futex.js';
import { SYSCALL_BLOCKED, BLOCK, PREEMPT, type GuestThread } from '../uapi/program.js';
import { SYS_brk, SYS_clock_gettime, SYS_clone, SYS_exit_group, SYS_futex, SYS_getpid, SYS_gettid, SYS_madvise, SYS_membarrier, SYS_mmap, SYS_mprotect, SYS_munmap, SYS_nanosleep, SYS_sched_yield, SYS_wait4, SYS_write } from '../uapi/unistd.js';
import { SIGCHLD } from '../uapi/signal.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';

/** The kernel's system-call entry, as a guest sees it (ecall). */
export interface SyscallEntry {
  syscall(nr: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): number;
}

/** Emulator instrumentation a workload reports through (not guest-visible state). */
export interface WorkMeter {
  /** The run's stop condition fired (--seconds elapsed). */
  stopRequested(): boolean;
  /** `n` workload operations completed on this vCPU. */
  opsDone(n: number): void;
  /** This thread starts (or ends) its measured work. */
  markWorkStart(): void;
  markWorkEnd(): void;
}

const PAGE = 4096;
/** The start frame at the top of a new task's stack: entry, control block, argument. */
const START_FRAME_BYTES = 16;

export class Sys {
  /** A private page for system-call buffers (timespec, console text), mapped on first use. */
  private scratch = 0;

  constructor(
    private readonly kernel: SyscallEntry,
    readonly mem: UserAccess,
    readonly meter: WorkMeter,
  ) {}

  syscall(nr: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): number {
    return this.kernel.syscall(nr, a0, a1, a2, a3, a4, a5);
  }

  /** A call that may sleep: resumed with its result, or run again when woken with -ERESTARTSYS. */
  private *blocking(nr: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): GuestThread {
    for (;;) {
      const r = this.syscall(nr, a0, a1, a2, a3, a4, a5);
      if (r !== SYSCALL_BLOCKED) return r;
      const woken: number = yield BLOCK;
      if (woken !== -ERESTARTSYS) return woken;
    }
  }

  // --- memory, through the MMU ---
  load8(va: number): number { return this.mem.load8(va); }
  load32(va: number): number { return this.mem.load32(va); }
  store8(va: number, v: number): void { this.mem.store8(va, v); }
  store32(va: number, v: number): void { this.mem.store32(va, v); }
  atomicLoad32(va: number): number { return this.mem.atomicLoad32(va); }
  atomicStore32(va: number, v: number): void { this.mem.atomicStore32(va, v); }
  cmpxchg32(va: number, expected: number, replacement: number): number { return this.mem.cmpxchg32(va, expected, replacement); }
  atomicAdd32(va: number, delta: number): number { return this.mem.atomicAdd32(va, delta); }

  /** A load that reports SIGSEGV as undefined instead of killing the task (a signal handler's siglongjmp). */
  tryLoad8(va: number): number | undefined {
    try {
      return this.mem.load8(va);
    } catch (e) {
      if (e instanceof GuestSegfault) return undefined;
      throw e;
    }
  }

  /** A store that reports SIGSEGV as false. */
  tryStore8(va: number, v: number): boolean {
    try {
      this.mem.store8(va, v);
      return true;
    } catch (e) {
      if (e instanceof GuestSegfault) return false;
      throw e;
    }
  }

  // --- system calls ---
  mmap(addr: number, len: number, prot: number, flags: number, fd = -1, offset = 0): number {
    return this.syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
  }
  munmap(addr: number, len: number): number { return this.syscall(SYS_munmap, addr, len); }
  mprotect(addr: number, len: number, prot: number): number { return this.syscall(SYS_mprotect, addr, len, prot); }
  madvise(addr: number, len: number, advice: number): number { return this.syscall(SYS_madvise, addr, len, advice); }
  brk(addr: number): number { return this.syscall(SYS_brk, addr); }
  getpid(): number { return this.syscall(SYS_getpid); }
  gettid(): number { return this.syscall(SYS_gettid); }
  membarrier(cmd: number, flags = 0): number { return this.syscall(SYS_membarrier, cmd, flags); }
  futexWake(uaddr: number, count: number): number {
    return this.syscall(SYS_futex, uaddr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count);
  }
  *futexWait(uaddr: number, expected: number): GuestThread {
    return yield* this.blocking(SYS_futex, uaddr, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, 0);
  }
  /** sched_yield: the kernel marks us for rescheduling; the preemption point lets it switch. */
  *schedYield(): GuestThread {
    const r = this.syscall(SYS_sched_yield);
    yield PREEMPT;
    return r;
  }
  *nanosleep(ns: number): GuestThread {
    const ts = this.scratchPage();
    this.store32(ts, Math.floor(ns / 1e9));
    this.store32(ts + 4, 0);
    this.store32(ts + 8, ns % 1e9);
    this.store32(ts + 12, 0);
    return yield* this.blocking(SYS_nanosleep, ts, 0);
  }
  /** clock_gettime(clock, &ts) with a 64-bit timespec; returns ns, or -errno. */
  clockGettime(clock = CLOCK_MONOTONIC): number {
    const ts = this.scratchPage();
    const r = this.syscall(SYS_clock_gettime, clock, ts);
    if (r < 0) return r;
    return (this.load32(ts) >>> 0) * 1e9 + (this.load32(ts + 8) >>> 0);
  }
  write(fd: number, va: number, len: number): number { return this.syscall(SYS_write, fd, va, len); }
  /** write(1, text): copies the text into the scratch page first, as printf's buffer would hold it. */
  print(text: string): number {
    const buf = this.scratchPage() + 64;
    const bytes = Buffer.from(text, 'utf8').subarray(0, PAGE - 64);
    for (let i = 0; i < bytes.length; i++) this.store8(buf + i, bytes[i]!);
    return this.write(1, buf, bytes.length);
  }
  /**
   * Start a thread the libc way: a stack (`stackPage`, a page the caller owns and does not reuse
   * until the thread has exited, or a freshly mapped one), (entry, ctl, arg) left at its top for
   * the child's start-up code, then clone. Returns the child's tid or -errno.
   */
  clone(entry: number, ctl: number, arg: number, flags: number, parentTidAddr = 0, childTidAddr = 0, stackPage = 0): number {
    const sp = this.startStack(entry, ctl, arg, stackPage);
    if (sp < 0) return sp;
    return this.syscall(SYS_clone, flags, sp, parentTidAddr, 0, childTidAddr);
  }

  /**
   * fork, for a program that cannot continue in two places: the child process starts at
   * `entry` with (ctl, arg), on a stack page the parent filled before the copy. The parent's
   * copy of that page is unmapped again. Returns the child's pid or -errno.
   */
  fork(entry: number, ctl: number, arg: number): number {
    const sp = this.startStack(entry, ctl, arg);
    if (sp < 0) return sp;
    const pid = this.syscall(SYS_clone, SIGCHLD, sp, 0, 0, 0);
    this.munmap(sp - (PAGE - START_FRAME_BYTES), PAGE);
    return pid;
  }

  /** Status of the child the last wait4 reaped (exit code << 8). */
  lastWaitStatus = 0;

  /** wait4(pid, &status, 0): the pid of a reaped child (-1: any), or -errno; sleeps until one exits. */
  *wait4(pid = -1): GuestThread {
    const status = this.scratchPage() + 32;
    for (;;) {
      const r = this.syscall(SYS_wait4, pid, status, 0);
      if (r === SYSCALL_BLOCKED) {
        // Woken by a child's exit: ask again (the kernel reaps under its lock).
        yield BLOCK;
        continue;
      }
      if (r > 0) this.lastWaitStatus = this.load32(status);
      return r;
    }
  }

  /** A one-page stack (given or mapped) with the start frame (entry, ctl, arg) at its top. Returns sp or -errno. */
  private startStack(entry: number, ctl: number, arg: number, stackPage = 0): number {
    const stack = stackPage !== 0 ? stackPage : this.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (stack < 0) return stack;
    const sp = stack + PAGE - START_FRAME_BYTES;
    this.store32(sp, entry);
    this.store32(sp + 4, ctl);
    this.store32(sp + 8, arg);
    return sp;
  }

  /** exit_group: the kernel ends every thread of the process; this one never resumes. */
  *exitGroup(code: number): GuestThread {
    yield* this.blocking(SYS_exit_group, code);
    return code;
  }

  private scratchPage(): number {
    if (this.scratch === 0) {
      const p = this.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (p < 0) throw new GuestSegfault(0, 0);
      this.scratch = p;
    }
    return this.scratch;
  }
}
