/**
 * The scheduler of one CPU: its run queue, the wake list other CPUs push wakeups onto, timed
 * sleepers, and the switch between tasks (and their address spaces). Tasks never migrate: a
 * task's program is a generator living in this worker, so it runs where it was placed.
 * Runs on the vCPU worker of this CPU.
 *
 * Waking a task on another CPU (try_to_wake_up with ttwu_queue):
 *   waker: wakeResult := r; CAS(state, Sleeping -> Running); llist_add(target.wakeList, task);
 *          if the list was empty, RESCHEDULE IPI to the target.
 *   target (IPI handler or its loop): llist_del_all(wakeList); put each task on the run queue.
 * Only one waker wins the CAS, so a task is queued once per sleep. The sleeper publishes
 * Sleeping (under the futex bucket lock, or before arming its timer) before it yields BLOCK;
 * the scheduler then takes it off the run queue only if it is still Sleeping.
 */
import { RESCHEDULE_VECTOR } from '../hw/apic.js';
import { VcpuActivity } from '../hw/layout.js';
import type { Paddr } from '../hw/types.js';
import { CpuMask } from '../pv/cpumask.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { MM, PERCPU, TASK, TaskState } from './layout.js';
import type { GuestThread } from '../uapi/program.js';
import type { TlbFlusher } from './tlbflush.js';

/**
 * copy_thread for a clone: save the parent's user context for the child at `kernelStackTop`
 * (childregs), with a0 = 0, sp = newsp (the parent's own when 0), tp = tls when `setTls`, pc
 * past the ECALL. Returns the stack pointer the child starts with.
 */
export type CopyThread = (kernelStackTop: number, newsp: number, tls: number, setTls: boolean) => number;

/**
 * A riscv32 task's user registers as riscv Linux's struct user_regs_struct lays them out —
 * pc, then x1..x31 — which is also sigcontext's sc_regs: what the signal code saves in a
 * frame and restores from one.
 */
export interface UserRegs {
  /** Copy the registers into `out` (32 words). */
  read(out: Int32Array): void;
  /** Load the registers from `regs` (32 words). */
  write(regs: Int32Array): void;
}

/** A task as its CPU's scheduler holds it (worker-local; the shared part is TASK in guest RAM). */
export class TaskRun {
  /** The program; created when the task first runs. */
  thread: GuestThread | null = null;
  /** Value to resume the program with (a blocked system call's result). */
  resume = 0;
  onRq = false;
  /** Set by exit / exit_group: end the task at the next scheduling point. */
  exiting = false;
  /** The wait status it ends with (wait4's encoding: src/uapi/wait.ts). */
  exitCode = 0;
  /** Guest ns deadline while in the timed-sleeper list, else 0. */
  wakeAt = 0;
  /**
   * Set by a riscv32 task's program: copy_thread, which writes the caller's user registers
   * (at its current ECALL) for a new thread to the top of the child's kernel stack, with the
   * child's fix-ups. Null for TypeScript programs, which start from their stack instead.
   */
  copyThread: CopyThread | null = null;
  /** A riscv32 task's registers, for signal frames and sigaltstack; null for TypeScript programs. */
  userRegs: UserRegs | null = null;
  /**
   * What the call this task sleeps in returns if a signal interrupts it: -ERESTARTSYS (the
   * handler's SA_RESTART decides between restarting and -EINTR) unless the call says
   * -ERESTARTNOHAND (always -EINTR after a handler: sleeps, poll, sigsuspend). Reset at entry.
   */
  interrupted = 0;
  /** A CLONE_VFORK child this task waits to let go of the address space (Tasks.clone). */
  vforkChild: { slot: number; tid: number } | null = null;
  /** Run when a signal interrupts the call (nanosleep writes the time left). Reset at entry. */
  onInterrupt: (() => void) | null = null;
  /**
   * The blocked mask to put back on return to user mode (TIF_RESTORE_SIGMASK's saved_sigmask),
   * set by sigsuspend, ppoll and pselect while they sleep with the caller's temporary mask;
   * a signal frame saves it instead of the temporary one.
   */
  savedMask: [number, number] | null = null;
  /**
   * The system call this task sleeps in runs again from the start when it is woken (the
   * kernel's -ERESTARTSYS): set by the call as it blocks, cleared at every system-call entry.
   */
  restartable = false;
  /**
   * What a restarted call must not redo or re-derive (Linux's restart_block): bytes of a
   * blocking write already done, and a poll's absolute deadline (guest ns, 0 = none). Reset
   * when a call returns to user mode.
   */
  restartProgress = 0;
  restartDeadline = 0;

