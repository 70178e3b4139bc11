/**
 * Task lifecycle: the task table in guest memory, clone (threads sharing an mm), exit and
 * exit_group, placement on CPUs. Runs on a vCPU worker; any CPU may create a task for another.
 */
import { GuestSegfault } from '../errors.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { EAGAIN, EFAULT, EINVAL, ENOSYS } from './errno.js';
import type { Futexes } from './futex.js';
import { KGLOBALS, MAX_TASKS, PERCPU, TASK, TaskState } from './layout.js';
import type { AddressSpaces } from './mm.js';
import type { Scheduler, TaskRun } from './sched.js';
import {
  CLONE_CHILD_CLEARTID, CLONE_PARENT_SETTID, CLONE_SIGHAND, CLONE_THREAD, CLONE_VM, SYSCALL_BLOCKED,
} from './syscall-numbers.js';
import { spinLock, spinUnlock } from './sync.js';
import type { Vmalloc } from './vmalloc.js';
import { ENOMEM } from './errno.js';

/** Kernel stack: THREAD_SIZE, 8 KiB on i386, vmalloc'd (CONFIG_VMAP_STACK). */
export const THREAD_PAGES = 2;

export class Tasks {
  constructor(
    private readonly k: KernelContext,
    private readonly sched: Scheduler,
    private readonly mms: AddressSpaces,
    private readonly futex: Futexes,
    private readonly vmalloc: Vmalloc,
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

  /** Fill a claimed slot and make the task runnable on its CPU. */
  private start(slot: number, tid: number, tgid: number, mm: MmRef, cpu: number, userSp: number, clearChildTid: number, stack: number): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(slot);
    i32[tb + TASK.kernelStack] = stack;
    i32[tb + TASK.cpu] = cpu;
    i32[tb + TASK.tid] = tid;
    i32[tb + TASK.tgid] = tgid;
    i32[tb + TASK.mm] = mm;
    i32[tb + TASK.userSp] = userSp;
    i32[tb + TASK.clearChildTid] = clearChildTid;
    i32[tb + TASK.futexAddr] = 0;
    i32[tb + TASK.killed] = 0;
    i32[tb + TASK.wakeResult] = 0;
    i32[tb + TASK.groupExit] = 0;
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
    if (slot < 0 || stack === 0) return false;
    const tid = Atomics.add(this.k.i32, this.k.layout.kglobals + KGLOBALS.nextTid, 1);
    this.start(slot, tid, tid, mm, this.k.cpu, 0, 0, stack);
    return true;
  }

  /**
   * clone(flags, newsp, parent_tid, tls, child_tid). Threads (CLONE_VM) share the mm; the child
   * starts on `newsp`. Fork-style clone (no CLONE_VM) needs copy-on-write address-space
   * duplication and is not in this kernel yet: -ENOSYS.
   */
  clone(parent: TaskRun, flags: number, newsp: number, parentTid: number, childTid: number): number {
    const { i32, layout, user } = this.k;
    if ((flags & CLONE_THREAD) !== 0 && (flags & CLONE_SIGHAND) === 0) return -EINVAL;
    if ((flags & CLONE_SIGHAND) !== 0 && (flags & CLONE_VM) === 0) return -EINVAL;
    if ((flags & CLONE_VM) === 0) return -ENOSYS;
    if (newsp === 0) return -EINVAL;
    const slot = this.allocSlot();
    if (slot < 0) return -EAGAIN;
    const stack = this.vmalloc.vmalloc(THREAD_PAGES);
    if (stack === 0) {
      Atomics.store(i32, layout.taskBase(slot) + TASK.state, TaskState.Free);
      return -ENOMEM;
    }
    const tid = Atomics.add(i32, layout.kglobals + KGLOBALS.nextTid, 1);
    const ptb = layout.taskBase(parent.slot);
    if ((flags & CLONE_PARENT_SETTID) !== 0) {
      try {
        user.atomicStore32(parentTid, tid);
      } catch (e) {
        Atomics.store(i32, layout.taskBase(slot) + TASK.state, TaskState.Free);
        this.vmalloc.vfree(stack, THREAD_PAGES);
        if (e instanceof GuestSegfault) return -EFAULT;
        throw e;
      }
    }
    this.mms.get(parent.mm);
    const tgid = (flags & CLONE_THREAD) !== 0 ? i32[ptb + TASK.tgid]! : tid;
    this.start(slot, tid, tgid, parent.mm, this.placeTask(), newsp >>> 0, (flags & CLONE_CHILD_CLEARTID) !== 0 ? childTid : 0, stack);
    return tid;
  }

  /** exit: end this task once its system call returns to the scheduler. */
  exit(run: TaskRun, code: number): number {
    run.exiting = true;
    run.exitCode = code & 0xff;
    return SYSCALL_BLOCKED;
  }

  /** exit_group: every thread of the process dies; this one with it. */
  exitGroup(run: TaskRun, code: number): number {
    const { i32, layout } = this.k;
    const tgid = i32[layout.taskBase(run.slot) + TASK.tgid]!;
    if (tgid === 1) Atomics.store(i32, layout.kglobals + KGLOBALS.initExit, code & 0xff);
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (s === run.slot || i32[tb + TASK.tgid] !== tgid) continue;
      const state = Atomics.load(i32, tb + TASK.state);
      if (state !== TaskState.Running && state !== TaskState.Sleeping) continue;
      Atomics.store(i32, tb + TASK.killed, 1);
      // A sleeping thread must run to notice; a running one notices at its next preemption point.
      if (state === TaskState.Sleeping && this.futex.unqueue(s)) this.sched.wakeUp(s, 0);
      else if (state === TaskState.Sleeping) this.sched.wakeUp(s, 0);
    }
    return this.exit(run, code);
  }

  killed(run: TaskRun): boolean {
    return Atomics.load(this.k.i32, this.k.layout.taskBase(run.slot) + TASK.killed) !== 0;
  }

  /** do_exit: release everything the task holds. Runs on the task's own CPU, at a scheduling point. */
  doExit(run: TaskRun, code: number): void {
    const { i32, layout, user, cpu, machine } = this.k;
    const tb = layout.taskBase(run.slot);
    const ctid = i32[tb + TASK.clearChildTid]!;
    if (ctid !== 0) {
      // mm_release: clear the child tid word and wake a joiner (pthread_join).
      try {
        user.atomicStore32(ctid, 0);
        this.futex.wake(run.mm, ctid, 1);
      } catch (e) {
        if (!(e instanceof GuestSegfault)) throw e;
      }
    }
    this.futex.unqueue(run.slot);
    i32[tb + TASK.exitCode] = code;
    this.sched.remove(run);
    this.mms.put(run.mm);
    // The stack's mappings are global: freeing it flushes it from every CPU.
    this.vmalloc.vfree(i32[tb + TASK.kernelStack]! >>> 0, THREAD_PAGES);
    i32[tb + TASK.kernelStack] = 0;
    Atomics.sub(i32, layout.percpuBase(cpu) + PERCPU.nrTasks, 1);
    Atomics.store(i32, tb + TASK.state, TaskState.Free);
    // ORDERING: the last task's decrement sees every other exit's; it powers the machine off.
    if (Atomics.sub(i32, layout.kglobals + KGLOBALS.liveTasks, 1) === 1) {
      machine.powerOff(Atomics.load(i32, layout.kglobals + KGLOBALS.initExit));
    }
  }
}
