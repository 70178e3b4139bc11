/**
 * Task lifecycle: the task table in guest memory, clone (threads sharing an mm), exit and
 * exit_group, placement on CPUs. Runs on a vCPU worker; any CPU may create a task for another.
 */
import { GuestSegfault } from '../lib/errors.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { EAGAIN, EFAULT, EINTR, EINVAL, ERESTARTNOINTR, ERESTARTSYS, ENOMEM, ESRCH } from '../uapi/errno.js';
import { NSIG, SS_DISABLE } from '../uapi/signal.js';
import type { FileSystem } from './fs/index.js';
import type { Futexes } from './futex.js';
import { KGLOBALS, PERCPU, TASK, TaskState, taskLive } from './layout.js';
import { MAX_TASKS } from '../lib/limits.js';
import type { AddressSpaces } from './mm.js';
import type { Scheduler, TaskRun } from './sched.js';
import { CLONE_CHILD_CLEARTID, CLONE_FILES, CLONE_PARENT_SETTID, CLONE_SETTLS, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM } from '../uapi/sched.js';
import { SYSCALL_BLOCKED } from '../uapi/program.js';
import { spinLock, spinUnlock } from './sync.js';
import type { Vmalloc } from './vmalloc.js';
import { PAGE_SIZE } from '../hw/paging.js';
import {
  CLD_EXITED, CLD_KILLED, P_ALL, P_PGID, P_PID, WCONTINUED, WEXITED, WNOHANG, WNOWAIT, WSTOPPED,
  exitCodeOf, exitedStatus, shellStatus, signaledStatus, termSignal,
} from '../uapi/wait.js';
import { uaccess } from './uaccess.js';

const ECHILD = 10;
/** TASK.groupExit flag: exit_group (or a kill) set the group's wait status (low 16 bits). */
const GROUP_EXIT_SET = 0x10000;
const GROUP_STATUS = 0xffff;
/** siginfo_t for SIGCHLD (asm-generic, ilp32): 128 bytes; si_pid, si_uid, si_status after three ints. */
const SIGINFO_BYTES = 128;
const SI_SIGNO = 0;
const SI_CODE = 8;
const SI_PID = 12;
const SI_STATUS = 20;
/** struct rusage with 32-bit timevals (what riscv32 Linux writes): 2 timevals and 14 longs. */
const RUSAGE_BYTES = 72;
const SIGCHLD = 17;

/** A child waitN found: its pid and wait status; or what to return instead. */
type Reaped = { pid: number; status: number } | number;

/** struct robust_list_head on riscv32: three 32-bit words. */
const ROBUST_LIST_HEAD_BYTES = 12;
/** How many robust-list entries exit follows at most (include/uapi/linux/futex.h). */
const ROBUST_LIST_LIMIT = 2048;
/** The futex word's owner-died and waiters bits and its tid field (include/uapi/linux/futex.h). */
const FUTEX_WAITERS = 0x80000000 | 0;
const FUTEX_OWNER_DIED = 0x40000000;
const FUTEX_TID_MASK = 0x3fffffff;

/** Kernel stack: THREAD_SIZE, 8 KiB on i386, vmalloc'd (CONFIG_VMAP_STACK). */
export const THREAD_PAGES = 2;

export class Tasks {
  constructor(
    private readonly k: KernelContext,
    private readonly sched: Scheduler,
    private readonly mms: AddressSpaces,
    private readonly futex: Futexes,
    private readonly vmalloc: Vmalloc,
    private readonly fs: FileSystem,
  ) {}

  /** A free task slot, claimed (state New), or -1. */
  private allocSlot(): number {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    let slot = -1;
    for (let s = 0; s < MAX_TASKS; s++) {
      if (i32[layout.taskBase(s) + TASK.state] === TaskState.Free) {
        slot = s;
        Atomics.store(i32, layout.taskBase(s) + TASK.state, TaskState.New);
        break;
      }
    }
    spinUnlock(i32, lock);
    return slot;
  }

  /**
   * Where a new task runs: CPUs in turn, starting after the boot CPU. Tasks never migrate (their
   * program lives in one worker), so this is the whole placement policy; for the usual shape —
   * init on CPU 0 cloning one thread per CPU — it gives every CPU one thread, as will-it-scale's
   * per-CPU binding does.
   */
  private placeTask(): number {
    const { i32, layout, cpus } = this.k;
    return (Atomics.add(i32, layout.kglobals + KGLOBALS.nextCpu, 1) + 1) % cpus;
  }