  constructor(readonly slot: number, readonly tid: number, readonly mm: MmRef) {}
}

export class Scheduler {
  readonly runqueue: TaskRun[] = [];
  private readonly tasks = new Map<number, TaskRun>();
  private readonly sleepers: TaskRun[] = [];
  private readonly oneCpu = new CpuMask();
  current: TaskRun | null = null;
  needResched = false;

  constructor(private readonly k: KernelContext, private readonly flusher: TlbFlusher) {}

  /** The TaskRun for a slot assigned to this CPU, creating it on first sight. */
  private taskFor(slot: number): TaskRun {
    let run = this.tasks.get(slot);
    if (run === undefined) {
      const tb = this.k.layout.taskBase(slot);
      run = new TaskRun(slot, this.k.i32[tb + TASK.tid]!, this.k.i32[tb + TASK.mm]! as MmRef);
      this.tasks.set(slot, run);
    }
    return run;
  }

  /**
   * wake_up_process: make a sleeping (or new) task runnable, wherever it lives. Returns false if
   * it was not sleeping. Any CPU may call this.
   */
  wakeUp(slot: number, result: number): boolean {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(slot);
    // Exactly one waker acts per sleep (see the header), so this store cannot race another.
    i32[tb + TASK.wakeResult] = result;
    // ORDERING: the CAS publishes wakeResult; pairs with the sleeper's Atomics.store(Sleeping)
    // and with drainWakeList's Atomics.exchange.
    if (Atomics.compareExchange(i32, tb + TASK.state, TaskState.Sleeping, TaskState.Running) !== TaskState.Sleeping) {
      return false;
    }
    this.enqueue(slot);
    return true;
  }

  /** Queue a runnable task on its CPU: locally, or via its wake list and a RESCHEDULE IPI. */
  enqueue(slot: number): void {
    const { i32, layout, cpu, ops } = this.k;
    const tb = layout.taskBase(slot);
    const target = i32[tb + TASK.cpu]!;
    if (target === cpu) {
      this.activate(slot);
      return;
    }
    const head = layout.percpuBase(target) + PERCPU.wakeList;
    for (;;) {
      const old = Atomics.load(i32, head);
      Atomics.store(i32, tb + TASK.wakeNext, old);
      // ORDERING: publishes the task (and wakeResult); pairs with drainWakeList's exchange.
      if (Atomics.compareExchange(i32, head, old, slot + 1) === old) {
        if (old === 0) {
          this.oneCpu.assign(0, 0);
          this.oneCpu.set(target);
          ops.apic.sendIpiMask(this.oneCpu, RESCHEDULE_VECTOR);
        }
        return;
      }
    }
  }

  /** Take every task other CPUs woke for us. Interrupt context or the run loop. */
  drainWakeList(): void {
    const { i32, layout, cpu } = this.k;
    const head = layout.percpuBase(cpu) + PERCPU.wakeList;
    // Cheap test first: the run loop calls this on every step.
    if (Atomics.load(i32, head) === 0) return;
    // ORDERING: llist_del_all; pairs with enqueue's compareExchange.
    let entry = Atomics.exchange(i32, head, 0);
    while (entry !== 0) {
      const slot = entry - 1;
      entry = Atomics.load(i32, layout.taskBase(slot) + TASK.wakeNext);
      this.activate(slot);
    }
  }

  private activate(slot: number): void {
    const run = this.taskFor(slot);
    if (run.wakeAt !== 0) this.cancelTimer(run);
    run.resume = this.k.i32[this.k.layout.taskBase(slot) + TASK.wakeResult]!;
    if (run.onRq) return;
    run.onRq = true;
    this.runqueue.push(run);
    if (this.runqueue.length > 1) this.needResched = true;
  }

