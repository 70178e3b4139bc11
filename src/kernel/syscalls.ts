/**
 * System-call dispatch, by Linux RISC-V number with Linux semantics; anything else is -ENOSYS.
 * Runs on the vCPU worker of the calling task.
 */
import { GuestSegfault } from '../errors.js';
import { CALL_FUNCTION_VECTOR } from '../hw/apic.js';
import { VcpuActivity } from '../hw/layout.js';
import { CpuMask } from '../pv/cpumask.js';
import type { FlushInfo, MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { EBADF, EFAULT, EINVAL, ENOSYS } from './errno.js';
import type { Futexes } from './futex.js';
import type { Lkdtm } from './lkdtm.js';
import { CallFunc, MM, PERCPU, TASK } from './layout.js';
import type { AddressSpaces } from './mm.js';
import type { Scheduler, TaskRun } from './sched.js';
import type { SmpCalls } from './smp.js';
import * as nr from './syscall-numbers.js';
import { THREAD_PAGES, type Tasks } from './task.js';

/** Bytes of the saved-register frame at the top of a kernel stack (number and a0..a5, padded). */
const PT_REGS_BYTES = 32;

/** Longest write(2) accepted in one call, like a pipe buffer. */
const MAX_WRITE = 65536;

export class Syscalls {
  private readonly mask = new CpuMask();
  private readonly barrierInfo: FlushInfo = { mm: 0 as MmRef, start: 0, end: 0, newTlbGen: 0, freedTables: false };
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly k: KernelContext,
    private readonly sched: Scheduler,
    private readonly mms: AddressSpaces,
    private readonly tasks: Tasks,
    private readonly futex: Futexes,
    private readonly smp: SmpCalls,
    private readonly lkdtm: Lkdtm,
  ) {}

  /** The ecall: run system call `n` for the current task. */
  dispatch(n: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number): number {
    const { counters, activity, ops } = this.k;
    const run = this.sched.current;
    if (run === null) return -ENOSYS;
    counters.syscalls++;
    activity.syscall(n);
    activity.set(VcpuActivity.Kernel);
    this.saveRegs(run, n, a0, a1, a2, a3, a4, a5);
    try {
      return this.call(run, n, a0, a1, a2, a3, a4, a5);
    } finally {
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
      case nr.SYS_mmap: return this.mms.mmap(mm, a0, a1, a2, a3, a4, a5);
      case nr.SYS_munmap: return this.mms.munmap(mm, a0, a1);
      case nr.SYS_mprotect: return this.mms.mprotect(mm, a0, a1, a2);
      case nr.SYS_madvise: return this.mms.madvise(mm, a0, a1, a2);
      case nr.SYS_brk: return this.mms.brk(mm, a0);
      case nr.SYS_clone: return this.tasks.clone(run, a0, a1, a2, a4);
      case nr.SYS_wait4: return this.tasks.wait4(run, a0, a1, a2);
      case nr.SYS_exit: return this.tasks.exit(run, a0);
      case nr.SYS_exit_group: return this.tasks.exitGroup(run, a0);
      case nr.SYS_futex: return this.sysFutex(run, a0, a1, a2, a3);
      case nr.SYS_sched_yield: this.sched.needResched = true; return 0;
      case nr.SYS_nanosleep: return this.sysNanosleep(run, a0);
      case nr.SYS_clock_gettime: return this.sysClockGettime(a0, a1);
      case nr.SYS_getpid: return this.k.i32[this.k.layout.taskBase(run.slot) + TASK.tgid]!;
      case nr.SYS_gettid: return run.tid;
      case nr.SYS_set_tid_address:
        this.k.i32[this.k.layout.taskBase(run.slot) + TASK.clearChildTid] = a0;
        return run.tid;
      case nr.SYS_write: return this.sysWrite(a0, a1, a2);
      case nr.SYS_membarrier: return this.sysMembarrier(mm, a0, a1);
      case nr.SYS_lkdtm: return this.lkdtm.run(mm, a0, a1);
      default: return -ENOSYS;
    }
  }

  private sysFutex(run: TaskRun, uaddr: number, op: number, val: number, timeoutPtr: number): number {
    const cmd = op & ~(nr.FUTEX_PRIVATE_FLAG | nr.FUTEX_CLOCK_REALTIME);
    switch (cmd) {
      case nr.FUTEX_WAIT:
      case nr.FUTEX_WAIT_BITSET: {
        let timeout = -1;
        if (timeoutPtr !== 0) {
          timeout = this.readTimespec(timeoutPtr);
          if (timeout < 0) return timeout;
        }
        return this.futex.wait(run, run.mm, uaddr >>> 0, val, timeout);
      }
      case nr.FUTEX_WAKE:
      case nr.FUTEX_WAKE_BITSET:
        return this.futex.wake(run.mm, uaddr >>> 0, val <= 0 ? 0 : val);
      default:
        return -ENOSYS;
    }
  }

  /** A struct timespec64 (s64 tv_sec, long tv_nsec as 64 bits) in ns, or -errno. */
  private readTimespec(va: number): number {
    const { user } = this.k;
    try {
      const sec = (user.load32(va) >>> 0) + user.load32(va + 4) * 4294967296;
      const nsec = user.load32(va + 8) >>> 0;
      if (sec < 0 || nsec >= 1e9) return -EINVAL;
      return sec * 1e9 + nsec;
    } catch (e) {
      if (e instanceof GuestSegfault) return -EFAULT;
      throw e;
    }
  }

  private sysNanosleep(run: TaskRun, req: number): number {
    const ns = this.readTimespec(req);
    if (ns < 0) return ns;
    this.sched.prepareToSleep(run);
    this.sched.armTimer(run, this.k.ops.time.schedClock() + ns);
    return nr.SYSCALL_BLOCKED;
  }

  private sysClockGettime(clock: number, tsp: number): number {
    const { ops, user } = this.k;
    let ns: number;
    if (clock === nr.CLOCK_MONOTONIC) ns = ops.time.schedClock();
    else if (clock === nr.CLOCK_REALTIME) ns = ops.time.getWallclock() * 1e9 + (ops.time.schedClock() % 1e9);
    else return -EINVAL;
    const sec = Math.floor(ns / 1e9);
    try {
      user.store32(tsp, sec % 4294967296);
      user.store32(tsp + 4, Math.floor(sec / 4294967296));
      user.store32(tsp + 8, ns % 1e9);
      user.store32(tsp + 12, 0);
    } catch (e) {
      if (e instanceof GuestSegfault) return -EFAULT;
      throw e;
    }
    return 0;
  }

  private sysWrite(fd: number, buf: number, len: number): number {
    if (fd !== 1 && fd !== 2) return -EBADF;
    len = Math.min(len >>> 0, MAX_WRITE);
    const bytes = new Uint8Array(len);
    try {
      for (let i = 0; i < len; i++) bytes[i] = this.k.user.load8(buf + i);
    } catch (e) {
      if (e instanceof GuestSegfault) return -EFAULT;
      throw e;
    }
    this.k.machine.console(this.decoder.decode(bytes));
    return len;
  }

  /**
   * membarrier: PRIVATE_EXPEDITED runs a barrier on every other CPU currently running this
   * process (an IPI each), the way Linux's membarrier_private_expedited does.
   */
  private sysMembarrier(mm: MmRef, cmd: number, flags: number): number {
    if (flags !== 0) return -EINVAL;
    switch (cmd) {
      case nr.MEMBARRIER_CMD_QUERY:
        return nr.MEMBARRIER_CMD_PRIVATE_EXPEDITED | nr.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
      case nr.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
        return 0;
      case nr.MEMBARRIER_CMD_PRIVATE_EXPEDITED: {
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

