/**
 * The `ctxswitch` workload: several processes per vCPU, switched by the timer. Guest code.
 *
 * Each worker thread forks `procs` child processes (placed round robin, so every vCPU holds
 * several). Every process maps the SAME virtual address in its own address space and keeps
 * rewriting its pages there with its own pattern, never making a system call: the only switches
 * are timer-driven, and each is an address-space switch (CR3 write, activate_mm). One op = one
 * page checked and rewritten. A process that ever reads another process's pattern at that
 * address saw a translation that survived a switch — the check. The workers wait for their
 * children (wait4) and fail if any reported bad reads.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import { MAX_MMS, MAX_TASKS } from '../lib/limits.js';
import { ENTRY_CHILD } from './harness.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

/** Every process maps its pages here, so only the address space tells them apart. */
const SAME_VA = 0x70000000;
const stamp = (proc: number, pass: number, k: number): number => ((proc << 24) ^ Math.imul(pass, 0x9e3779b1) ^ k) | 0;

export const ctxswitchWorkload: Workload = Object.freeze({
  name: 'ctxswitch',
  description: 'several processes per vCPU rewrite the same virtual address in their own address spaces, timer-switched',
  params: Object.freeze([
    Object.freeze({ name: 'procs', description: 'child processes each worker thread forks', default: 3, min: 1, max: 8 }),
    Object.freeze({ name: 'pages', description: 'pages each process rewrites', default: 8, min: 1, max: 256 }),
  ]),

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    // The kernel has MAX_TASKS task slots and MAX_MMS address spaces: init and the worker
    // threads take some, so at many vCPUs each thread forks fewer processes than asked.
    const threads = ctx.threads;
    const fit = Math.min(Math.floor((MAX_TASKS - 1 - threads) / threads), Math.floor((MAX_MMS - 1) / threads));
    const procs = Math.max(1, Math.min(ctx.param('procs'), fit));
    if (index === 0 && procs < ctx.param('procs')) {
      sys.print(`ctxswitch: ${procs} processes per thread, not ${ctx.param('procs')}: ${threads} threads fill the kernel's ${MAX_TASKS} task slots\n`);
    }
    const pids: number[] = [];
    for (let p = 0; p < procs; p++) {
      const pid = sys.fork(ENTRY_CHILD, ctx.base, index * 8 + p + 1);
      if (pid < 0) {
        ctx.fail(`ctxswitch: thread ${index}: fork failed (${pid})`);
        break;
      }
      pids.push(pid);
    }
    for (const pid of pids) {
      const reaped = yield* sys.wait4(pid);
      const bad = sys.lastWaitStatus >> 8;
      if (reaped !== pid) ctx.fail(`ctxswitch: thread ${index}: wait4(${pid}) returned ${reaped}`);
      else if (bad !== 0) ctx.fail(`ctxswitch: process ${pid} read another address space's data ${bad} times`);
    }
    return 0;
  },

  entries: Object.freeze([
    /** A child process: rewrite SAME_VA's pages with its own pattern until told to stop. */
    function* proc(sys: Sys, ctx: WorkloadContext, id: number): GuestThread {
      const pages = ctx.param('pages');
      const base = sys.mmap(SAME_VA, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
      if (base !== SAME_VA) return yield* sys.exitGroup(255);
      for (let k = 0; k < pages; k++) sys.store32(base + k * PAGE_SIZE, stamp(id, 0, k));
      let bad = 0;
      let pass = 1;
      let k = 0;
      while (ctx.running()) {
        const va = base + k * PAGE_SIZE;
        if (sys.load32(va) !== stamp(id, pass - 1, k)) bad++;
        sys.store32(va, stamp(id, pass, k));
        ctx.opDone(1);
        if (++k === pages) { k = 0; pass++; }
        yield PREEMPT;
      }
      return yield* sys.exitGroup(Math.min(bad, 254));
    },
  ]),
});
