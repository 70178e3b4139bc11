/**
 * The OOM killer (mm/oom_kill.c): when a page fault finds no free frame, the process using the
 * most memory — its address space's resident pages and page tables, oom_badness's measure —
 * is killed with SIGKILL, named on the console as Linux names it, and its private memory is
 * reaped at once (the oom_reaper's job), so the fault that ran out can be retried. A process
 * already killed is not chosen again. If the faulting process is the largest, it is the one
 * that dies. Unlike Linux, init may be chosen: a pvemu program is init, and Linux would have
 * nothing left to do but panic. Runs on the faulting task's vCPU, in its page-fault handler.
 */
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { KGLOBALS, MM, TASK, taskLive } from './layout.js';
import { MAX_TASKS } from '../lib/limits.js';
import type { AddressSpaces } from './mm.js';
import type { Tasks } from './task.js';
import { signaledStatus } from '../uapi/wait.js';
import { SIGKILL } from '../uapi/signal.js';
import { PAGE_SIZE } from '../hw/paging.js';
import { spinLock, spinUnlock } from './sync.js';
import { WaitKind } from '../hw/layout.js';
import { TakeWhileWaiting, type WaitSite } from '../hw/wait.js';

/** How many other processes one fault may have killed before its own process is the one to go. */
const OOM_ROUNDS = 4;

/** Waiting for an OOM victim's last threads to exit on other CPUs and give its memory back. */
const OOM_VICTIM_WAIT: WaitSite = {
  kind: WaitKind.OomVictim,
  take: TakeWhileWaiting.IfEnabled,
  describe: (tgid) => `for OOM victim process ${tgid} to exit and free its memory`,
};

export class OomKiller {
  constructor(private readonly k: KernelContext, private readonly tasks: Tasks, private readonly mms: AddressSpaces) {}

  /**
   * pagefault_out_of_memory for a fault in the address space `faulting`: kill the largest
   * process and `retry` the fault, as often as OOM_ROUNDS allows; a victim whose threads still
   * run on other CPUs is waited for. True once `retry` succeeds; false when the faulting
   * process was chosen (or nothing was left to choose): it dies.
   */
  outOfMemory(faulting: MmRef, retry: () => boolean): boolean {
    for (let round = 0; round < OOM_ROUNDS; round++) {
      const victim = this.killLargest(faulting);
      if (victim < 0) return false;
      if (retry()) return true;
      if (this.awaitVictim(victim, retry)) return true;
    }
    return false;
  }

  /**
   * While `tgid` still has a thread on another CPU (one on this CPU cannot run until the fault
   * is done), spin retrying the fault: its exit gives back what the reaper could not take.
   */
  private awaitVictim(tgid: number, retry: () => boolean): boolean {
    const { spinner } = this.k;
    spinner.begin(OOM_VICTIM_WAIT, tgid);
    try {
      while (this.runsElsewhere(tgid)) {
        spinner.pause();
        if (retry()) return true;
      }
      return retry();
    } finally {
      spinner.end();
    }
  }

  private runsElsewhere(tgid: number): boolean {
    const { i32, layout, cpu } = this.k;
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      const state = Atomics.load(i32, tb + TASK.state);
      if (taskLive(state) && i32[tb + TASK.tgid] === tgid && i32[tb + TASK.cpu] !== cpu) return true;
    }
    return false;
  }

  /**
   * select_bad_process and oom_kill_process: the victim's pid, -1 when the faulting process was
   * the one chosen or none could be.
   */
  private killLargest(faulting: MmRef): number {
    const { i32, layout, cpu, spinner } = this.k;
    // select_bad_process under tableLock, taking a reference on the victim's address space
    // there: mm slots are allocated under this lock, so the one chosen cannot be reused.
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    let victim = { tgid: -1, mm: 0, badness: -1 };
    const dying = new Set<number>();
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      if (Atomics.load(i32, tb + TASK.killed) !== 0) dying.add(i32[tb + TASK.tgid]!);
    }
    for (let s = 0; s < MAX_TASKS; s++) {
      const tb = layout.taskBase(s);
      const state = Atomics.load(i32, tb + TASK.state);
      if (!taskLive(state) || dying.has(i32[tb + TASK.tgid]!)) continue;
      const mm = i32[tb + TASK.mm]!;
      const badness = Atomics.load(i32, (mm >>> 2) + MM.rss) + Atomics.load(i32, (mm >>> 2) + MM.ptPages);
      if (badness > victim.badness) victim = { tgid: i32[tb + TASK.tgid]!, mm, badness };
    }
    const held = victim.tgid >= 0 && this.mms.getNotZero(victim.mm as MmRef);
    spinUnlock(i32, lock);
    if (!held) return -1;
    const mm = victim.mm as MmRef;
    const mb = mm >>> 2;
    const kib = (pages: number): number => (pages * PAGE_SIZE) / 1024;
    this.k.machine.console(
      `Out of memory: Killed process ${victim.tgid} total-vm:${this.mms.totalVm(mm) / 1024}kB, ` +
      `anon-rss:${kib(Atomics.load(i32, mb + MM.rss))}kB, file-rss:0kB, shmem-rss:0kB, UID:0 ` +
      `pgtables:${kib(Atomics.load(i32, mb + MM.ptPages))}kB oom_score_adj:0\n`,
    );
    this.tasks.killGroup(victim.tgid, signaledStatus(SIGKILL));
    const self = mm === faulting;
    if (!self) this.mms.oomReap(mm);
    this.mms.put(mm);
    return self ? -1 : victim.tgid;
  }
}