  /**
   * Fill a claimed slot and make the task runnable on its CPU. `killed` and `groupExit` start it
   * already condemned: a clone that finished while its process (or every process) was being
   * killed, whose child the kill's scan could not see.
   */
  private start(slot: number, tid: number, tgid: number, mm: MmRef, files: number, cpu: number, userSp: number, clearChildTid: number, stack: number, killed = 0, groupExit = 0): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(slot);
    i32[tb + TASK.files] = files;
    i32[tb + TASK.kernelStack] = stack;
    i32[tb + TASK.cpu] = cpu;
    i32[tb + TASK.tid] = tid;
    i32[tb + TASK.tgid] = tgid;
    i32[tb + TASK.mm] = mm;
    i32[tb + TASK.userSp] = userSp;
    i32[tb + TASK.clearChildTid] = clearChildTid;
    i32[tb + TASK.futexAddr] = 0;
    i32[tb + TASK.killed] = killed;
    i32[tb + TASK.wakeResult] = 0;
    i32[tb + TASK.groupExit] = groupExit;
    i32[tb + TASK.cpuTicks] = 0;
    i32[tb + TASK.deadThreadTicks] = 0;
    i32[tb + TASK.childTicks] = 0;
    Atomics.add(i32, layout.kglobals + KGLOBALS.liveTasks, 1);
    Atomics.add(i32, layout.percpuBase(cpu) + PERCPU.nrTasks, 1);
    // ORDERING: Running is published before the wake list push (enqueue's CAS), which the
    // target's exchange pairs with; the fields above travel with it.
    Atomics.store(i32, tb + TASK.state, TaskState.Running);
    this.sched.enqueue(slot);
  }

  /** The boot CPU's first task: init (tid 1) with a fresh address space. */
  createInit(mm: MmRef): boolean {
    const slot = this.allocSlot();
    const stack = this.vmalloc.vmalloc(THREAD_PAGES);
    const files = this.fs.initFiles();
    if (slot < 0 || stack === 0 || files === 0) return false;
    const tid = Atomics.add(this.k.i32, this.k.layout.kglobals + KGLOBALS.nextTid, 1);
    this.setDispositions(slot, -1);
    this.initSignals(slot, -1, false);
    this.k.i32[this.k.layout.taskBase(slot) + TASK.robustList] = 0;
    this.k.i32[this.k.layout.taskBase(slot) + TASK.vforkDone] = -1;
    this.k.i32[this.k.layout.taskBase(slot) + TASK.affinity] = 0;
    this.k.i32[this.k.layout.taskBase(slot) + TASK.affinity + 1] = 0;
    this.start(slot, tid, tid, mm, files, this.k.cpu, 0, 0, stack);
    return true;
  }

  /** A new process's signal dispositions: a copy of `fromLeader`'s (fork), or all default (-1). */
  private setDispositions(slot: number, fromLeader: number): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(slot);
    const fb = fromLeader >= 0 ? layout.taskBase(fromLeader) : -1;
    const copy = (field: number, words: number): void => {
      for (let i = 0; i < words; i++) i32[tb + field + i] = fb >= 0 ? i32[fb + field + i]! : 0;
    };
    copy(TASK.sigIgnored, 2);
    copy(TASK.sigHandled, 2);
    copy(TASK.sigHandlers, NSIG);
    copy(TASK.sigActFlags, NSIG);
    copy(TASK.sigActMask, NSIG * 2);
  }

  /**
   * A new task's signal state (copy_process): nothing pending, no interval timer; the blocked
   * mask of the thread that cloned it (`from`, -1 for init: none blocked); its alternate stack
   * too for a fork, none for a thread sharing the address space (Linux clears it for CLONE_VM).
   */
  private initSignals(slot: number, from: number, keepAltStack: boolean): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(slot);
    const fb = from >= 0 ? layout.taskBase(from) : -1;
    for (let w = 0; w < 2; w++) {
      i32[tb + TASK.sigBlocked + w] = fb >= 0 ? i32[fb + TASK.sigBlocked + w]! : 0;
      i32[tb + TASK.sigPending + w] = 0;
      i32[tb + TASK.sigSharedPending + w] = 0;
      i32[tb + TASK.itRealAt + w] = 0;
      i32[tb + TASK.itRealInterval + w] = 0;
    }
    i32[tb + TASK.sigFlag] = 0;
    const keep = keepAltStack && fb >= 0;
    i32[tb + TASK.altSp] = keep ? i32[fb + TASK.altSp]! : 0;
    i32[tb + TASK.altSize] = keep ? i32[fb + TASK.altSize]! : 0;
    i32[tb + TASK.altFlags] = keep ? i32[fb + TASK.altFlags]! : SS_DISABLE;
  }

  /**
   * clone(flags, newsp, parent_tid, tls, child_tid). Threads (CLONE_VM) share the mm; without
   * CLONE_VM this is fork: the child gets a copy-on-write duplicate of the address space and is
   * a new process its parent can wait4 for. Either way the child starts on `newsp` (its
   * start-up code finds its entry there; for fork, in its copy of the parent's memory) — or,
   * for a riscv32 task, with the parent's registers copy_thread left on its kernel stack
   * (riscv's clone order: flags, newsp, parent_tid, tls, child_tid).
   */
  clone(parent: TaskRun, flags: number, newsp: number, parentTid: number, tls: number, childTid: number): number {
    const { i32, layout, user } = this.k;
    if ((flags & CLONE_THREAD) !== 0 && (flags & CLONE_SIGHAND) === 0) return -EINVAL;
    if ((flags & CLONE_SIGHAND) !== 0 && (flags & CLONE_VM) === 0) return -EINVAL;
    // A vfork parent woken before its child let go: wait on (the call is restarted, not redone).
    if (parent.vforkChild !== null) return this.vforkWait(parent);
    // A riscv32 task without a new stack keeps its own (fork is clone(SIGCHLD, 0), as musl calls
    // it; vfork shares it); a TypeScript program starts from the stack it is given, so it must.
    if (newsp === 0 && parent.copyThread === null) return -EINVAL;
    const sharesMm = (flags & CLONE_VM) !== 0;
    const slot = this.allocSlot();
    if (slot < 0) return -EAGAIN;
    const release = (): void => { Atomics.store(i32, layout.taskBase(slot) + TASK.state, TaskState.Free); };
    const stack = this.vmalloc.vmalloc(THREAD_PAGES);
    if (stack === 0) {
      release();
      return -ENOMEM;
    }
    const tid = Atomics.add(i32, layout.kglobals + KGLOBALS.nextTid, 1);
    const ptb = layout.taskBase(parent.slot);
    if ((flags & CLONE_PARENT_SETTID) !== 0) {
      try {
        user.atomicStore32(parentTid, tid);
      } catch (e) {
        release();
        this.vmalloc.vfree(stack, THREAD_PAGES);
        if (e instanceof GuestSegfault) return -EFAULT;
        throw e;
      }
    }
    const files = this.fs.cloneFiles(parent, (flags & CLONE_FILES) !== 0);
    if (files === 0) {
      release();
      this.vmalloc.vfree(stack, THREAD_PAGES);
      return -ENOMEM;
    }
    let mm = parent.mm;
    if (sharesMm) {
      this.mms.get(mm);
    } else {
      mm = this.mms.dup(parent.mm);
      if (mm === 0) {
        release();
        this.vmalloc.vfree(stack, THREAD_PAGES);
        this.fs.dropFiles(files);
        return -ENOMEM;
      }
    }
    // copy_thread: the child may start on another vCPU worker, so its registers travel in its
    // kernel stack (guest memory, globally mapped); start()'s publication orders them.
    const childSp = parent.copyThread?.(stack + THREAD_PAGES * PAGE_SIZE, newsp >>> 0, tls, (flags & CLONE_SETTLS) !== 0) ?? newsp >>> 0;
    const tb = layout.taskBase(slot);
    const sameGroup = (flags & CLONE_THREAD) !== 0;
    // A new process inherits its parent's dispositions; a thread uses its leader's.
    if (!sameGroup) this.setDispositions(slot, this.leaderSlot(i32[ptb + TASK.tgid]!));
    // Linux resets the alternate stack for a child sharing the address space, unless vfork's.
    this.initSignals(slot, parent.slot, (flags & (CLONE_VM | CLONE_VFORK)) !== CLONE_VM);
    const tgid = sameGroup ? i32[ptb + TASK.tgid]! : tid;
    // A new process (with its own address space or sharing its parent's, as posix_spawn's
    // CLONE_VM|CLONE_VFORK child does) records who forked it; threads are never waited for.
    i32[tb + TASK.parent] = sameGroup ? 0 : parent.slot + 1;
    i32[tb + TASK.parentTid] = sameGroup ? 0 : parent.tid;
    i32[tb + TASK.waitChild] = 0;
    i32[tb + TASK.robustList] = 0;
    const vfork = (flags & CLONE_VFORK) !== 0;
    // -1: nobody waits for this child's release; vfork's parent waits for it to move from 0.
    i32[tb + TASK.vforkDone] = vfork ? 0 : -1;
    // The CPU affinity mask is inherited, by threads and forks alike.
    i32[tb + TASK.affinity] = i32[ptb + TASK.affinity]!;
    i32[tb + TASK.affinity + 1] = i32[ptb + TASK.affinity + 1]!;
    // Started under tableLock, as killGroup and killAll scan under it: either the scan sees this
    // child Running and kills it, or the child is started condemned by what the scan left (its
    // thread group's exit, every task's kill) — no task escapes a kill by being born during it.
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, this.k.cpu, this.k.spinner);
    const all = i32[layout.kglobals + KGLOBALS.killAll]!;
    const group = sameGroup ? i32[ptb + TASK.groupExit]! : 0;
    const condemned = all !== 0 ? all : (group & GROUP_EXIT_SET) !== 0 ? group : 0;
    this.start(slot, tid, tgid, mm, files, this.placeTask(), childSp, (flags & CLONE_CHILD_CLEARTID) !== 0 ? childTid : 0, stack,
      condemned !== 0 ? 1 : 0, condemned);
    spinUnlock(i32, lock);
    if (!vfork) return tid;
    parent.vforkChild = { slot, tid };
    return this.vforkWait(parent);
  }

  /**
   * CLONE_VFORK: the parent sleeps until its child releases the address space by exiting (there
   * is no exec of a file here); then clone returns the child's pid. A signal handler may run
   * meanwhile — after it the call goes back to waiting (-ERESTARTNOINTR), never starting a
   * second child. Linux holds signals off instead (a killable sleep).
   */
  private vforkWait(parent: TaskRun): number {
    const child = parent.vforkChild!;
    parent.interrupted = -ERESTARTNOINTR;
    const r = this.futex.waitKernel(parent, this.k.layout.taskBase(child.slot) + TASK.vforkDone, 0, -1);
    if (r === SYSCALL_BLOCKED) return r;
    parent.vforkChild = null;
    return child.tid;
  }

  /**
   * Find an exited child process of `run` (pid -1: any) under tableLock and, unless `keep`
   * (WNOWAIT), reap it. Returns its pid and wait status; 0 with WNOHANG when none has exited;
   * -ECHILD when there is no such child; otherwise SYSCALL_BLOCKED, asleep until one exits.
   */
  private waitChild(run: TaskRun, pid: number, options: number, keep: boolean): Reaped {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    let found = false;
    let reaped: Reaped | undefined;
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (i32[tb + TASK.parent] !== run.slot + 1 || i32[tb + TASK.parentTid] !== run.tid) continue;
      const state = i32[tb + TASK.state]!;
      if (state === TaskState.Free || (pid > 0 && i32[tb + TASK.tid] !== pid)) continue;
      found = true;
      if (state === TaskState.Dead) {
        reaped = { pid: i32[tb + TASK.tid]!, status: i32[tb + TASK.exitCode]! };
        if (!keep) {
          // Its CPU time, and its own reaped children's, become the reaper's process's children's.
          const ticks = i32[tb + TASK.cpuTicks]! + i32[tb + TASK.deadThreadTicks]! + i32[tb + TASK.childTicks]!;
          const leader = this.leaderSlot(i32[layout.taskBase(run.slot) + TASK.tgid]!);
          if (leader >= 0) Atomics.add(i32, layout.taskBase(leader) + TASK.childTicks, ticks);
          i32[tb + TASK.parent] = 0;
          Atomics.store(i32, tb + TASK.state, TaskState.Free);
        }
        break;
      }
    }
    if (reaped === undefined && found && (options & WNOHANG) === 0) {
      // Sleep under the lock: a child's exit takes it too, so it cannot miss waitChild.
      i32[layout.taskBase(run.slot) + TASK.waitChild] = 1;
      this.sched.prepareToSleep(run);
    }
    spinUnlock(i32, lock);
    if (reaped !== undefined) return reaped;
    if (!found) return -ECHILD;
    return (options & WNOHANG) !== 0 ? 0 : SYSCALL_BLOCKED;
  }

  /**
   * wait4(pid, wstatus, options, rusage): reap an exited child process (pid -1: any). Returns
   * its pid and stores its wait status at `wstatus`; 0 with WNOHANG when none has exited;
   * -ECHILD when there is no such child; otherwise sleeps until one exits.
   */
  wait4(run: TaskRun, pid: number, wstatus: number, options: number): number {
    const r = this.waitChild(run, pid, options, false);
    if (typeof r === 'number') return r;
    if (wstatus === 0) return r.pid;
    return uaccess(() => {
      this.k.user.store32(wstatus, r.status);
      return r.pid;
    });
  }

  /**
   * waitid(idtype, id, infop, options, rusage), what musl's wait4 and waitpid are built on for
   * riscv32 (which has no wait4): P_ALL or P_PID; P_PGID counts as P_ALL (every process here is
   * in one process group). WEXITED is required (no child ever stops). Fills the SIGCHLD siginfo
   * (CLD_EXITED with the exit code, or CLD_KILLED with the signal); with WNOHANG and none
   * exited, returns 0 with si_pid 0. `rusage`, if given, is zeroed here; the system call
   * (Syscalls.sysWaitid) then fills in the reaped child's CPU time.
   */
  waitid(run: TaskRun, idtype: number, id: number, infop: number, options: number, rusage: number): number {
    if ((options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT)) !== 0 || (options & WEXITED) === 0) return -EINVAL;
    let pid: number;
    if (idtype === P_ALL || idtype === P_PGID) pid = -1;
    else if (idtype === P_PID && id > 0) pid = id;
    else return -EINVAL;
    const r = this.waitChild(run, pid, options, (options & WNOWAIT) !== 0);
    if (typeof r === 'number' && r !== 0) return r;
    const { user } = this.k;
    return uaccess(() => {
      if (infop !== 0) {
        for (let i = 0; i < SIGINFO_BYTES; i += 4) user.store32(infop + i, 0);
        if (typeof r !== 'number') {
          const signal = termSignal(r.status);
          user.store32(infop + SI_SIGNO, SIGCHLD);
          user.store32(infop + SI_CODE, signal !== 0 ? CLD_KILLED : CLD_EXITED);
          user.store32(infop + SI_PID, r.pid);
          user.store32(infop + SI_STATUS, signal !== 0 ? signal : exitCodeOf(r.status));
        }
      }
      if (rusage !== 0) for (let i = 0; i < RUSAGE_BYTES; i += 4) user.store32(rusage + i, 0);
      return 0;
    });
  }

  /** The slot of thread group `tgid`'s leader (tid = tgid), or -1 once it is gone. */
  leaderSlot(tgid: number): number {
    const { i32, layout } = this.k;
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (i32[tb + TASK.tid] === tgid && i32[tb + TASK.tgid] === tgid && i32[tb + TASK.state] !== TaskState.Free) return s;
    }
    return -1;
  }

  /** The timer tick found `run` running on this CPU: charge it one tick of CPU time. */
  accountTick(run: TaskRun | null): void {
    // ORDERING: an add, read by other CPUs summing a process's time (cpuTicks); nothing orders on it.
    if (run !== null) Atomics.add(this.k.i32, this.k.layout.taskBase(run.slot) + TASK.cpuTicks, 1);
  }

  /**
   * CPU time in ticks: `run`'s own (`thread`), its whole process's (live threads and exited
   * ones), or its reaped children's (`children`).
   */
  cpuTicks(run: TaskRun, which: 'thread' | 'process' | 'children'): number {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    if (which === 'thread') return Atomics.load(i32, tb + TASK.cpuTicks);
    const tgid = i32[tb + TASK.tgid]!;
    const leader = this.leaderSlot(tgid);
    if (which === 'children') return leader >= 0 ? Atomics.load(i32, layout.taskBase(leader) + TASK.childTicks) : 0;
    let ticks = leader >= 0 ? Atomics.load(i32, layout.taskBase(leader) + TASK.deadThreadTicks) : 0;
    for (let s = 0; s < MAX_TASKS; s++) {
      const sb = layout.taskBase(s);
      const state = i32[sb + TASK.state];
      if (i32[sb + TASK.tgid] === tgid && taskLive(state!)) ticks += Atomics.load(i32, sb + TASK.cpuTicks);
    }
    return ticks;
  }

  /**
   * getppid: the pid of the process that forked this one (a thread answers for its process); 0
   * for init, which nobody forked, as for Linux's pid 1.
   */
  parentPid(run: TaskRun): number {
    const { i32, layout } = this.k;
    const tgid = i32[layout.taskBase(run.slot) + TASK.tgid]!;
    if (tgid === 1) return 0;
    // The group leader records who forked the process.
    const leader = this.leaderSlot(tgid);
    if (leader < 0) return 1;
    const tb = layout.taskBase(leader);
    const parent = i32[tb + TASK.parent]! - 1;
    const pb = parent >= 0 ? layout.taskBase(parent) : 0;
    // The forking thread's process; once it is gone the child is init's, as Linux reparents it.
    return parent >= 0 && i32[pb + TASK.tid] === i32[tb + TASK.parentTid] ? i32[pb + TASK.tgid]! : 1;
  }

  /** exit(code): end this task once its system call returns to the scheduler. */
  exit(run: TaskRun, code: number): number {
    return this.exitWith(run, exitedStatus(code));
  }

  /** End this task with wait status `status` at its next scheduling point. */
  private exitWith(run: TaskRun, status: number): number {
    // init's leader leaving with exit (not exit_group) gives the process its status, unless
    // an exit_group already set one (which is then every member's, doExit).
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    if (run.tid === 1 && (i32[tb + TASK.groupExit]! & GROUP_EXIT_SET) === 0) {
      Atomics.store(i32, layout.kglobals + KGLOBALS.initExit, shellStatus(status));
    }
    run.exiting = true;
    run.exitCode = status;
    return SYSCALL_BLOCKED;
  }

  /** exit_group(code): every thread of the process dies; this one with it. */
  exitGroup(run: TaskRun, code: number): number {
    return this.groupExitWith(run, exitedStatus(code));
  }

  /**
   * A fatal signal `signal` (no handler): the process dies, every thread, with the status of a
   * process that signal killed (a shell shows 128 + signal; wait4 sees WIFSIGNALED).
   */
  fatalSignal(run: TaskRun, signal: number): number {
    return this.groupExitWith(run, signaledStatus(signal));
  }

  private groupExitWith(run: TaskRun, status: number): number {
    const tgid = this.k.i32[this.k.layout.taskBase(run.slot) + TASK.tgid]!;
    this.killGroup(tgid, status, run.slot);
    return this.exitWith(run, status);
  }

  /**
   * zap_other_threads with the group's wait status: every member of thread group `tgid` but
   * slot `except` dies with `status`. Any context: exit_group, a fatal signal.
   */
  killGroup(tgid: number, status: number, except = -1): void {
    const { i32, layout } = this.k;
    if (tgid === 1) Atomics.store(i32, layout.kglobals + KGLOBALS.initExit, shellStatus(status));
    this.killTasks((tb) => i32[tb + TASK.tgid] === tgid, status, except);
  }

  /**
   * Every task is killed by `signal`, whatever its process: the run's stop request (a program's
   * --seconds limit, or the run interrupted), so forked children and orphans end too. Clones
   * that finish afterwards start their children killed (KGLOBALS.killAll). Any context.
   */
  killAll(signal: number): void {
    const { i32, layout } = this.k;
    const status = signaledStatus(signal);
    Atomics.store(i32, layout.kglobals + KGLOBALS.initExit, shellStatus(status));
    this.killTasks(() => true, status, -1, true);
  }

  /**
   * Mark the tasks `chosen` picks killed with the group's wait status and wake those asleep, under
   * tableLock (clone starts its child under it too). Pairs with Kernel.step, which does not let
   * a task marked killed go to sleep: killer stores killed then loads state, the sleeper stores
   * Sleeping then loads killed, so one of them sees the other.
   */
  private killTasks(chosen: (tb: number) => boolean, status: number, except: number, all = false): void {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    if (all) i32[layout.kglobals + KGLOBALS.killAll] = GROUP_EXIT_SET | (status & GROUP_STATUS);
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (!chosen(tb)) continue;
      // The group's status for every member: the process's status is this code.
      if (i32[tb + TASK.state] !== TaskState.Free) i32[tb + TASK.groupExit] = GROUP_EXIT_SET | (status & GROUP_STATUS);
      if (s === except) continue;
      // A task still being created (New) is clone's to condemn, under this lock; Free and Dead
      // slots hold no one.
      const seen = Atomics.load(i32, tb + TASK.state);
      if (!taskLive(seen)) continue;
      // ORDERING: killed before the state load; pairs with Kernel.step's load of killed after
      // the sleeper's Sleeping store (Scheduler.prepareToSleep).
      Atomics.store(i32, tb + TASK.killed, 1);
      const state = Atomics.load(i32, tb + TASK.state);
      // A sleeping task must run to notice (off any futex queue first); a running one notices
      // at its next scheduling point, and will not go to sleep.
      if (state === TaskState.Sleeping) {
        this.futex.unqueue(s);
        this.sched.wakeUp(s, -EINTR);
      }
    }
    spinUnlock(i32, lock);
  }

  /**
   * The task's slot after exit: a process with a living parent stays as a zombie for wait4 (and
   * wakes the parent if it waits); anything else is freed. Its own exited children are reaped
   * and its living ones orphaned (they free themselves). Under tableLock, like wait4.
   */
  private releaseSlot(run: TaskRun): void {
    const { i32, layout, cpu, spinner } = this.k;
    const tb = layout.taskBase(run.slot);
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    for (let s = 0; s < MAX_TASKS; s++) {
      const cb = layout.taskBase(s);
      if (i32[cb + TASK.parent] !== run.slot + 1 || i32[cb + TASK.parentTid] !== run.tid) continue;
      i32[cb + TASK.parent] = 0;
      if (i32[cb + TASK.state] === TaskState.Dead) Atomics.store(i32, cb + TASK.state, TaskState.Free);
    }
    const parent = i32[tb + TASK.parent]! - 1;
    const pb = parent >= 0 ? layout.taskBase(parent) : 0;
    const parentAlive = parent >= 0 && i32[pb + TASK.tid] === i32[tb + TASK.parentTid]
      && taskLive(i32[pb + TASK.state]!);
    if (parentAlive) {
      Atomics.store(i32, tb + TASK.state, TaskState.Dead);
      if (i32[pb + TASK.waitChild] === 1) {
        i32[pb + TASK.waitChild] = 0;
        // wait4 runs again to reap (under tableLock, like this).
        this.sched.wakeUp(parent, -ERESTARTSYS);
      }
    } else {
      i32[tb + TASK.parent] = 0;
      Atomics.store(i32, tb + TASK.state, TaskState.Free);
    }
    spinUnlock(i32, lock);
  }

  /**
   * set_robust_list(head, len): where this thread keeps its list of robust futexes held
   * (struct robust_list_head: list, futex_offset, list_op_pending; 12 bytes on riscv32).
   */
  setRobustList(run: TaskRun, head: number, len: number): number {
    if (len !== ROBUST_LIST_HEAD_BYTES) return -EINVAL;
    this.k.i32[this.k.layout.taskBase(run.slot) + TASK.robustList] = head;
    return 0;
  }

  /** The slot of the live thread `tid` (0: `run` itself), or -1. */
  slotOf(run: TaskRun, tid: number): number {
    const { i32, layout } = this.k;
    if (tid === 0 || tid === run.tid) return run.slot;
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      const state = i32[tb + TASK.state];
      if (taskLive(state!) && i32[tb + TASK.tid] === tid) return s;
    }
    return -1;
  }

  /** get_robust_list(pid, head_ptr, len_ptr): a thread's list head (pid 0: the caller's). */
  getRobustList(run: TaskRun, pid: number, headPtr: number, lenPtr: number): number {
    const { i32, layout, user } = this.k;
    const slot = this.slotOf(run, pid);
    if (slot < 0) return -ESRCH;
    const head = i32[layout.taskBase(slot) + TASK.robustList]!;
    return uaccess(() => {
      user.store32(lenPtr, ROBUST_LIST_HEAD_BYTES);
      user.store32(headPtr, head);
      return 0;
    });
  }

  /**
   * exit_robust_list: every robust futex the dying thread still owns (its word holds the
   * thread's tid) gets FUTEX_OWNER_DIED, keeping FUTEX_WAITERS, and one waiter woken — the
   * next locker sees EOWNERDEAD. The list is the user's: at most ROBUST_LIST_LIMIT entries
   * are followed, and a bad pointer ends the walk (as a fault does in Linux).
   */
  private exitRobustList(run: TaskRun): void {
    const { i32, layout, user } = this.k;
    const head = i32[layout.taskBase(run.slot) + TASK.robustList]! >>> 0;
    if (head === 0 || (head & 3) !== 0) return;
    uaccess(() => {
      let entry = user.load32(head) >>> 0;
      const offset = user.load32(head + 4);
      const pending = user.load32(head + 8) >>> 0;
      for (let n = 0; entry !== head && entry !== 0 && n < ROBUST_LIST_LIMIT; n++) {
        // Read the link first: waking a waiter may let it free the entry.
        const next = user.load32(entry & ~1) >>> 0;
        if (entry !== pending) this.futexOwnerDied(run, ((entry & ~1) + offset) >>> 0);
        entry = next;
      }
      if (pending !== 0) this.futexOwnerDied(run, ((pending & ~1) + offset) >>> 0);
      return 0;
    });
  }

  /** handle_futex_death for one futex word at `uaddr` (user memory; faults end the walk). */
  private futexOwnerDied(run: TaskRun, uaddr: number): void {
    const { user } = this.k;
    if ((uaddr & 3) !== 0) return;
    for (let tries = 0; tries < 16; tries++) {
      const uval = user.atomicLoad32(uaddr);
      if ((uval & FUTEX_TID_MASK) !== run.tid) return;
      const nval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
      if (user.cmpxchg32(uaddr, uval, nval) !== uval) continue;
      if ((uval & FUTEX_WAITERS) !== 0) this.futex.wake(run.mm, uaddr, 1);
      return;
    }
  }

  killed(run: TaskRun): boolean {
    return Atomics.load(this.k.i32, this.k.layout.taskBase(run.slot) + TASK.killed) !== 0;
  }

  /**
   * do_exit: release everything the task holds; `code` is its wait status (the group's, if a
   * group exit set one, wins). Runs on the task's own CPU, at a scheduling point.
   */
  doExit(run: TaskRun, code: number): void {
    const { i32, layout, user, cpu, machine } = this.k;
    const tb = layout.taskBase(run.slot);
    // mm_release: robust futexes first, then clear_child_tid, then a vfork parent's wake-up.
    this.exitRobustList(run);
    const ctid = i32[tb + TASK.clearChildTid]!;
    // A misaligned clear_child_tid cannot be a futex word: nothing can be waiting on it.
    if (ctid !== 0 && (ctid & 3) === 0) {
      // mm_release: clear the child tid word and wake a joiner (pthread_join).
      try {
        user.atomicStore32(ctid, 0);
        this.futex.wake(run.mm, ctid, 1);
      } catch (e) {
        if (!(e instanceof GuestSegfault)) throw e;
      }
    }
    // ORDERING: wakeKernel's bump pairs with vforkWait's load under the futex bucket lock.
    if (i32[tb + TASK.vforkDone] !== -1) this.futex.wakeKernel(tb + TASK.vforkDone);
    this.futex.unqueue(run.slot);
    // A thread's CPU time stays its process's: its leader keeps it (the leader keeps its own).
    if (run.tid !== i32[tb + TASK.tgid]) {
      const leader = this.leaderSlot(i32[tb + TASK.tgid]!);
      if (leader >= 0) Atomics.add(i32, layout.taskBase(leader) + TASK.deadThreadTicks, Atomics.load(i32, tb + TASK.cpuTicks));
    }
    const group = i32[tb + TASK.groupExit]!;
    const status = (group & GROUP_EXIT_SET) !== 0 ? group & GROUP_STATUS : code;
    i32[tb + TASK.exitCode] = status;
    // init's end is the machine's exit status, as a shell would show it (a fault killing init too).
    if (run.tid === 1 && (group & GROUP_EXIT_SET) === 0) Atomics.store(i32, layout.kglobals + KGLOBALS.initExit, shellStatus(status));
    this.sched.remove(run);
    this.fs.exitFiles(run);
    this.mms.put(run.mm);
    // The stack's mappings are global: freeing it flushes it from every CPU.
    this.vmalloc.vfree(i32[tb + TASK.kernelStack]! >>> 0, THREAD_PAGES);
    i32[tb + TASK.kernelStack] = 0;
    Atomics.sub(i32, layout.percpuBase(cpu) + PERCPU.nrTasks, 1);
    this.releaseSlot(run);
    // ORDERING: the last task's decrement sees every other exit's; it powers the machine off.
    if (Atomics.sub(i32, layout.kglobals + KGLOBALS.liveTasks, 1) === 1) {
      machine.powerOff(Atomics.load(i32, layout.kglobals + KGLOBALS.initExit));
    }
  }
}
