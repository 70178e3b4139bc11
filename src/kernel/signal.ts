/**
 * Signals: what kernel/signal.c does for sending, queueing and dequeueing, and what riscv's
 * arch/riscv/kernel/signal.c does for the frame a handler runs on.
 *
 * State lives in the task table (layout.ts TASK), so any CPU can send: the process's
 * dispositions, shared pending set and interval timer on its leader; each thread's blocked
 * mask, pending set, TIF_SIGPENDING flag and alternate stack on the thread. One lock,
 * KGLOBALS.sigLock, covers all of it (Linux's per-process siglock; signals are rare here).
 *
 * Sending (any CPU): a signal its target ignores is dropped unless blocked; one whose default
 * action terminates and which some thread does not block kills the process at once (Linux's
 * complete_signal); otherwise it is queued — one instance per signal number, with its siginfo
 * — and a thread that does not block it gets TIF_SIGPENDING and, if asleep, a wake-up with
 * -ERESTARTSYS. The flag store pairs with the sleeper's check after publishing Sleeping
 * (Kernel.step), as a kill's does.
 *
 * Delivery (the thread itself, on return to user mode: exitToUser): the lowest pending signal
 * it does not block — a fault's first — is taken; a handler gets an rt_sigframe (siginfo, then
 * a ucontext holding the registers and the mask to restore) on the user stack or the
 * alternate one, and returns through the vDSO's rt_sigreturn. A system call the signal
 * interrupted returns -EINTR or restarts, by SA_RESTART and the call's kind, as
 * handle_signal does. TypeScript programs have no registers to build a frame from: a signal
 * sent to a handler of theirs is refused with -ENOSYS at send time (they never install one
 * except as hostile input), and default actions apply to them as to any process.
 *
 * Limits, documented: real-time signals are not queued more than once per number (a second
 * sigqueue of a pending one is dropped, as for standard signals); stop signals stop nothing
 * (no job control); ITIMER_VIRTUAL and ITIMER_PROF are not kept.
 */
import type { KernelContext } from './context.js';
import { EINTR, EINVAL, ENOMEM, ENOSYS, EPERM, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, ESRCH } from '../uapi/errno.js';
import {
  BUS_ADRALN, ILL_ILLOPC, MINSIGSTKSZ, NSIG, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTART, SEGV_ACCERR, SEGV_MAPERR,
  SIGALRM, SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSTOP, SIGSYS, SIGTRAP, SIG_BLOCK, SIG_DFL, SIG_IGN, SIG_SETMASK, SIG_UNBLOCK,
  SIGSET_BYTES, SI_KERNEL, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK, TRAP_BRKPT, UAPI_SA_FLAGS, defaultAction,
} from '../uapi/signal.js';
import type { Futexes } from './futex.js';
import { KGLOBALS, TASK, TaskState, taskLive } from './layout.js';
import { MAX_TASKS } from '../lib/limits.js';
import type { Scheduler, TaskRun } from './sched.js';
import { spinLock, spinUnlock } from './sync.js';
import type { Tasks } from './task.js';
import { uaccess } from './uaccess.js';
import { VDSO_RT_SIGRETURN } from './vdso.js';
import { SYSCALL_BLOCKED } from '../uapi/program.js';
import { signaledStatus } from '../uapi/wait.js';

/** riscv32's rt_sigframe: a 128-byte siginfo, then the ucontext (asm/ucontext.h), 816 bytes. */
const SIGINFO_BYTES = 128;
const UC_STACK = 8;
const UC_SIGMASK = 20;
/** uc_mcontext: struct sigcontext, 16-byte aligned by its FP union's q member. */
const UC_MCONTEXT = 160;
/** sc_regs (32 words: pc, x1..x31), then the FP state union, 528 bytes (no F/D here: zero). */
const SC_FPREGS = UC_MCONTEXT + 32 * 4;
const UCONTEXT_BYTES = 816;
const FRAME_BYTES = SIGINFO_BYTES + UCONTEXT_BYTES;
/** siginfo's words: si_signo, si_errno, si_code; the union's words at 12 and 20. */
const SI_WORD_A = 12;
const SI_UID = 16;
const SI_WORD_B = 20;

/** user_regs_struct indices. */
const REG_PC = 0;
const REG_RA = 1;
const REG_SP = 2;
const REG_A0 = 10;

/** Faults' signals, taken before other pending ones (kernel/signal.c SYNCHRONOUS_MASK); all below 32. */
const SYNCHRONOUS = bitOf(SIGSEGV) | bitOf(SIGBUS) | bitOf(SIGILL) | bitOf(SIGTRAP) | bitOf(SIGFPE) | bitOf(SIGSYS);
/** What no mask can hold back: SIGKILL and SIGSTOP (both in the first word). */
const UNBLOCKABLE = bitOf(SIGKILL) | bitOf(SIGSTOP);
/** Signals below this are not queued twice (legacy_queue). */
const SIGRTMIN = 32;

/** getitimer/setitimer's which. */
const ITIMER_REAL = 0;
const ITIMER_VIRTUAL = 1;
const ITIMER_PROF = 2;
const TWO32 = 4294967296;

function bitOf(signal: number): number {
  return 1 << ((signal - 1) & 31);
}

function wordOf(signal: number): number {
  return (signal - 1) >>> 5;
}

/** The siginfo a signal carries: si_code and the two union words the callers here use. */
export interface SigInfo {
  code: number;
  /** si_pid, or si_addr for a fault. */
  a: number;
  /** si_value (sigqueue), or 0. */
  b: number;
}

/** Who a signal is for: a process (kill), a thread (tkill), or a thread checked against its process (tgkill). */
export interface SignalTarget {
  tgid?: number;
  tid?: number;
}

