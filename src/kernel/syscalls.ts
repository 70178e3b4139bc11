/**
 * System-call dispatch, by Linux RISC-V number with Linux semantics; anything else is -ENOSYS.
 * Runs on the vCPU worker of the calling task.
 */
import { CALL_FUNCTION_VECTOR } from '../hw/apic.js';
import { VcpuActivity } from '../hw/layout.js';
import { CpuMask } from '../pv/cpumask.js';
import type { FlushInfo, MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { EBADF, EINVAL, ENOENT, ENOSYS, ENOTTY, EPERM, ERESTARTNOHAND, ERESTARTSYS, ESRCH } from '../uapi/errno.js';
import { arg64, type FileSystem, type Rlimit64 } from './fs/index.js';
import type { Futexes } from './futex.js';
import type { SigInfo, Signals } from './signal.js';
import { SI_TKILL } from '../uapi/signal.js';
import type { Lkdtm } from './lkdtm.js';
import { CallFunc, MM, NR_OPEN, PERCPU, RLIM_NLIMITS, TASK } from './layout.js';
import type { AddressSpaces } from './mm.js';
import type { Scheduler, TaskRun } from './sched.js';
import type { SmpCalls } from './smp.js';
import * as nr from '../uapi/unistd.js';
import { FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP } from '../uapi/futex.js';
import { MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_QUERY, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED } from '../uapi/membarrier.js';
import { SYSCALL_BLOCKED } from '../uapi/program.js';
import { CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME_ID, TIMER_ABSTIME } from '../uapi/time.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI } from '../uapi/poll.js';
import { THREAD_PAGES, type Tasks } from './task.js';
import { copyFromUser, copyToUser, uaccess } from './uaccess.js';
import { realtimeNs } from './time.js';
import { MAP_ANONYMOUS } from '../uapi/mman.js';
import { PAGE_SIZE } from '../hw/paging.js';

/** Bytes of the saved-register frame at the top of a kernel stack (number and a0..a5, padded). */
export const PT_REGS_BYTES = 32;

/** RLIMIT_NOFILE (include/uapi/asm-generic/resource.h). */
const RLIMIT_NOFILE = 7;

/** Most vectors readv/writev take (UIO_MAXIOV). */
const UIO_MAXIOV = 1024;
/** Most descriptors one ppoll may watch (RLIMIT_NOFILE's role). */
const POLL_MAX_FDS = 256;

/** An iovec array as the kernel holds it after copying it in: bases and lengths. */
interface IoVectors {
  base: number[];
  len: number[];
  total: number;
}

/** One system call number's costs on one CPU, or summed (Syscalls.costs). */
export interface SyscallCost {
  calls: number;
  hypercalls: number;
  hypercallEntries: number;
  traps: number;
  modeledCycles: number;
}

export class Syscalls {
  private readonly mask = new CpuMask();
  private readonly barrierInfo: FlushInfo = { mm: 0 as MmRef, start: 0, end: 0, newTlbGen: 0, freedTables: false };
  /**
   * System calls answered -ENOSYS by number ("220"), and operations of known calls this kernel
   * lacks ("futex op 7"), with how often: the report lists them.
   */
  readonly unknown = new Map<string, number>();
  /**
   * What each system call number cost this CPU, summed over its calls (strace -c, in the
   * hypervisor's currency): calls, hypercalls, their entries, traps, modelled cycles. Whatever
   * the CPU did while in the call counts, interrupts it took meanwhile included.
   */
  readonly costs = new Map<number, SyscallCost>();
  /**
   * riscv_flush_icache for every hart (RvCore.flushIcacheAll over the RISC-V block), set by a
   * vCPU that runs riscv32 programs; null: the call is -ENOSYS.
   */
  flushIcache: (() => void) | null = null;
  /**
   * PVEMU_STRACE=1 in pvemu's environment: every system call and its result on the console
   * ("[tid 3] 98(0x1000a0, 0x80, 0, 0, 0, 0) = -11"), strace's view for finding what a guest
   * program lacks. Off by default: the console would grow with every call.
   */
  private readonly strace = process.env['PVEMU_STRACE'] === '1';
  /** One timer tick in ns (the kernel sets it from --hz): the CPU-time clocks' unit. */
  tickNs = 4_000_000;

  constructor(
    private readonly k: KernelContext,
    private readonly sched: Scheduler,
    private readonly mms: AddressSpaces,
    private readonly tasks: Tasks,
    private readonly futex: Futexes,
    private readonly smp: SmpCalls,
    private readonly lkdtm: Lkdtm,
    private readonly fs: FileSystem,
    private readonly signals: Signals,
  ) {}

  /** The ecall: run system call `n` for the current task. */
  dispatch(n: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): number {
    const { counters, activity, ops } = this.k;
    const run = this.sched.current;
    if (run === null) return -ENOSYS;
    counters.syscalls++;
    const hypercalls0 = counters.hypercalls;
    const entries0 = counters.hypercallEntries;
    const traps0 = counters.traps;
    const cycles0 = counters.modeledCycles;
    this.k.work('syscall');
    this.smp.runDeferredFlushes(); // the ackBeforeFlush fault's flushes (no-op without it)
    activity.syscall(n);
    activity.set(VcpuActivity.Kernel);
    this.saveRegs(run, n, a0, a1, a2, a3, a4, a5);
    run.restartable = false;
    run.interrupted = -ERESTARTSYS;
    run.onInterrupt = null;
    try {
      let r = this.call(run, n, a0, a1, a2, a3, a4, a5);
      // A TypeScript program's return to user mode: signal work (default actions) here; a
      // riscv32 task's happens after its registers hold the result (RvPrograms).
      if (run.userRegs === null && this.signals.exitToUser(run, null) === SYSCALL_BLOCKED) r = SYSCALL_BLOCKED;
      if (this.strace) {
        const args = [a0, a1, a2, a3, a4, a5].map((a) => `0x${(a >>> 0).toString(16)}`).join(', ');
        this.k.machine.console(`[tid ${run.tid}] ${n}(${args}) = ${r === SYSCALL_BLOCKED ? '(blocked)' : r}\n`);
      }
      // Back to user mode for good: whatever a restarted call carried over is done with.
      if (r !== SYSCALL_BLOCKED) {
        run.restartProgress = 0;
        run.restartDeadline = 0;
      }
      return r;
    } finally {
      let cost = this.costs.get(n);
      if (cost === undefined) this.costs.set(n, (cost = { calls: 0, hypercalls: 0, hypercallEntries: 0, traps: 0, modeledCycles: 0 }));
      cost.calls++;
      cost.hypercalls += counters.hypercalls - hypercalls0;
      cost.hypercallEntries += counters.hypercallEntries - entries0;
      cost.traps += counters.traps - traps0;
      cost.modeledCycles += counters.modeledCycles - cycles0;
      activity.set(VcpuActivity.User);
      // Returning to user mode is an interrupt window.
      if (ops.irq.saveFl() !== 0) this.k.ops.irq.irqEnable();
    }
  }

  /**
   * System-call entry saves the caller's registers at the top of the task's kernel stack
   * (pt_regs): supervisor stores through this CPU's TLB into vmalloc'd, globally mapped pages.
   */
  private saveRegs(run: TaskRun, n: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): void {
    const { i32, layout, user } = this.k;
    const stack = i32[layout.taskBase(run.slot) + TASK.kernelStack]! >>> 0;
    if (stack === 0) return;
    const regs = stack + THREAD_PAGES * 4096 - PT_REGS_BYTES;
    user.kernelStore32(regs, n);
    user.kernelStore32(regs + 4, a0);
    user.kernelStore32(regs + 8, a1);
    user.kernelStore32(regs + 12, a2);
    user.kernelStore32(regs + 16, a3);
    user.kernelStore32(regs + 20, a4);
    user.kernelStore32(regs + 24, a5);
  }

  private call(run: TaskRun, n: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): number {
    const mm = run.mm;
    switch (n) {
      // riscv32 programs call mmap2 (offset in pages); TypeScript programs pass bytes.
      case nr.SYS_mmap: return this.sysMmap(run, a0, a1, a2, a3, a4, run.copyThread !== null ? (a5 >>> 0) * PAGE_SIZE : a5);
      case nr.SYS_mremap: return this.mms.mremap(mm, a0, a1, a2, a3);
      case nr.SYS_munmap: return this.mms.munmap(mm, a0, a1);
      case nr.SYS_mprotect: return this.mms.mprotect(mm, a0, a1, a2);
      case nr.SYS_madvise: return this.mms.madvise(mm, a0, a1, a2);
      case nr.SYS_brk: return this.mms.brk(mm, a0);
      case nr.SYS_clone: return this.tasks.clone(run, a0, a1, a2, a3, a4);
      case nr.SYS_wait4: return this.tasks.wait4(run, a0, a1, a2);
      case nr.SYS_waitid: return this.sysWaitid(run, a0, a1, a2, a3, a4);
      case nr.SYS_exit: return this.tasks.exit(run, a0);
      case nr.SYS_exit_group: return this.tasks.exitGroup(run, a0);
      case nr.SYS_futex:
      case nr.SYS_futex_time64:
        return this.sysFutex(run, a0, a1, a2, a3, a4, a5);
      case nr.SYS_sched_yield: this.sched.needResched = true; return 0;
      case nr.SYS_nanosleep: return this.sysClockNanosleep(run, CLOCK_MONOTONIC, 0, a0, a1);
      case nr.SYS_clock_gettime:
      case nr.SYS_clock_gettime64:
        return this.sysClockGettime(run, a0, a1);
      case nr.SYS_getrusage: return this.sysGetrusage(run, a0, a1);
      case nr.SYS_clock_nanosleep_time64: return this.sysClockNanosleep(run, a0, a1, a2, a3);
      case nr.SYS_execve:
        // No program files to load: every path is missing, as for a name not in the namespace.
        this.countUnknown('execve');
        return -ENOENT;
      case nr.SYS_clock_getres_time64: return this.sysClockGetres(run, a0, a1);
      case nr.SYS_set_robust_list: return this.tasks.setRobustList(run, a0, a1);
      case nr.SYS_get_robust_list: return this.tasks.getRobustList(run, a0, a1, a2);
      case nr.SYS_rt_sigaction: return this.signals.sigaction(run, a0, a1, a2, a3);
      case nr.SYS_rt_sigprocmask: return this.signals.procmask(run, a0, a1, a2, a3);
      case nr.SYS_rt_sigpending: return this.signals.sigpending(run, a0, a1);
      case nr.SYS_rt_sigsuspend: return this.signals.sigsuspend(run, a0, a1);
      case nr.SYS_rt_sigreturn: return this.signals.sigreturn(run);
      case nr.SYS_sigaltstack: return this.signals.sigaltstack(run, a0, a1);
      case nr.SYS_kill: return this.signals.kill(run, a0, a1);
      case nr.SYS_tkill:
        if (a0 <= 0) return -EINVAL;
        return this.signals.send(run, { tid: a0 }, a1, this.tkillInfo(run));
      case nr.SYS_tgkill:
        if (a0 <= 0 || a1 <= 0) return -EINVAL;
        return this.signals.send(run, { tgid: a0, tid: a1 }, a2, this.tkillInfo(run));
      case nr.SYS_rt_sigqueueinfo: return this.signals.sigqueue(run, { tgid: a0 }, a1, a2);
      case nr.SYS_rt_tgsigqueueinfo:
        if (a0 <= 0 || a1 <= 0) return -EINVAL;
        return this.signals.sigqueue(run, { tgid: a0, tid: a1 }, a2, a3);
      case nr.SYS_getitimer: return this.signals.itimerCall(run, a0, 0, a1);
      case nr.SYS_setitimer: return this.signals.itimerCall(run, a0, a1, a2);
      case nr.SYS_sched_getaffinity: return this.sysSchedGetaffinity(run, a0, a1, a2);
      case nr.SYS_sched_setaffinity: return this.sysSchedSetaffinity(run, a0, a1, a2);
      case nr.SYS_times: return this.sysTimes(run, a0);
      case nr.SYS_getcpu: return this.sysGetcpu(a0, a1);
      case nr.SYS_getrandom: return this.sysGetrandom(a0, a1);
      case nr.SYS_uname: return this.sysUname(a0);
      case nr.SYS_prlimit64: return this.sysPrlimit64(run, a0, a1, a2, a3);
      case nr.SYS_ioctl: return -ENOTTY; // the console is not a terminal device here
      case nr.SYS_riscv_flush_icache:
        if (this.flushIcache === null) return -ENOSYS;
        this.flushIcache();
        return 0;
      case nr.SYS_getpid: return this.k.i32[this.k.layout.taskBase(run.slot) + TASK.tgid]!;
      case nr.SYS_getppid: return this.tasks.parentPid(run);
      // One user, root, as a program started by a root shell sees: every id 0.
      case nr.SYS_getuid:
      case nr.SYS_geteuid:
      case nr.SYS_getgid:
      case nr.SYS_getegid:
        return 0;
      case nr.SYS_gettid: return run.tid;
      case nr.SYS_set_tid_address:
        this.k.i32[this.k.layout.taskBase(run.slot) + TASK.clearChildTid] = a0;
        return run.tid;
      case nr.SYS_write: return this.fs.write(run, a0, a2 >>> 0, (len) => copyFromUser(this.k.user, a1, len));
      case nr.SYS_read: return this.fs.read(run, a0, a2 >>> 0, (data) => copyToUser(this.k.user, a1, data));
      case nr.SYS_writev: return this.sysWritev(run, a0, a1, a2);
      case nr.SYS_readv: return this.sysReadv(run, a0, a1, a2);
      case nr.SYS_openat: return this.fs.openat(run, a0, a1, a2, a3);
      case nr.SYS_close: return this.fs.close(run, a0);
      case nr.SYS_dup3: return this.fs.dup3(run, a0, a1, a2);
      case nr.SYS_fcntl64: {
        const r = this.fs.fcntl(run, a0, a1, a2);
        if (r !== undefined) return r;
        this.countUnknown(`fcntl cmd ${a1}`);
        return -EINVAL;
      }
      case nr.SYS_dup: return this.fs.dup(run, a0);
      case nr.SYS_pipe2: return this.fs.pipe2(run, a0, a1);
      // 64-bit arguments arrive as (low, high) register pairs, unpadded on riscv32 (musl's
      // __SYSCALL_LL_E and __SYSCALL_LL_O; llseek alone takes the high word first).
      case nr.SYS_llseek: return this.fs.llseek(run, a0, a1, a2, a3, a4);
      case nr.SYS_pread64: return this.fs.pread(run, a0, a2 >>> 0, arg64(a3, a4), (data) => copyToUser(this.k.user, a1, data));
      case nr.SYS_pwrite64: return this.fs.pwrite(run, a0, a2 >>> 0, arg64(a3, a4), (len) => copyFromUser(this.k.user, a1, len));
      case nr.SYS_ftruncate: return this.fs.ftruncate(run, a0, a1, a2);
      case nr.SYS_truncate: return this.fs.truncate(run, a0, arg64(a1, a2));
      case nr.SYS_fallocate: return this.fs.fallocate(run, a0, a1, arg64(a2, a3), arg64(a4, a5));
      case nr.SYS_fadvise64_64: return this.fs.fadvise(run, a0, arg64(a3, a4), a5);
      case nr.SYS_sync_file_range: return this.fs.syncFileRange(run, a0, arg64(a1, a2), arg64(a3, a4), a5);
      case nr.SYS_fstat: return this.fs.fstat(run, a0, a1);
      case nr.SYS_statx: return this.fs.statx(run, a0, a1, a2, a3, a4);
      case nr.SYS_unlinkat: return this.fs.unlinkat(run, a0, a1, a2);
      case nr.SYS_mkdirat: return this.fs.mkdirat(run, a0, a1, a2);
      case nr.SYS_renameat2: return this.fs.renameat2(run, a0, a1, a2, a3, a4);
      case nr.SYS_symlinkat: return this.fs.symlinkat(run, a0, a1, a2);
      case nr.SYS_readlinkat: return this.fs.readlinkat(run, a0, a1, a2, a3);
      case nr.SYS_getdents64: return this.fs.getdents64(run, a0, a1, a2);
      case nr.SYS_faccessat: return this.fs.faccessat(run, a0, a1, a2, 0);
      case nr.SYS_faccessat2: return this.fs.faccessat(run, a0, a1, a2, a3);
      case nr.SYS_chdir: return this.fs.chdir(run, a0);
      case nr.SYS_fchdir: return this.fs.fchdir(run, a0);
      case nr.SYS_getcwd: return this.fs.getcwd(run, a0, a1);
      case nr.SYS_umask: return this.fs.umask(run, a0);
      case nr.SYS_ppoll_time64: {
        const r = a3 !== 0 ? this.signals.setTemporaryMask(run, a3, a4) : 0;
        return r < 0 ? r : this.sysPpoll(run, a0, a1, a2);
      }
      case nr.SYS_pselect6_time64: {
        const r = this.pselectSigmask(run, a5);
        return r < 0 ? r : this.sysPselect6(run, a0, a1, a2, a3, a4);
      }
      case nr.SYS_membarrier: return this.sysMembarrier(mm, a0, a1);
      case nr.SYS_lkdtm: return this.lkdtm.run(mm, a0, a1);
      default:
        this.countUnknown(`${n}`);
        return -ENOSYS;
    }
  }

  /** The siginfo tkill and tgkill send: SI_TKILL from the caller's process. */
  private tkillInfo(run: TaskRun): SigInfo {
    return { code: SI_TKILL, a: this.k.i32[this.k.layout.taskBase(run.slot) + TASK.tgid]!, b: 0 };
  }

  countUnknown(what: string): void {
    this.unknown.set(what, (this.unknown.get(what) ?? 0) + 1);
  }

  /**
   * futex(uaddr, op, val, timeout or val2, uaddr2, val3). WAIT's timeout is relative; WAIT_BITSET's
   * absolute, on CLOCK_MONOTONIC or with FUTEX_CLOCK_REALTIME on CLOCK_REALTIME. Bitsets are
   * accepted and every waiter matches (no caller here waits on part of a word); 0 is -EINVAL.
   */
  private sysFutex(run: TaskRun, uaddr: number, op: number, val: number, timeoutPtr: number, uaddr2: number, val3: number): number {
    const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    switch (cmd) {
      case FUTEX_WAIT:
      case FUTEX_WAIT_BITSET: {
        if (cmd === FUTEX_WAIT_BITSET && val3 === 0) return -EINVAL;
        let timeout = -1;
        if (timeoutPtr !== 0) {
          timeout = this.readTimespec(timeoutPtr);
          if (timeout < 0) return timeout;
          if (cmd === FUTEX_WAIT_BITSET) {
            const now = this.clockNow((op & FUTEX_CLOCK_REALTIME) !== 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC);
            timeout = Math.max(0, timeout - now);
          }
          // A timed wait is not restarted after a handler (Linux's restart_block): -EINTR.
          run.interrupted = -ERESTARTNOHAND;
        }
        return this.futex.wait(run, run.mm, uaddr >>> 0, val, timeout);
      }
      case FUTEX_WAKE:
      case FUTEX_WAKE_BITSET:
        if (cmd === FUTEX_WAKE_BITSET && val3 === 0) return -EINVAL;
        return this.futex.wake(run.mm, uaddr >>> 0, val <= 0 ? 0 : val);
      case FUTEX_REQUEUE:
      case FUTEX_CMP_REQUEUE:
        // val2 (how many to move) travels in the timeout argument's register.
        return this.futex.requeue(run.mm, uaddr >>> 0, uaddr2 >>> 0, val, timeoutPtr, cmd === FUTEX_CMP_REQUEUE ? val3 : undefined);
      case FUTEX_WAKE_OP:
        return this.futex.wakeOp(run.mm, uaddr >>> 0, uaddr2 >>> 0, val, timeoutPtr, val3);
      default:
        this.countUnknown(`futex op ${cmd}`);
        return -ENOSYS;
    }
  }

  /** A struct timespec64 (s64 tv_sec, long tv_nsec as 64 bits) in ns, or -errno. */
  private readTimespec(va: number): number {
    const { user } = this.k;
    return uaccess(() => {
      const sec = (user.load32(va) >>> 0) + user.load32(va + 4) * 4294967296;
      const nsec = user.load32(va + 8) >>> 0;
      if (sec < 0 || nsec >= 1e9) return -EINVAL;
      return sec * 1e9 + nsec;
    });
  }

  /**
   * The clock's time in ns, or -1 for a clock this kernel does not have. The CPU-time clocks
   * (of `run`'s process or thread) count timer ticks, so they move in steps of one tick.
   */
  private clockNow(clock: number, run: TaskRun | null = null): number {
    const { ops } = this.k;
    if (clock === CLOCK_MONOTONIC) return ops.time.schedClock();
    if (clock === CLOCK_REALTIME) return realtimeNs(ops);
    if (run !== null && clock === CLOCK_PROCESS_CPUTIME_ID) return this.tasks.cpuTicks(run, 'process') * this.tickNs;
    if (run !== null && clock === CLOCK_THREAD_CPUTIME_ID) return this.tasks.cpuTicks(run, 'thread') * this.tickNs;
    return -1;
  }

  /**
   * getrusage(who, usage): RUSAGE_SELF (the process), RUSAGE_THREAD, or RUSAGE_CHILDREN (reaped
   * ones) into riscv32 Linux's struct rusage (two 32-bit timevals, then 14 longs). CPU time is
   * tick-based and all of it counts as user time; ru_maxrss is the address space's resident
   * set now, in KiB, not its peak; the other fields are 0.
   */
  private sysGetrusage(run: TaskRun, who: number, usage: number): number {
    const which = who === RUSAGE_SELF ? 'process' : who === RUSAGE_THREAD ? 'thread' : who === RUSAGE_CHILDREN ? 'children' : undefined;
    if (which === undefined) return -EINVAL;
    const ns = this.tasks.cpuTicks(run, which) * this.tickNs;
    const rssKib = which === 'children' ? 0 : (this.k.i32[(run.mm >>> 2) + MM.rss]! * PAGE_SIZE) / 1024;
    const { user } = this.k;
    return uaccess(() => {
      for (let i = 0; i < RUSAGE_BYTES; i += 4) user.store32(usage + i, 0);
      user.store32(usage, Math.floor(ns / 1e9));
      user.store32(usage + 4, Math.floor((ns % 1e9) / 1000));
      user.store32(usage + RU_MAXRSS, rssKib);
      return 0;
    });
  }

  /**
   * waitid(idtype, id, infop, options, rusage) — Tasks.waitid — with the reaped child's CPU
   * time in `rusage` as wait_task_zombie reports it (the child's own and its reaped
   * children's, all user time, tick-based): what reaping it added to the caller's
   * RUSAGE_CHILDREN total. Two threads of one process reaping at the same moment could each
   * count the other's child too; ru_maxrss and the other fields stay 0 (the child's memory is
   * gone by then).
   */
  private sysWaitid(run: TaskRun, idtype: number, id: number, infop: number, options: number, rusage: number): number {
    const before = this.tasks.cpuTicks(run, 'children');
    const r = this.tasks.waitid(run, idtype, id, infop, options, rusage);
    if (r !== 0 || rusage === 0) return r;
    const ns = (this.tasks.cpuTicks(run, 'children') - before) * this.tickNs;
    if (ns <= 0) return r;
    const { user } = this.k;
    return uaccess(() => {
      user.store32(rusage, Math.floor(ns / 1e9));
      user.store32(rusage + 4, Math.floor((ns % 1e9) / 1000));
      return 0;
    });
  }

  /**
   * clock_nanosleep(clock, flags, request, remain): a relative sleep, or with TIMER_ABSTIME
   * until the clock reads `request` (at once if it already passed). Timed sleepers wake at the
   * timer tick after their deadline, as on a tickful kernel without hrtimers. A signal
   * handler interrupts the sleep with -EINTR and, for a relative sleep, the time left in
   * `remain` (nanosleep is this on CLOCK_MONOTONIC).
   */
  private sysClockNanosleep(run: TaskRun, clock: number, flags: number, req: number, remain: number): number {
    const now = this.clockNow(clock);
    if (now < 0) return -EINVAL;
    if ((flags & ~TIMER_ABSTIME) !== 0) return -EINVAL;
    const ns = this.readTimespec(req);
    if (ns < 0) return ns;
    const delta = (flags & TIMER_ABSTIME) !== 0 ? ns - now : ns;
    if (delta <= 0) return 0;
    const deadline = this.k.ops.time.schedClock() + delta;
    run.interrupted = -ERESTARTNOHAND;
    if ((flags & TIMER_ABSTIME) === 0 && remain !== 0) {
      run.onInterrupt = () => {
        const left = Math.max(0, deadline - this.k.ops.time.schedClock());
        this.writeTimespec(remain, left);
      };
    }
    this.sched.prepareToSleep(run);
    this.sched.armTimer(run, deadline);
    return SYSCALL_BLOCKED;
  }

  /** The online CPUs as a 64-bit mask [lo, hi]. */
  private onlineMask(): [number, number] {
    const { cpus } = this.k;
    return [cpus >= 32 ? -1 : (1 << cpus) - 1, cpus > 32 ? (cpus >= 64 ? -1 : (1 << (cpus - 32)) - 1) : 0];
  }

  /**
   * sched_getaffinity(pid, len, mask): the thread's affinity mask, every online vCPU unless
   * sched_setaffinity narrowed it. Returns the mask's size in bytes, as the raw call does.
   */
  private sysSchedGetaffinity(run: TaskRun, pid: number, len: number, maskPtr: number): number {
    const { i32, layout, user } = this.k;
    const slot = this.tasks.slotOf(run, pid);
    if (slot < 0) return -ESRCH;
    // The kernel's cpumask is 64 bits (MAX_CPUS); like Linux it needs room for all of it.
    const bytes = 8;
    if ((len >>> 0) < bytes || (len & 3) !== 0) return -EINVAL;
    const tb = layout.taskBase(slot);
    const set = i32[tb + TASK.affinity]! !== 0 || i32[tb + TASK.affinity + 1]! !== 0;
    const mask = set ? [i32[tb + TASK.affinity]!, i32[tb + TASK.affinity + 1]!] : this.onlineMask();
    return uaccess(() => {
      user.store32(maskPtr, mask[0]!);
      user.store32(maskPtr + 4, mask[1]!);
      return bytes;
    });
  }

  /**
   * sched_setaffinity(pid, len, mask): the thread's allowed CPUs, the online ones of `mask`
   * (none: -EINVAL), inherited by its clones and reported by sched_getaffinity. Tasks never
   * migrate here (each lives in its vCPU's worker), so a mask without the CPU the thread runs
   * on is recorded but cannot move it: that is counted as an unknown operation.
   */
  private sysSchedSetaffinity(run: TaskRun, pid: number, len: number, maskPtr: number): number {
    const { i32, layout, user } = this.k;
    const slot = this.tasks.slotOf(run, pid);
    if (slot < 0) return -ESRCH;
    const n = Math.min(len >>> 0, 8);
    const mask = [0, 0];
    const r = uaccess(() => {
      for (let i = 0; i < n; i++) mask[i >>> 2] = mask[i >>> 2]! | (user.load8(maskPtr + i) << ((i & 3) * 8));
      return 0;
    });
    if (r < 0) return r;
    const online = this.onlineMask();
    const lo = mask[0]! & online[0];
    const hi = mask[1]! & online[1];
    if (lo === 0 && hi === 0) return -EINVAL;
    const tb = layout.taskBase(slot);
    i32[tb + TASK.affinity] = lo;
    i32[tb + TASK.affinity + 1] = hi;
    const cpu = i32[tb + TASK.cpu]!;
    if (((cpu < 32 ? lo : hi) & (1 << (cpu & 31))) === 0) this.countUnknown('sched_setaffinity away from the thread\'s CPU (tasks do not migrate)');
    return 0;
  }

  /** getcpu(cpu, node, cache): the CPU the caller runs on, NUMA node 0. */
  private sysGetcpu(cpuPtr: number, nodePtr: number): number {
    return uaccess(() => {
      if (cpuPtr !== 0) this.k.user.store32(cpuPtr, this.k.cpu);
      if (nodePtr !== 0) this.k.user.store32(nodePtr, 0);
      return 0;
    });
  }

  /**
   * times(buf): struct tms (four 32-bit clock_t: user, system, children's user and system) in
   * USER_HZ ticks, with all CPU time counted as user time (tick-based, as getrusage); returns
   * the ticks since boot.
   */
  private sysTimes(run: TaskRun, buf: number): number {
    const toClock = (ns: number): number => Math.floor(ns / (1e9 / USER_HZ)) | 0;
    if (buf !== 0) {
      const self = this.tasks.cpuTicks(run, 'process') * this.tickNs;
      const children = this.tasks.cpuTicks(run, 'children') * this.tickNs;
      const r = uaccess(() => {
        this.k.user.store32(buf, toClock(self));
        this.k.user.store32(buf + 4, 0);
        this.k.user.store32(buf + 8, toClock(children));
        this.k.user.store32(buf + 12, 0);
        return 0;
      });
      if (r < 0) return r;
    }
    return toClock(this.k.ops.time.schedClock());
  }

  /**
   * getrandom(buf, len, flags): the CPU's entropy (the run's seed, or the host's CSPRNG), at most
   * 256 bytes a call like urandom reads.
   */
  private sysGetrandom(buf: number, len: number): number {
    const n = Math.min(len >>> 0, 256);
    const bytes = new Uint8Array(n);
    this.k.entropy.fill(bytes);
    return uaccess(() => {
      for (let i = 0; i < n; i++) this.k.user.store8(buf + i, bytes[i]!);
      return n;
    });
  }

  /** uname(buf): struct new_utsname, six 65-byte fields. */
  private sysUname(buf: number): number {
    const fields = ['Linux', 'pvemu', '6.1.0-pvemu', '#1 SMP', 'riscv32', '(none)'];
    const encoder = new TextEncoder();
    return uaccess(() => {
      fields.forEach((f, i) => {
        const bytes = encoder.encode(f);
        for (let j = 0; j < 65; j++) this.k.user.store8(buf + i * 65 + j, j < bytes.length ? bytes[j]! : 0);
      });
      return 0;
    });
  }

  /**
   * prlimit64(pid, resource, new, old) (kernel/sys.c): read and/or replace one of the calling
   * process's limits. Values pass through the 32-bit kernel's rlim_t as on riscv32 Linux:
   * anything from 2^32 - 1 up reads back as RLIM64_INFINITY. cur above max is -EINVAL, a
   * NOFILE max above nr_open (NR_OPEN) -EPERM; every process is root, so raising a hard limit
   * is allowed. Only RLIMIT_NOFILE is enforced (descriptor allocation). Another process's
   * limits are out of reach here: any pid but the caller's own is -ESRCH, counted.
   */
  private sysPrlimit64(run: TaskRun, pid: number, resource: number, newVa: number, oldVa: number): number {
    const { user } = this.k;
    let next: Rlimit64 | undefined;
    if (newVa !== 0) {
      const words: number[] = [];
      const r = uaccess(() => {
        for (let i = 0; i < 4; i++) words.push(user.load32(newVa + i * 4));
        return 0;
      });
      if (r < 0) return r;
      const clamp = (lo: number, hi: number): [number, number] => (hi !== 0 || lo === -1 ? [-1, -1] : [lo, 0]);
      const [curLo, curHi] = clamp(words[0]!, words[1]!);
      const [maxLo, maxHi] = clamp(words[2]!, words[3]!);
      next = { curLo, curHi, maxLo, maxHi };
    }
    const tgid = this.k.i32[this.k.layout.taskBase(run.slot) + TASK.tgid]!;
    if (pid !== 0 && pid !== tgid && pid !== run.tid) {
      this.countUnknown('prlimit64 of another process');
      return -ESRCH;
    }
    if ((resource >>> 0) >= RLIM_NLIMITS) return -EINVAL;
    if (next !== undefined) {
      const infinite = (hi: number): boolean => hi !== 0;
      const cur = infinite(next.curHi) ? Infinity : next.curLo >>> 0;
      const max = infinite(next.maxHi) ? Infinity : next.maxLo >>> 0;
      if (cur > max) return -EINVAL;
      if (resource === RLIMIT_NOFILE && max > NR_OPEN) return -EPERM;
    }
    const old = next !== undefined ? this.fs.setRlimit(run, resource, next) : this.fs.rlimit(run, resource);
    if (oldVa === 0) return 0;
    return uaccess(() => {
      user.store32(oldVa, old.curLo);
      user.store32(oldVa + 4, old.curHi);
      user.store32(oldVa + 8, old.maxLo);
      user.store32(oldVa + 12, old.maxHi);
      return 0;
    });
  }

  private sysClockGettime(run: TaskRun, clock: number, tsp: number): number {
    const ns = this.clockNow(clock, run);
    if (ns < 0) return -EINVAL;
    return this.writeTimespec(tsp, ns);
  }

  /** Store `ns` as a struct timespec64 at `tsp`: 0 or -EFAULT. */
  private writeTimespec(tsp: number, ns: number): number {
    const { user } = this.k;
    const sec = Math.floor(ns / 1e9);
    return uaccess(() => {
      user.store32(tsp, sec % 4294967296);
      user.store32(tsp + 4, Math.floor(sec / 4294967296));
      user.store32(tsp + 8, ns % 1e9);
      user.store32(tsp + 12, 0);
      return 0;
    });
  }

  /**
   * clock_getres(clock, res): 1 ns for the clocks clock_gettime reads (pvclock counts in ns,
   * as hrtimers do); -EINVAL for the others. A null `res` only checks the clock.
   */
  private sysClockGetres(run: TaskRun, clock: number, resp: number): number {
    if (this.clockNow(clock, run) < 0) return -EINVAL;
    if (resp === 0) return 0;
    const { user } = this.k;
    return uaccess(() => {
      user.store32(resp, 0);
      user.store32(resp + 4, 0);
      user.store32(resp + 8, 1);
      user.store32(resp + 12, 0);
      return 0;
    });
  }

  /** mmap: a file mapping resolves its descriptor to the file's pages first. */
  private sysMmap(run: TaskRun, addr: number, len: number, prot: number, flags: number, fd: number, offset: number): number {
    let file = 0;
    if ((flags & MAP_ANONYMOUS) === 0) {
      file = this.fs.mapFile(run, fd, prot, flags, offset, len);
      if (file < 0) return file;
    }
    return this.mms.mmap(run.mm, addr, len, prot, flags, fd, offset, file);
  }

  /** Copy in an iovec array (struct iovec: base, len), or -errno. */
  private readIovecs(iovVa: number, count: number): IoVectors | number {
    if (count < 0 || count > UIO_MAXIOV) return -EINVAL;
    const v: IoVectors = { base: [], len: [], total: 0 };
    const r = uaccess(() => {
      for (let i = 0; i < count; i++) {
        v.base.push(this.k.user.load32(iovVa + i * 8) >>> 0);
        const len = this.k.user.load32(iovVa + i * 8 + 4);
        // ssize_t lengths: a negative one (or a sum past it) is invalid.
        if (len < 0) return -EINVAL;
        v.len.push(len);
        v.total += len;
      }
      return v.total > 0x7fffffff ? -EINVAL : 0;
    });
    return r < 0 ? r : v;
  }

  /** writev: the vectors gathered into one write, so a pipe sees them as one (atomic up to PIPE_BUF). */
  private sysWritev(run: TaskRun, fd: number, iovVa: number, count: number): number {
    const v = this.readIovecs(iovVa, count);
    if (typeof v === 'number') return v;
    return this.fs.write(run, fd, v.total, (n) => {
      const out = new Uint8Array(n);
      let at = 0;
      for (let i = 0; i < v.base.length && at < n; i++) {
        const part = copyFromUser(this.k.user, v.base[i]!, Math.min(v.len[i]!, n - at));
        if (typeof part === 'number') return part;
        out.set(part, at);
        at += part.length;
      }
      return out;
    });
  }

  /** readv: one read of the vectors' total length, scattered over them. */
  private sysReadv(run: TaskRun, fd: number, iovVa: number, count: number): number {
    const v = this.readIovecs(iovVa, count);
    if (typeof v === 'number') return v;
    return this.fs.read(run, fd, v.total, (data) => {
      let at = 0;
      for (let i = 0; i < v.base.length && at < data.length; i++) {
        const part = data.subarray(at, at + v.len[i]!);
        const r = copyToUser(this.k.user, v.base[i]!, part);
        if (r < 0) return r;
        at += part.length;
      }
      return 0;
    });
  }

  /**
   * ppoll_time64(fds, nfds, timeout, sigmask, sigsetsize): which descriptors are ready, sleeping
   * until one is or the timeout passes (NULL: no timeout). Sleepers wait on the pipe-change
   * counter and look again when woken (the call restarts, keeping its deadline). A signal mask
   * is the caller's blocked mask while it waits.
   */
  private sysPpoll(run: TaskRun, fdsVa: number, nfds: number, tmoVa: number): number {
    const { user } = this.k;
    if (nfds < 0 || nfds > POLL_MAX_FDS) return -EINVAL;
    const fds: number[] = [];
    const events: number[] = [];
    const r = uaccess(() => {
      for (let i = 0; i < nfds; i++) {
        fds.push(user.load32(fdsVa + i * 8));
        events.push(user.load32(fdsVa + i * 8 + 4) & 0xffff);
      }
      return 0;
    });
    if (r < 0) return r;
    return this.pollWait(run, fds, events, tmoVa, (revents) => {
      const ready = revents.filter((x) => x !== 0).length;
      return uaccess(() => {
        for (let i = 0; i < nfds; i++) {
          // revents is the upper half of the pollfd's second word (short events, short revents).
          user.store32(fdsVa + i * 8 + 4, (events[i]! & 0xffff) | (revents[i]! << 16));
        }
        return ready;
      });
    }, (revents) => revents.some((x) => x !== 0));
  }

  /**
   * pselect6_time64(nfds, readfds, writefds, exceptfds, timeout, sigmask): select over poll's
   * readiness, as fs/select.c does: readable on POLLIN, POLLHUP or POLLERR, writable on POLLOUT
   * or POLLERR, exceptional on POLLPRI (which no file here raises). The sets are rewritten to
   * the ready descriptors and their count returned; a descriptor not open is -EBADF. The
   * timeout is not updated.
   */
  private sysPselect6(run: TaskRun, nfds: number, readVa: number, writeVa: number, exceptVa: number, tmoVa: number): number {
    const { user } = this.k;
    if (nfds < 0 || nfds > FD_SETSIZE) return -EINVAL;
    const words = Math.ceil(nfds / 32);
    const sets = [readVa, writeVa, exceptVa].map(() => new Uint32Array(words));
    const r = uaccess(() => {
      [readVa, writeVa, exceptVa].forEach((va, k) => {
        if (va !== 0) for (let w = 0; w < words; w++) sets[k]![w] = user.load32(va + w * 4) >>> 0;
      });
      return 0;
    });
    if (r < 0) return r;
    const has = (k: number, fd: number): boolean => (sets[k]![fd >>> 5]! & (1 << (fd & 31))) !== 0;
    const fds: number[] = [];
    const events: number[] = [];
    for (let fd = 0; fd < nfds; fd++) {
      const ev = (has(0, fd) ? POLLIN : 0) | (has(1, fd) ? POLLOUT : 0) | (has(2, fd) ? POLLPRI : 0);
      if (ev !== 0) {
        fds.push(fd);
        events.push(ev);
      }
    }
    /** The three result sets for `revents`, and how many bits they hold. */
    const results = (revents: readonly number[]): { out: Uint32Array[]; count: number } => {
      const out = [0, 1, 2].map(() => new Uint32Array(words));
      let count = 0;
      fds.forEach((fd, i) => {
        const rv = revents[i]!;
        const bit = 1 << (fd & 31);
        if (has(0, fd) && (rv & (POLLIN | POLLHUP | POLLERR)) !== 0) { out[0]![fd >>> 5]! |= bit; count++; }
        if (has(1, fd) && (rv & (POLLOUT | POLLERR)) !== 0) { out[1]![fd >>> 5]! |= bit; count++; }
        if (has(2, fd) && (rv & POLLPRI) !== 0) { out[2]![fd >>> 5]! |= bit; count++; }
      });
      return { out, count };
    };
    return this.pollWait(run, fds, events, tmoVa, (revents) => {
      if (revents.some((x) => (x & POLLNVAL) !== 0)) return -EBADF;
      const { out, count } = results(revents);
      return uaccess(() => {
        [readVa, writeVa, exceptVa].forEach((va, k) => {
          if (va !== 0) for (let w = 0; w < words; w++) user.store32(va + w * 4, out[k]![w]!);
        });
        return count;
      });
    }, (revents) => revents.some((x) => (x & POLLNVAL) !== 0) || results(revents).count > 0);
  }

  /**
   * pselect6's sixth argument: a pointer to { const sigset_t *ss; size_t ss_len } (or NULL);
   * a mask there is the caller's blocked mask while it waits.
   */
  private pselectSigmask(run: TaskRun, va: number): number {
    if (va === 0) return 0;
    const words = [0, 0];
    const r = uaccess(() => {
      words[0] = this.k.user.load32(va);
      words[1] = this.k.user.load32(va + 4);
      return 0;
    });
    if (r < 0) return r;
    return words[0] !== 0 ? this.signals.setTemporaryMask(run, words[0]!, words[1]!) : 0;
  }

  /**
   * The wait poll and select share: look at `fds` for `events` until `ready` says so or the
   * timeout (a timespec64 at `tmoVa`, none when 0) passes, sleeping on the file system's poll
   * sequence between looks (a restarted call keeps its deadline); then `finish` with the
   * revents of every descriptor.
   */
  private pollWait(
    run: TaskRun, fds: readonly number[], events: readonly number[], tmoVa: number,
    finish: (revents: number[]) => number, ready: (revents: number[]) => boolean,
  ): number {
    const { ops, i32 } = this.k;
    // Interrupted by a handler, poll and select return -EINTR whatever SA_RESTART says.
    run.interrupted = -ERESTARTNOHAND;
    let deadline = run.restartDeadline;
    if (deadline === 0 && tmoVa !== 0) {
      const ns = this.readTimespec(tmoVa);
      if (ns < 0) return ns;
      deadline = ops.time.schedClock() + ns;
    }
    const revents = new Array<number>(fds.length).fill(0);
    for (;;) {
      const seen = Atomics.load(i32, this.fs.pollSeqWord);
      for (let i = 0; i < fds.length; i++) revents[i] = fds[i]! < 0 ? 0 : this.fs.pollRevents(run, fds[i]!, events[i]!);
      const now = ops.time.schedClock();
      if (ready(revents) || (tmoVa !== 0 && now >= deadline)) return finish(revents);
      const wait = this.futex.waitKernel(run, this.fs.pollSeqWord, seen, tmoVa !== 0 ? deadline - now : -1);
      if (wait === SYSCALL_BLOCKED) {
        if (tmoVa !== 0) run.restartDeadline = deadline;
        return wait;
      }
    }
  }

  /**
   * membarrier: PRIVATE_EXPEDITED runs a barrier on every other CPU currently running this
   * process (an IPI each), the way Linux's membarrier_private_expedited does.
   */
  private sysMembarrier(mm: MmRef, cmd: number, flags: number): number {
    if (flags !== 0) return -EINVAL;
    switch (cmd) {
      case MEMBARRIER_CMD_QUERY:
        return MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
      case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
        return 0;
      case MEMBARRIER_CMD_PRIVATE_EXPEDITED: {
        const { i32, layout, cpu } = this.k;
        const mb = mm >>> 2;
        const m = this.mask.assign(Atomics.load(i32, mb + MM.cpumask), Atomics.load(i32, mb + MM.cpumask + 1));
        m.clear(cpu);
        // CPUs that hold the mm only lazily are not running the process: no barrier needed.
        for (let c = m.next(0); c >= 0; c = m.next(c + 1)) {
          if (Atomics.load(i32, layout.percpuBase(c) + PERCPU.isLazy) !== 0) m.clear(c);
        }
        if (!m.isEmpty()) {
          this.barrierInfo.mm = mm;
          this.smp.callMany(m, CallFunc.Membarrier, this.barrierInfo, CALL_FUNCTION_VECTOR);
        }
        return 0;
      }
      default:
        return -EINVAL;
    }
  }
}


/** The unit of times(2): USER_HZ, 100 on every Linux architecture. */
const USER_HZ = 100;
/** getrusage's who. */
const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const RUSAGE_THREAD = 1;
/** riscv32 Linux's struct rusage: two 32-bit timevals and 14 longs; ru_maxrss is the first long. */
const RUSAGE_BYTES = 72;
const RU_MAXRSS = 16;
/** select's fd_set: FD_SETSIZE descriptors. */
const FD_SETSIZE = 1024;