  /** The current task's system call decided to sleep: publish Sleeping (before yielding BLOCK). */
  prepareToSleep(run: TaskRun): void {
    // ORDERING: pairs with wakeUp's compareExchange from Sleeping.
    Atomics.store(this.k.i32, this.k.layout.taskBase(run.slot) + TASK.state, TaskState.Sleeping);
  }

  /** Arm a timed wakeup for a task that is about to sleep (nanosleep, futex timeout). */
  armTimer(run: TaskRun, deadlineNs: number): void {
    run.wakeAt = Math.max(1, deadlineNs);
    this.sleepers.push(run);
  }

  private cancelTimer(run: TaskRun): void {
    run.wakeAt = 0;
    const i = this.sleepers.indexOf(run);
    if (i >= 0) this.sleepers.splice(i, 1);
  }

  /** Timer tick: time-slice, and wake timed sleepers whose deadline passed. `onExpire` may unlink them first. */
  tick(onExpire: (run: TaskRun) => void): void {
    if (this.runqueue.length > 1) this.needResched = true;
    if (this.sleepers.length === 0) return;
    const now = this.k.ops.time.schedClock();
    for (let i = this.sleepers.length - 1; i >= 0; i--) {
      const run = this.sleepers[i]!;
      if (now >= run.wakeAt) {
        this.sleepers.splice(i, 1);
        run.wakeAt = 0;
        onExpire(run);
      }
    }
  }

  /** The task to run next, switching to it (and its mm) if it is not current; null when idle. */
  pickNext(): TaskRun | null {
    const rq = this.runqueue;
    if (rq.length === 0) return null;
    if (this.needResched) {
      this.needResched = false;
      if (rq.length > 1) rq.push(rq.shift()!);
    }
    const next = rq[0]!;
    if (this.current !== next) this.switchTo(next);
    return next;
  }

  private switchTo(next: TaskRun): void {
    const { i32, activity, counters } = this.k;
    if (this.current !== null) counters.contextSwitches++;
    this.current = next;
    activity.task(next.tid);
    this.flusher.switchMm(next.mm, i32[(next.mm >>> 2) + MM.pgd]! as Paddr);
  }

  /**
   * The task yielded BLOCK but must not sleep (it was killed): make it Running again itself,
   * resuming with `result`, and leave it on the run queue. False if a waker already did.
   */
  cancelSleep(run: TaskRun, result: number): boolean {
    const tb = this.k.layout.taskBase(run.slot);
    // ORDERING: as a waker would (wakeUp): only one of us wins the Sleeping -> Running CAS.
    if (Atomics.compareExchange(this.k.i32, tb + TASK.state, TaskState.Sleeping, TaskState.Running) !== TaskState.Sleeping) return false;
    if (run.wakeAt !== 0) this.cancelTimer(run);
    run.resume = result;
    return true;
  }

  /** The task blocked: take it off the run queue unless a waker already made it runnable. */
  blocked(run: TaskRun): void {
    // ORDERING: pairs with wakeUp's compareExchange; if it already ran, the task stays queued.
    if (Atomics.load(this.k.i32, this.k.layout.taskBase(run.slot) + TASK.state) !== TaskState.Sleeping) {
      run.resume = this.k.i32[this.k.layout.taskBase(run.slot) + TASK.wakeResult]!;
      return;
    }
    this.dequeue(run);
  }

  private dequeue(run: TaskRun): void {
    run.onRq = false;
    const i = this.runqueue.indexOf(run);
    if (i >= 0) this.runqueue.splice(i, 1);
    if (this.current === run) this.current = null;
  }

  /** The task is gone: forget it. */
  remove(run: TaskRun): void {
    this.dequeue(run);
    if (run.wakeAt !== 0) this.cancelTimer(run);
    this.tasks.delete(run.slot);
  }

  /** No task to run: go lazy (keep the mm), then sleep until an interrupt or `timeoutMs`. */
  idle(timeoutMs: number): void {
    const { activity, ops } = this.k;
    this.current = null;
    activity.task(0);
    this.flusher.enterLazy();
    activity.set(VcpuActivity.Halted);
    ops.irq.safeHalt(timeoutMs);
    activity.set(VcpuActivity.Kernel);
  }

  /** Tasks this CPU knows of (run queue and sleeping), for diagnostics. */
  get taskCount(): number {
    return this.tasks.size;
  }
}