export class Signals {
  /**
   * True when tasks can run handlers (riscv32 programs: the vCPU sets it). Otherwise a signal
   * to a handler is refused with -ENOSYS: TypeScript programs have no user stack to run one on.
   */
  handlersRun = false;
  /** The boot CPU's timer tick found interval timers armed: look for expired ones (runTimers). */
  timerDue = false;
  private readonly regs = new Int32Array(32);
  private readonly saved = new Int32Array(32);

  constructor(
    private readonly k: KernelContext,
    private readonly sched: Scheduler,
    private readonly futex: Futexes,
    private readonly tasks: Tasks,
    /** Counts what a guest asked for and this kernel lacks (the report's unknown calls). */
    private readonly unknown: (what: string) => void,
  ) {}

  private lock(): void {
    spinLock(this.k.i32, this.k.layout.kglobals + KGLOBALS.sigLock, this.k.cpu, this.k.spinner);
  }

  private unlock(): void {
    spinUnlock(this.k.i32, this.k.layout.kglobals + KGLOBALS.sigLock);
  }

  private tgidOf(slot: number): number {
    return this.k.i32[this.k.layout.taskBase(slot) + TASK.tgid]!;
  }

  /** The leader's task base for `run`'s process, or -1 once the leader is gone. */
  private leaderBase(tgid: number): number {
    const leader = this.tasks.leaderSlot(tgid);
    return leader >= 0 ? this.k.layout.taskBase(leader) : -1;
  }

  /** TIF_SIGPENDING: a signal `run` does not block is pending. One load, no lock. */
  pending(run: TaskRun): boolean {
    // ORDERING: pairs with wakeSignal's store (and recalc's, under the lock); Kernel.step loads
    // it after the Sleeping store, so a sender either sees the sleeper or the sleeper sees this.
    return Atomics.load(this.k.i32, this.k.layout.taskBase(run.slot) + TASK.sigFlag) !== 0;
  }

  // ---- dispositions -------------------------------------------------------------------------

  /** 'ignore', 'default' or 'handler' for `signal` in the process whose leader is at `lb`. */
  private disposition(lb: number, signal: number): 'ignore' | 'default' | 'handler' {
    if (lb < 0 || signal === SIGKILL || signal === SIGSTOP) return 'default';
    const { i32 } = this.k;
    const w = wordOf(signal);
    const b = bitOf(signal);
    if ((i32[lb + TASK.sigIgnored + w]! & b) !== 0) return 'ignore';
    return (i32[lb + TASK.sigHandled + w]! & b) !== 0 ? 'handler' : 'default';
  }

  /** sig_ignored: dropped at send time (explicitly ignored, or a default that does nothing). */
  private ignoredBy(lb: number, signal: number): boolean {
    const d = this.disposition(lb, signal);
    return d === 'ignore' || (d === 'default' && defaultAction(signal) !== 'terminate');
  }

  /**
   * rt_sigaction(signal, act, oldact, sigsetsize) for the caller's process. riscv32 Linux's
   * struct sigaction is handler, flags, mask (8 bytes): riscv defines no SA_RESTORER, so a
   * restorer a libc puts after the flags is read as the mask's first word, as Linux reads it.
   * Flags outside UAPI_SA_FLAGS read back as 0. Ignoring a signal discards its pending instances.
   */
  sigaction(run: TaskRun, signal: number, act: number, oldact: number, sigsetsize: number): number {
    const { i32, user } = this.k;
    if (sigsetsize !== SIGSET_BYTES || signal < 1 || signal > NSIG) return -EINVAL;
    if (act !== 0 && (signal === SIGKILL || signal === SIGSTOP)) return -EINVAL;
    const tgid = this.tgidOf(run.slot);
    const lb = this.leaderBase(tgid);
    if (lb < 0) return -ESRCH;
    const next = new Int32Array(4);
    if (act !== 0) {
      const r = uaccess(() => {
        for (let i = 0; i < 4; i++) next[i] = user.load32(act + i * 4);
        return 0;
      });
      if (r < 0) return r;
    }
    const w = wordOf(signal);
    const b = bitOf(signal);
    const old = new Int32Array(4);
    this.lock();
    const d = this.disposition(lb, signal);
    old[0] = d === 'ignore' ? SIG_IGN : d === 'handler' ? i32[lb + TASK.sigHandlers + signal - 1]! : SIG_DFL;
    old[1] = i32[lb + TASK.sigActFlags + signal - 1]!;
    old[2] = i32[lb + TASK.sigActMask + (signal - 1) * 2]!;
    old[3] = i32[lb + TASK.sigActMask + (signal - 1) * 2 + 1]!;
    if (act !== 0) {
      const handler = next[0]! >>> 0;
      const handled = handler !== SIG_IGN && handler !== SIG_DFL;
      const set = (field: number, on: boolean): void => {
        i32[lb + field + w] = on ? i32[lb + field + w]! | b : i32[lb + field + w]! & ~b;
      };
      set(TASK.sigIgnored, handler === SIG_IGN);
      set(TASK.sigHandled, handled);
      i32[lb + TASK.sigHandlers + signal - 1] = handled ? handler : 0;
      i32[lb + TASK.sigActFlags + signal - 1] = next[1]! & UAPI_SA_FLAGS;
      i32[lb + TASK.sigActMask + (signal - 1) * 2] = next[2]! & ~UNBLOCKABLE;
      i32[lb + TASK.sigActMask + (signal - 1) * 2 + 1] = next[3]!;
      // POSIX: setting a pending signal to be ignored discards it, process-wide.
      if (this.ignoredBy(lb, signal)) this.discard(tgid, lb, signal);
    }
    this.unlock();
    if (oldact === 0) return 0;
    return uaccess(() => {
      for (let i = 0; i < 4; i++) user.store32(oldact + i * 4, old[i]!);
      return 0;
    });
  }

  /** Drop `signal` from the process's shared pending set and each thread's. Under sigLock. */
  private discard(tgid: number, lb: number, signal: number): void {
    const { i32, layout } = this.k;
    const w = wordOf(signal);
    const b = bitOf(signal);
    // ORDERING: pending words are or'ed by senders under this lock and cleared here under it.
    Atomics.and(i32, lb + TASK.sigSharedPending + w, ~b);
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (!this.live(tb) || i32[tb + TASK.tgid] !== tgid) continue;
      Atomics.and(i32, tb + TASK.sigPending + w, ~b);
      this.recalc(tb, lb);
    }
  }

  private live(tb: number): boolean {
    const state = Atomics.load(this.k.i32, tb + TASK.state);
    return taskLive(state);
  }

  // ---- masks --------------------------------------------------------------------------------

  /**
   * recalc_sigpending: TIF_SIGPENDING for the thread at `tb` from its pending set and its
   * process's (leader `lb`) against its blocked mask. Under sigLock.
   */
  private recalc(tb: number, lb: number): void {
    const { i32 } = this.k;
    let any = 0;
    for (let w = 0; w < 2; w++) {
      const pending = Atomics.load(i32, tb + TASK.sigPending + w) | (lb >= 0 ? Atomics.load(i32, lb + TASK.sigSharedPending + w) : 0);
      any |= pending & ~i32[tb + TASK.sigBlocked + w]!;
    }
    // ORDERING: pairs with pending()'s load; senders set it under this lock too.
    Atomics.store(i32, tb + TASK.sigFlag, any !== 0 ? 1 : 0);
  }

  /**
   * set_current_blocked: `run`'s new blocked mask (SIGKILL and SIGSTOP never blocked). Signals
   * of its process it now blocks go to another thread that does not (retarget_shared_pending).
   */
  private setBlocked(run: TaskRun, lo: number, hi: number): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    const tgid = i32[tb + TASK.tgid]!;
    const lb = this.leaderBase(tgid);
    this.lock();
    const newlyLo = lo & ~UNBLOCKABLE & ~i32[tb + TASK.sigBlocked]!;
    const newlyHi = hi & ~i32[tb + TASK.sigBlocked + 1]!;
    i32[tb + TASK.sigBlocked] = lo & ~UNBLOCKABLE;
    i32[tb + TASK.sigBlocked + 1] = hi;
    this.recalc(tb, lb);
    if (lb >= 0 && ((Atomics.load(i32, lb + TASK.sigSharedPending) & newlyLo) | (Atomics.load(i32, lb + TASK.sigSharedPending + 1) & newlyHi)) !== 0) {
      for (let s = 0; s < MAX_TASKS; s++) {
        const ob = layout.taskBase(s);
        if (s === run.slot || !this.live(ob) || i32[ob + TASK.tgid] !== tgid) continue;
        this.recalc(ob, lb);
        if (i32[ob + TASK.sigFlag] !== 0) this.wakeSignal(s);
      }
    }
    this.unlock();
  }

  /** rt_sigprocmask(how, set, oldset, sigsetsize). */
  procmask(run: TaskRun, how: number, set: number, oldset: number, sigsetsize: number): number {
    const { i32, layout, user } = this.k;
    if (sigsetsize !== SIGSET_BYTES) return -EINVAL;
    const tb = layout.taskBase(run.slot);
    const oldLo = i32[tb + TASK.sigBlocked]!;
    const oldHi = i32[tb + TASK.sigBlocked + 1]!;
    if (set !== 0) {
      const mask = this.readMask(set, sigsetsize);
      if (typeof mask === 'number') return mask;
      const [lo, hi] = mask;
      if (how === SIG_BLOCK) this.setBlocked(run, oldLo | lo, oldHi | hi);
      else if (how === SIG_UNBLOCK) this.setBlocked(run, oldLo & ~lo, oldHi & ~hi);
      else if (how === SIG_SETMASK) this.setBlocked(run, lo, hi);
      else return -EINVAL;
    }
    if (oldset === 0) return 0;
    return uaccess(() => {
      user.store32(oldset, oldLo);
      user.store32(oldset + 4, oldHi);
      return 0;
    });
  }

  /** rt_sigpending(set, sigsetsize): the pending signals the caller blocks. */
  sigpending(run: TaskRun, set: number, sigsetsize: number): number {
    const { i32, layout, user } = this.k;
    if ((sigsetsize >>> 0) > SIGSET_BYTES) return -EINVAL;
    const tb = layout.taskBase(run.slot);
    const lb = this.leaderBase(i32[tb + TASK.tgid]!);
    const words = [0, 1].map((w) => (Atomics.load(i32, tb + TASK.sigPending + w) | (lb >= 0 ? Atomics.load(i32, lb + TASK.sigSharedPending + w) : 0))
      & i32[tb + TASK.sigBlocked + w]!);
    return uaccess(() => {
      for (let i = 0; i < (sigsetsize >>> 0); i++) user.store8(set + i, (words[i >>> 2]! >>> ((i & 3) * 8)) & 0xff);
      return 0;
    });
  }

  /** Read a sigset_t of `sigsetsize` bytes into [lo, hi], or -errno. */
  private readMask(va: number, sigsetsize: number): [number, number] | number {
    if (sigsetsize !== SIGSET_BYTES) return -EINVAL;
    const { user } = this.k;
    const mask: [number, number] = [0, 0];
    const r = uaccess(() => {
      mask[0] = user.load32(va);
      mask[1] = user.load32(va + 4);
      return 0;
    });
    return r < 0 ? r : mask;
  }

  /**
   * Sleep with a temporary blocked mask (sigsuspend, and ppoll/pselect given one): the caller's
   * own mask is put back on return to user mode, or saved in a handler's frame. A call that
   * sleeps again after a wake-up keeps the first saved mask.
   */
  setTemporaryMask(run: TaskRun, va: number, sigsetsize: number): number {
    const mask = this.readMask(va, sigsetsize);
    if (typeof mask === 'number') return mask;
    const tb = this.k.layout.taskBase(run.slot);
    if (run.savedMask === null) run.savedMask = [this.k.i32[tb + TASK.sigBlocked]!, this.k.i32[tb + TASK.sigBlocked + 1]!];
    this.setBlocked(run, mask[0], mask[1]);
    return 0;
  }

  /** rt_sigsuspend(mask, sigsetsize): sleep with `mask` until a signal is delivered; then -EINTR. */
  sigsuspend(run: TaskRun, va: number, sigsetsize: number): number {
    if (run.userRegs === null) {
      this.unknown('rt_sigsuspend from a TypeScript program');
      return -ENOSYS;
    }
    const r = this.setTemporaryMask(run, va, sigsetsize);
    if (r < 0) return r;
    run.interrupted = -ERESTARTNOHAND;
    this.sched.prepareToSleep(run);
    return SYSCALL_BLOCKED;
  }

  // ---- sigaltstack --------------------------------------------------------------------------

  /** on_sig_stack: `sp` is inside the thread's alternate stack (never, with SS_AUTODISARM). */
  private onSigStack(tb: number, sp: number): boolean {
    const { i32 } = this.k;
    if ((i32[tb + TASK.altFlags]! & SS_AUTODISARM) !== 0) return false;
    const base = i32[tb + TASK.altSp]! >>> 0;
    return sp > base && sp - base <= (i32[tb + TASK.altSize]! >>> 0);
  }

  /** sas_ss_flags as sigaltstack and uc_stack report them. */
  private altStackFlags(tb: number, sp: number): number {
    const { i32 } = this.k;
    const autodisarm = i32[tb + TASK.altFlags]! & SS_AUTODISARM;
    if ((i32[tb + TASK.altSize]! >>> 0) === 0) return SS_DISABLE | autodisarm;
    return (this.onSigStack(tb, sp) ? SS_ONSTACK : 0) | autodisarm;
  }

  /** do_sigaltstack's setting half: 0 or -errno. */
  private setAltStack(tb: number, userSp: number, ssSp: number, flags: number, size: number): number {
    const { i32 } = this.k;
    if (this.onSigStack(tb, userSp)) return -EPERM;
    const mode = flags & ~SS_AUTODISARM;
    if (mode !== SS_DISABLE && mode !== SS_ONSTACK && mode !== 0) return -EINVAL;
    if (mode === SS_DISABLE) {
      ssSp = 0;
      size = 0;
    } else if ((size >>> 0) < MINSIGSTKSZ) {
      return -ENOMEM;
    }
    i32[tb + TASK.altSp] = ssSp;
    i32[tb + TASK.altSize] = size;
    i32[tb + TASK.altFlags] = mode === SS_DISABLE ? SS_DISABLE : flags & SS_AUTODISARM;
    return 0;
  }

  /** sigaltstack(ss, old_ss): stack_t is ss_sp, ss_flags, ss_size. */
  sigaltstack(run: TaskRun, ss: number, oldSs: number): number {
    const { i32, layout, user } = this.k;
    if (run.userRegs === null) return -ENOSYS;
    const tb = layout.taskBase(run.slot);
    run.userRegs.read(this.regs);
    const sp = this.regs[REG_SP]! >>> 0;
    const old = [i32[tb + TASK.altSp]!, this.altStackFlags(tb, sp), i32[tb + TASK.altSize]!];
    if (ss !== 0) {
      const next = [0, 0, 0];
      const r = uaccess(() => {
        for (let i = 0; i < 3; i++) next[i] = user.load32(ss + i * 4);
        return 0;
      });
      if (r < 0) return r;
      const set = this.setAltStack(tb, sp, next[0]!, next[1]!, next[2]!);
      if (set < 0) return set;
    }
    if (oldSs === 0) return 0;
    return uaccess(() => {
      for (let i = 0; i < 3; i++) user.store32(oldSs + i * 4, old[i]!);
      return 0;
    });
  }

  // ---- sending ------------------------------------------------------------------------------

  /**
   * signal_wake_up: tell the thread in `slot` a signal is pending for it, and wake it if it
   * sleeps (its call then restarts or returns -EINTR). Under sigLock.
   */
  private wakeSignal(slot: number): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(slot);
    // ORDERING: the flag before the state load; pairs with Kernel.step, which loads the flag
    // after the sleeper's Sleeping store (prepareToSleep): one of us sees the other.
    Atomics.store(i32, tb + TASK.sigFlag, 1);
    if (Atomics.load(i32, tb + TASK.state) === TaskState.Sleeping) {
      this.futex.unqueue(slot);
      this.sched.wakeUp(slot, -ERESTARTSYS);
    }
  }

  /**
   * Send `signal` with `info` to `target`: kill (a process), tkill (a thread), tgkill (a thread
   * of a process), rt_sigqueueinfo, a timer, a fault. `run` is the sender (null: the kernel).
   * Returns 0 or -errno, or SYSCALL_BLOCKED when the sender's own process dies of it.
   */
  send(run: TaskRun | null, target: SignalTarget, signal: number, info: SigInfo): number {
    const { i32, layout } = this.k;
    if (signal < 0 || signal > NSIG) return -EINVAL;
    let tgid = -1;
    let slot = -1;
    for (let s = 0; s < MAX_TASKS && tgid < 0; s++) {
      const tb = layout.taskBase(s);
      if (!this.live(tb)) continue;
      const match = target.tid !== undefined
        ? i32[tb + TASK.tid] === target.tid && (target.tgid === undefined || i32[tb + TASK.tgid] === target.tgid)
        : i32[tb + TASK.tgid] === target.tgid;
      if (match) {
        tgid = i32[tb + TASK.tgid]!;
        slot = target.tid !== undefined ? s : -1;
      }
    }
    if (tgid < 0) return -ESRCH;
    if (signal === 0) return 0;
    const lb = this.leaderBase(tgid);
    const w = wordOf(signal);
    const b = bitOf(signal);
    let outcome: 'queued' | 'dropped' | 'fatal' | 'refused' = 'queued';
    this.lock();
    // The thread that takes it: the one named, else (wants_signal) the sender if it is in the
    // process, else the first that does not block it; -1 if every thread blocks it.
    let taker = -1;
    if (slot >= 0) {
      if ((i32[layout.taskBase(slot) + TASK.sigBlocked + w]! & b) === 0) taker = slot;
    } else {
      const caller = run !== null && this.tgidOf(run.slot) === tgid ? run.slot : -1;
      if (caller >= 0 && (i32[layout.taskBase(caller) + TASK.sigBlocked + w]! & b) === 0) taker = caller;
      for (let s = 0; s < MAX_TASKS && taker < 0; s++) {
        const tb = layout.taskBase(s);
        if (this.live(tb) && i32[tb + TASK.tgid] === tgid && (i32[tb + TASK.sigBlocked + w]! & b) === 0) taker = s;
      }
    }
    const d = this.disposition(lb, signal);
    if (signal === SIGKILL) outcome = 'fatal';
    else if (taker >= 0 && this.ignoredBy(lb, signal)) outcome = 'dropped';
    else if (d === 'handler' && !this.handlersRun) outcome = 'refused';
    else if (taker >= 0 && d === 'default' && defaultAction(signal) === 'terminate') outcome = 'fatal';
    else {
      // A process signal goes to the shared set; with no leader left, to a thread's own.
      const shared = slot < 0 && lb >= 0;
      const pb = shared ? lb : layout.taskBase(slot >= 0 ? slot : Math.max(taker, 0));
      const pending = pb + (shared ? TASK.sigSharedPending : TASK.sigPending);
      const infoAt = pb + (shared ? TASK.sigSharedInfo : TASK.sigInfo) + (signal - 1) * 3;
      if (signal < SIGRTMIN && (Atomics.load(i32, pending + w) & b) !== 0) {
        outcome = 'dropped';
      } else {
        i32[infoAt] = info.code;
        i32[infoAt + 1] = info.a;
        i32[infoAt + 2] = info.b;
        // ORDERING: under sigLock with the info; dequeue clears it under the lock too.
        Atomics.or(i32, pending + w, b);
        if (taker >= 0) this.wakeSignal(taker);
      }
    }
    this.unlock();
    if (outcome === 'refused') {
      this.unknown(`signal ${signal} to a handler of a TypeScript program`);
      return -ENOSYS;
    }
    if (outcome === 'fatal') {
      if (run !== null && this.tgidOf(run.slot) === tgid) return this.tasks.fatalSignal(run, signal);
      this.tasks.killGroup(tgid, signaledStatus(signal));
    }
    return 0;
  }

  /**
   * kill(pid, signal): a process (pid > 0), every process in the caller's process group (0, or
   * -1's group: every process here is in init's), or every process but init and the caller (-1).
   */
  kill(run: TaskRun, pid: number, signal: number): number {
    const info: SigInfo = { code: 0, a: this.tgidOf(run.slot), b: 0 };
    if (pid > 0) return this.send(run, { tgid: pid }, signal, info);
    if (pid < -1 && -pid !== 1) return -ESRCH;
    if (signal < 0 || signal > NSIG) return -EINVAL;
    const { i32, layout } = this.k;
    const self = this.tgidOf(run.slot);
    const groups = new Set<number>();
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (this.live(tb)) groups.add(i32[tb + TASK.tgid]!);
    }
    let result = -ESRCH;
    let own = 0;
    for (const tgid of groups) {
      if (pid === -1 && (tgid === 1 || tgid === self)) continue;
      // The caller's own process last: its death must not cut the loop short.
      if (tgid === self) {
        own = 1;
        continue;
      }
      const r = this.send(run, { tgid }, signal, info);
      if (r === 0 || result === -ESRCH) result = r;
    }
    if (own !== 0) {
      const r = this.send(run, { tgid: self }, signal, info);
      if (r === SYSCALL_BLOCKED || r === 0 || result === -ESRCH) result = r;
    }
    return result;
  }

  /**
   * rt_sigqueueinfo(tgid, signal, uinfo) and rt_tgsigqueueinfo(tgid, tid, signal, uinfo): the
   * caller's siginfo (si_code, and si_pid and si_value), which must not claim to come from
   * the kernel or kill (si_code >= 0) unless sent to itself, as Linux checks.
   */
  sigqueue(run: TaskRun, target: SignalTarget, signal: number, uinfo: number): number {
    const { user } = this.k;
    const info: SigInfo = { code: 0, a: 0, b: 0 };
    const r = uaccess(() => {
      info.code = user.load32(uinfo + 8);
      info.a = user.load32(uinfo + SI_WORD_A);
      info.b = user.load32(uinfo + SI_WORD_B);
      return 0;
    });
    if (r < 0) return r;
    const self = this.tgidOf(run.slot) === target.tgid;
    if (info.code >= 0 && !self) return -EPERM;
    return this.send(run, target, signal, info);
  }

  // ---- faults -------------------------------------------------------------------------------

  /**
   * force_sig_fault: a fault `signal` at `addr` goes to the thread's handler if it has one it
   * does not block; true when queued for delivery (exitToUser then builds the frame), false
   * when the fault is fatal (no handler, or blocked or ignored: Linux resets it to the default
   * and the process dies).
   */
  forceFault(run: TaskRun, signal: number, addr: number, protection: boolean): boolean {
    const { i32, layout } = this.k;
    if (run.userRegs === null) return false;
    const tb = layout.taskBase(run.slot);
    const lb = this.leaderBase(i32[tb + TASK.tgid]!);
    const w = wordOf(signal);
    const b = bitOf(signal);
    this.lock();
    const deliverable = this.disposition(lb, signal) === 'handler' && (i32[tb + TASK.sigBlocked + w]! & b) === 0;
    if (deliverable) {
      const code = signal === SIGSEGV ? (protection ? SEGV_ACCERR : SEGV_MAPERR)
        : signal === SIGBUS ? BUS_ADRALN : signal === SIGILL ? ILL_ILLOPC : signal === SIGTRAP ? TRAP_BRKPT : SI_KERNEL;
      const infoAt = tb + TASK.sigInfo + (signal - 1) * 3;
      i32[infoAt] = code;
      i32[infoAt + 1] = addr;
      i32[infoAt + 2] = 0;
      Atomics.or(i32, tb + TASK.sigPending + w, b);
      Atomics.store(i32, tb + TASK.sigFlag, 1);
    }
    this.unlock();
    return deliverable;
  }

  // ---- delivery -----------------------------------------------------------------------------

  /**
   * exit_to_user_mode's signal work for `run`: deliver one pending signal — its default action,
   * or a frame for its handler — fix up a system call it interrupted (`syscallA0`: the call's
   * first argument, null when the task did not come from a system call), and put back a
   * temporary mask. Returns SYSCALL_BLOCKED if the process died of the signal, else 0.
   */
  exitToUser(run: TaskRun, syscallA0: number | null): number {
    if (run.savedMask === null && !this.pending(run)) return 0;
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    const lb = this.leaderBase(i32[tb + TASK.tgid]!);
    const ur = run.userRegs;
    const regs = this.regs;
    if (ur !== null) ur.read(regs);
    const info: SigInfo = { code: 0, a: 0, b: 0 };
    for (;;) {
      this.lock();
      const signal = this.dequeue(tb, lb, info);
      if (signal === 0) {
        this.recalc(tb, lb);
        this.unlock();
        break;
      }
      const d = this.disposition(lb, signal);
      if (d !== 'handler') {
        this.unlock();
        if (d === 'default' && defaultAction(signal) === 'terminate') return this.tasks.fatalSignal(run, signal);
        continue;
      }
      if (ur === null) {
        // Queued before the handler was installed, or blocked then: nothing can run it.
        this.unlock();
        this.unknown(`signal ${signal} to a handler of a TypeScript program`);
        continue;
      }
      const handler = i32[lb + TASK.sigHandlers + signal - 1]!;
      const flags = i32[lb + TASK.sigActFlags + signal - 1]!;
      const blockLo = i32[tb + TASK.sigBlocked]! | i32[lb + TASK.sigActMask + (signal - 1) * 2]! | (wordOf(signal) === 0 && (flags & SA_NODEFER) === 0 ? bitOf(signal) : 0);
      const blockHi = i32[tb + TASK.sigBlocked + 1]! | i32[lb + TASK.sigActMask + (signal - 1) * 2 + 1]! | (wordOf(signal) === 1 && (flags & SA_NODEFER) === 0 ? bitOf(signal) : 0);
      if ((flags & SA_RESETHAND) !== 0) {
        const w = wordOf(signal);
        i32[lb + TASK.sigHandled + w] = i32[lb + TASK.sigHandled + w]! & ~bitOf(signal);
        i32[lb + TASK.sigHandlers + signal - 1] = 0;
      }
      const maskLo = run.savedMask?.[0] ?? i32[tb + TASK.sigBlocked]!;
      const maskHi = run.savedMask?.[1] ?? i32[tb + TASK.sigBlocked + 1]!;
      this.unlock();
      if (syscallA0 !== null) this.fixupSyscall(regs, syscallA0, (flags & SA_RESTART) !== 0);
      if (!this.setupFrame(tb, regs, signal, info, handler, flags, maskLo, maskHi)) {
        // force_sigsegv: the frame could not be written; the process dies of SIGSEGV.
        this.k.machine.console(`task ${run.tid}: killed: SIGSEGV (signal ${signal}'s frame could not be written at sp 0x${(regs[REG_SP]! >>> 0).toString(16)})\n`);
        return this.tasks.fatalSignal(run, SIGSEGV);
      }
      run.savedMask = null;
      this.setBlocked(run, blockLo, blockHi);
      ur.write(regs);
      return 0;
    }
    // No handler ran: an interrupted call restarts (its -EINTR is only for handlers).
    if (ur !== null && syscallA0 !== null && isRestart(regs[REG_A0]!)) {
      regs[REG_A0] = syscallA0;
      regs[REG_PC] = (regs[REG_PC]! - 4) | 0;
      ur.write(regs);
    }
    if (run.savedMask !== null) {
      const [lo, hi] = run.savedMask;
      run.savedMask = null;
      this.setBlocked(run, lo, hi);
    }
    return 0;
  }

  /**
   * The lowest pending signal the thread at `tb` does not block — its own before its
   * process's, faults first — taken off its set, its siginfo into `info`; 0 if none. Under sigLock.
   */
  private dequeue(tb: number, lb: number, info: SigInfo): number {
    const { i32 } = this.k;
    for (const [base, pendingField, infoField] of [[tb, TASK.sigPending, TASK.sigInfo], [lb, TASK.sigSharedPending, TASK.sigSharedInfo]] as const) {
      if (base < 0) continue;
      for (let w = 0; w < 2; w++) {
        const avail = Atomics.load(i32, base + pendingField + w) & ~i32[tb + TASK.sigBlocked + w]!;
        if (avail === 0) continue;
        const pick = w === 0 && (avail & SYNCHRONOUS) !== 0 ? avail & SYNCHRONOUS : avail;
        const signal = w * 32 + 31 - Math.clz32(pick & -pick) + 1;
        Atomics.and(i32, base + pendingField + w, ~bitOf(signal));
        const at = base + infoField + (signal - 1) * 3;
        info.code = i32[at]!;
        info.a = i32[at + 1]!;
        info.b = i32[at + 2]!;
        return signal;
      }
    }
    return 0;
  }

  /** handle_signal's system-call fix-up: -EINTR, or back to the ECALL with its first argument. */
  private fixupSyscall(regs: Int32Array, a0: number, saRestart: boolean): void {
    const r = regs[REG_A0]!;
    if (r === -ERESTARTNOHAND || (r === -ERESTARTSYS && !saRestart)) {
      regs[REG_A0] = -EINTR;
    } else if (r === -ERESTARTSYS || r === -ERESTARTNOINTR) {
      regs[REG_A0] = a0;
      regs[REG_PC] = (regs[REG_PC]! - 4) | 0;
    }
  }

  /**
   * setup_rt_frame: the rt_sigframe below the user's stack pointer (or at the top of the
   * alternate stack, for SA_ONSTACK when not already on it), 16-byte aligned; then the
   * registers for the handler: pc = handler, ra = the vDSO's rt_sigreturn, sp = the frame,
   * a0 = signal, a1 = &siginfo, a2 = &ucontext. False if the frame could not be written.
   */
  private setupFrame(tb: number, regs: Int32Array, signal: number, info: SigInfo, handler: number, flags: number, maskLo: number, maskHi: number): boolean {
    const { i32, user } = this.k;
    const userSp = regs[REG_SP]! >>> 0;
    let sp = userSp;
    if ((flags & SA_ONSTACK) !== 0 && (i32[tb + TASK.altSize]! >>> 0) !== 0 && !this.onSigStack(tb, userSp)) {
      sp = ((i32[tb + TASK.altSp]! >>> 0) + (i32[tb + TASK.altSize]! >>> 0)) >>> 0;
    }
    const frame = ((sp - FRAME_BYTES) & ~15) >>> 0;
    const uc = frame + SIGINFO_BYTES;
    const altFlags = this.altStackFlags(tb, userSp);
    const r = uaccess(() => {
      for (let i = 0; i < SIGINFO_BYTES; i += 4) user.store32(frame + i, 0);
      user.store32(frame, signal);
      user.store32(frame + 8, info.code);
      user.store32(frame + SI_WORD_A, info.a);
      user.store32(frame + SI_UID, 0);
      user.store32(frame + SI_WORD_B, info.b);
      user.store32(uc, 0); // uc_flags
      user.store32(uc + 4, 0); // uc_link
      user.store32(uc + UC_STACK, i32[tb + TASK.altSp]!);
      user.store32(uc + UC_STACK + 4, altFlags);
      user.store32(uc + UC_STACK + 8, i32[tb + TASK.altSize]!);
      user.store32(uc + UC_SIGMASK, maskLo);
      user.store32(uc + UC_SIGMASK + 4, maskHi);
      for (let i = UC_SIGMASK + 8; i < UC_MCONTEXT; i += 4) user.store32(uc + i, 0);
      for (let i = 0; i < 32; i++) user.store32(uc + UC_MCONTEXT + i * 4, regs[i]!);
      for (let i = SC_FPREGS; i < UCONTEXT_BYTES; i += 4) user.store32(uc + i, 0);
      return 0;
    });
    if (r < 0) return false;
    // __save_altstack: an SS_AUTODISARM stack is given up while the handler runs.
    if ((i32[tb + TASK.altFlags]! & SS_AUTODISARM) !== 0) {
      i32[tb + TASK.altSp] = 0;
      i32[tb + TASK.altSize] = 0;
      i32[tb + TASK.altFlags] = SS_DISABLE;
    }
    regs[REG_PC] = handler;
    regs[REG_RA] = VDSO_RT_SIGRETURN;
    regs[REG_SP] = frame;
    regs[REG_A0] = signal;
    regs[REG_A0 + 1] = frame;
    regs[REG_A0 + 2] = uc;
    return true;
  }

  /**
   * rt_sigreturn: back from a handler, from the frame at the user's stack pointer: every
   * register, the blocked mask and the alternate stack (whose errors are ignored, as
   * restore_altstack's are). Returns the restored a0 (the call's result as the task sees it),
   * or SYSCALL_BLOCKED when the frame is unreadable and the process dies of SIGSEGV.
   */
  sigreturn(run: TaskRun): number {
    const { user, layout } = this.k;
    const ur = run.userRegs;
    if (ur === null) return -ENOSYS;
    const tb = layout.taskBase(run.slot);
    ur.read(this.regs);
    const uc = ((this.regs[REG_SP]! >>> 0) + SIGINFO_BYTES) >>> 0;
    const saved = this.saved;
    const rest = [0, 0, 0, 0, 0];
    const r = uaccess(() => {
      for (let i = 0; i < 32; i++) saved[i] = user.load32(uc + UC_MCONTEXT + i * 4);
      rest[0] = user.load32(uc + UC_SIGMASK);
      rest[1] = user.load32(uc + UC_SIGMASK + 4);
      for (let i = 0; i < 3; i++) rest[2 + i] = user.load32(uc + UC_STACK + i * 4);
      return 0;
    });
    if (r < 0) {
      this.k.machine.console(`task ${run.tid}: killed: SIGSEGV (rt_sigreturn found no frame at sp 0x${(this.regs[REG_SP]! >>> 0).toString(16)})\n`);
      return this.tasks.fatalSignal(run, SIGSEGV);
    }
    this.setBlocked(run, rest[0]!, rest[1]!);
    this.setAltStack(tb, saved[REG_SP]! >>> 0, rest[2]!, rest[3]!, rest[4]!);
    ur.write(saved);
    return saved[REG_A0]!;
  }

  // ---- interval timers ----------------------------------------------------------------------

  /** The ITIMER_REAL fields of the leader at `lb` as [expiry, interval] in ns (0: disarmed). */
  private itimer(lb: number): [number, number] {
    const { i32 } = this.k;
    const at = (i32[lb + TASK.itRealAt]! >>> 0) + (i32[lb + TASK.itRealAt + 1]! >>> 0) * TWO32;
    const every = (i32[lb + TASK.itRealInterval]! >>> 0) + (i32[lb + TASK.itRealInterval + 1]! >>> 0) * TWO32;
    return [at, every];
  }

  /** Set the leader's ITIMER_REAL, keeping KGLOBALS.itimersArmed's count. Under sigLock. */
  private setItimer(lb: number, at: number, every: number): void {
    const { i32, layout } = this.k;
    const was = this.itimer(lb)[0] !== 0;
    i32[lb + TASK.itRealAt] = at % TWO32;
    i32[lb + TASK.itRealAt + 1] = Math.floor(at / TWO32);
    i32[lb + TASK.itRealInterval] = every % TWO32;
    i32[lb + TASK.itRealInterval + 1] = Math.floor(every / TWO32);
    // ORDERING: a count the boot CPU's tick reads to decide whether to look; under sigLock.
    if (was !== (at !== 0)) Atomics.add(i32, layout.kglobals + KGLOBALS.itimersArmed, at !== 0 ? 1 : -1);
  }

  /**
   * getitimer(which, value) and setitimer(which, new, old): ITIMER_REAL, per process, sends
   * SIGALRM at expiry and rearms with its interval; struct itimerval is two 32-bit timevals
   * (interval, then value). Expiry is seen at the boot CPU's next timer tick. The CPU-time
   * timers are not kept: -EINVAL, counted.
   */
  itimerCall(run: TaskRun, which: number, next: number, old: number): number {
    const { user, ops } = this.k;
    if (which === ITIMER_VIRTUAL || which === ITIMER_PROF) {
      this.unknown(`itimer ${which === ITIMER_VIRTUAL ? 'ITIMER_VIRTUAL' : 'ITIMER_PROF'}`);
      return -EINVAL;
    }
    if (which !== ITIMER_REAL) return -EINVAL;
    const lb = this.leaderBase(this.tgidOf(run.slot));
    if (lb < 0) return -ESRCH;
    const value = [0, 0, 0, 0];
    if (next !== 0) {
      const r = uaccess(() => {
        for (let i = 0; i < 4; i++) value[i] = user.load32(next + i * 4);
        return 0;
      });
      if (r < 0) return r;
      if (value[1]! < 0 || value[1]! >= 1e6 || value[3]! < 0 || value[3]! >= 1e6 || value[0]! < 0 || value[2]! < 0) return -EINVAL;
    }
    const now = ops.time.schedClock();
    this.lock();
    const [at, every] = this.itimer(lb);
    if (next !== 0) {
      const valueNs = value[2]! * 1e9 + value[3]! * 1000;
      this.setItimer(lb, valueNs === 0 ? 0 : now + valueNs, value[0]! * 1e9 + value[1]! * 1000);
    }
    this.unlock();
    if (old === 0) return 0;
    const left = at === 0 ? 0 : Math.max(at - now, 1000);
    return uaccess(() => {
      user.store32(old, Math.floor(every / 1e9));
      user.store32(old + 4, Math.floor((every % 1e9) / 1000));
      user.store32(old + 8, Math.floor(left / 1e9));
      user.store32(old + 12, Math.floor((left % 1e9) / 1000));
      return 0;
    });
  }

  /** The boot CPU's timer tick: note that armed interval timers need a look (runTimers). */
  tick(): void {
    if (this.k.cpu === 0 && Atomics.load(this.k.i32, this.k.layout.kglobals + KGLOBALS.itimersArmed) !== 0) this.timerDue = true;
  }

  /** it_real_fn for every expired ITIMER_REAL: SIGALRM (SI_KERNEL), rearmed by its interval. Process context. */
  runTimers(): void {
    this.timerDue = false;
    const { i32, layout, ops } = this.k;
    const now = ops.time.schedClock();
    const expired: number[] = [];
    this.lock();
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (!this.live(tb) || i32[tb + TASK.tid] !== i32[tb + TASK.tgid]) continue;
      const [at, every] = this.itimer(tb);
      if (at === 0 || at > now) continue;
      expired.push(i32[tb + TASK.tgid]!);
      // hrtimer_forward: the next expiry after now; overruns are not counted.
      this.setItimer(tb, every === 0 ? 0 : at + Math.ceil((now - at + 1) / every) * every, every);
    }
    this.unlock();
    for (const tgid of expired) this.send(null, { tgid }, SIGALRM, { code: SI_KERNEL, a: 0, b: 0 });
  }

  /** A leader's exit: its process's interval timer goes with it. */
  exitItimer(run: TaskRun): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    if (i32[tb + TASK.tid] !== i32[tb + TASK.tgid] || this.itimer(tb)[0] === 0) return;
    this.lock();
    this.setItimer(tb, 0, 0);
    this.unlock();
  }
}

/** A result a sleeping call leaves for the signal code: never seen by user space. */
function isRestart(r: number): boolean {
  return r === -ERESTARTSYS || r === -ERESTARTNOINTR || r === -ERESTARTNOHAND;
}
