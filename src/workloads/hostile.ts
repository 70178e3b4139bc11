/**
 * The `hostile` workload: a guest that attacks its hypervisor and its own kernel, and checks
 * that it gets an error code or a fault every time and that nothing else changed.
 *
 * 1. Thread 0 makes the kernel misbehave through LKDTM (src/kernel/lkdtm.ts): map its own page
 *    directory writable, map a frame past the end of RAM and one the hypervisor reserved, load a
 *    directory no one validated, interrupt CPUs that do not exist. After each it probes from
 *    user mode and prints one line, `hostile: NAME: OUTCOME`, which the tests read per backend.
 * 2. Every thread then passes nonsense to every system call — kernel and unmapped addresses,
 *    misaligned and wrapping ranges, huge lengths, unknown flags and numbers — until the run
 *    ends. Each must come back with a result or -errno (-4095..-1). The attacks are fenced:
 *    address ranges and pointers the kernel would write through are moved into an arena at the
 *    top of user space (reserved PROT_NONE in setup), so that a call doing what it was asked
 *    cannot hit the harness's own memory; kernel addresses and ranges running past USER_TOP are
 *    passed unchanged, and those the kernel must refuse.
 * 3. At the end every thread checks pages it stamped before the barrage, and thread 0 checks
 *    that its probe page works as fresh anonymous memory again.
 * Calls that would end the task or sleep without bound (exit, exit_group, clone, a futex wait,
 * a nanosleep from arena memory) are left out. Guest code.
 */
import { GuestSegfault, type FaultSignal } from '../lib/errors.js';
import { APIC_ESR_SENDACC, APIC_ESR_SENDILL } from '../hw/apic.js';
import { PAGE_SIZE, PAGE_OFFSET, USER_TOP } from '../hw/paging.js';
import { EIO, ENODEV, EPERM } from '../uapi/errno.js';
import { LKDTM_IPI_NO_CPU, LKDTM_LOAD_UNVALIDATED_PD, LKDTM_MAP_BEYOND_RAM, LKDTM_MAP_RESERVED, LKDTM_PT_WRITABLE, LKDTM_UNMAP } from '../uapi/lkdtm.js';
import * as nr from '../uapi/unistd.js';
import { FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_WAKE } from '../uapi/futex.js';
import { SYSCALL_BLOCKED } from '../uapi/program.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import { CTL_TIDS, type WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { BLOCK, PREEMPT, type GuestThread, type Workload } from './workload.js';

/** The arena the barrage may change: the top 256 MiB of user space. */
export const ARENA_BASE = 0xb0000000;
const ARENA_BYTES = USER_TOP - ARENA_BASE;
const MAX_ERRNO = 4095;
/** The futex operations the barrage may use: none of them sleeps. */
const FUTEX_NONBLOCKING_OPS = [FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE] as const;
/** The workload word counting threads that have mapped their own memory (the barrage waits for all). */
const MAPPED_WORD = 0;

/** Argument values a hostile guest would try. */
const NASTY = [
  0, 1, -1, 0x7fffffff, 0x80000000 | 0, 0xffffffff | 0, 0xc0000000 | 0, 0xf0000000 | 0, 0xbffff000 | 0,
  0xbfffffff | 0, 0x1000, 0x10000, 0x10000001, 0xfff, 4095, 4097, 0x40000000, -4096, 0xb0001000 | 0, 0xb7654321 | 0,
] as const;

/**
 * The calls of the barrage, and which arguments are addresses the kernel may change memory at
 * (a range it maps, unmaps or reprotects, or a pointer it stores through): those are fenced.
 */
const CALLS: ReadonlyArray<{ nr: number; fenced: readonly number[] }> = [
  { nr: nr.SYS_mmap, fenced: [0] },
  { nr: nr.SYS_munmap, fenced: [0] },
  { nr: nr.SYS_mprotect, fenced: [0] },
  { nr: nr.SYS_madvise, fenced: [0] },
  { nr: nr.SYS_brk, fenced: [] },
  { nr: nr.SYS_write, fenced: [] },
  { nr: nr.SYS_clock_gettime, fenced: [1] },
  { nr: nr.SYS_getpid, fenced: [] },
  { nr: nr.SYS_gettid, fenced: [] },
  { nr: nr.SYS_set_tid_address, fenced: [0] },
  { nr: nr.SYS_membarrier, fenced: [] },
  { nr: nr.SYS_wait4, fenced: [1, 3] },
  { nr: nr.SYS_waitid, fenced: [2, 4] },
  { nr: nr.SYS_getrusage, fenced: [1] },
  { nr: nr.SYS_getppid, fenced: [] },
  { nr: nr.SYS_clock_getres_time64, fenced: [1] },
  { nr: nr.SYS_futex, fenced: [] },
  { nr: nr.SYS_nanosleep, fenced: [] },
  { nr: nr.SYS_sched_yield, fenced: [] },
  // Files: buffers the kernel stores into are fenced; paths and iovecs it only reads are not.
  { nr: nr.SYS_read, fenced: [1] },
  { nr: nr.SYS_writev, fenced: [] },
  { nr: nr.SYS_openat, fenced: [] },
  { nr: nr.SYS_close, fenced: [] },
  { nr: nr.SYS_dup3, fenced: [] },
  { nr: nr.SYS_fcntl64, fenced: [] },
  { nr: nr.SYS_llseek, fenced: [3] },
  { nr: nr.SYS_ftruncate, fenced: [] },
  { nr: nr.SYS_fstat, fenced: [1] },
  { nr: nr.SYS_unlinkat, fenced: [] },
  { nr: nr.SYS_pipe2, fenced: [0] },
  { nr: nr.SYS_dup, fenced: [] },
  { nr: nr.SYS_pread64, fenced: [1] },
  { nr: nr.SYS_pwrite64, fenced: [] },
  { nr: nr.SYS_fallocate, fenced: [] },
  { nr: nr.SYS_fadvise64_64, fenced: [] },
  { nr: nr.SYS_sync_file_range, fenced: [] },
  { nr: nr.SYS_truncate, fenced: [] },
  { nr: nr.SYS_statx, fenced: [4] },
  { nr: nr.SYS_getdents64, fenced: [1] },
  { nr: nr.SYS_mkdirat, fenced: [] },
  { nr: nr.SYS_symlinkat, fenced: [] },
  { nr: nr.SYS_readlinkat, fenced: [2] },
  { nr: nr.SYS_renameat2, fenced: [] },
  { nr: nr.SYS_faccessat, fenced: [] },
  { nr: nr.SYS_faccessat2, fenced: [] },
  { nr: nr.SYS_chdir, fenced: [] },
  { nr: nr.SYS_fchdir, fenced: [] },
  { nr: nr.SYS_getcwd, fenced: [0] },
  { nr: nr.SYS_umask, fenced: [] },
  // The new limit is only read; the old one is stored.
  { nr: nr.SYS_prlimit64, fenced: [3] },
  { nr: nr.SYS_ppoll_time64, fenced: [0] },
  { nr: nr.SYS_pselect6_time64, fenced: [1, 2, 3] },
  // Both the old range and MREMAP_FIXED's new address: a move onto an unfenced address would
  // unmap whatever the workload keeps there (its threads' stacks, the control block).
  { nr: nr.SYS_mremap, fenced: [0, 4] },
  // Not implemented, or not a system call at all: -ENOSYS.
  { nr: 0, fenced: [] },
  { nr: 39, fenced: [] },
  { nr: 400, fenced: [] },
  { nr: 1000, fenced: [] },
  { nr: 0x7fffffff, fenced: [] },
  { nr: -1, fenced: [] },
];

/** A user address below the arena moves into it; kernel addresses and arena addresses stay. */
function fence(a: number): number {
  const u = a >>> 0;
  if (u >= USER_TOP || u >= ARENA_BASE) return a;
  return (ARENA_BASE + (u % ARENA_BYTES)) | 0;
}

/** What a user access to `va` did: the byte read, or the signal it raised. */
function probeRead(sys: Sys, va: number): number | FaultSignal {
  try {
    return sys.load8(va);
  } catch (e) {
    if (e instanceof GuestSegfault) return e.signal;
    throw e;
  }
}

/**
 * One mapping attack: have the kernel install `cmd`'s PTE at `probe`, read (and, if readable,
 * write back) through it, take it down. Returns the outcome line's text.
 */
function mappingAttack(sys: Sys, ctx: WorkloadContext, name: string, cmd: number, probe: number): string {
  const r = sys.syscall(nr.SYS_lkdtm, cmd, probe);
  let outcome: string;
  if (r === -EPERM) outcome = 'refused';
  else if (r === -ENODEV) outcome = 'not applicable';
  else if (r !== 0) outcome = `error ${r}`;
  else {
    const read = probeRead(sys, probe);
    if (typeof read === 'number') {
      const wrote = sys.tryStore8(probe, read);
      outcome = wrote ? 'mapped, read and write allowed' : 'mapped, read allowed, write faulted';
    } else {
      outcome = `mapped, access raised ${read}`;
    }
  }
  const undo = sys.syscall(nr.SYS_lkdtm, LKDTM_UNMAP, probe);
  if (undo !== 0) ctx.fail(`hostile: ${name}: could not take the mapping down (${undo})`);
  return outcome;
}

function* attackHypervisor(sys: Sys, ctx: WorkloadContext, probe: number): GuestThread {
  const say = (name: string, outcome: string): void => { sys.print(`hostile: ${name}: ${outcome}\n`); };

  const pt = mappingAttack(sys, ctx, 'pt_writable', LKDTM_PT_WRITABLE, probe);
  say('pt_writable', pt);
  // The directory is the guest's own memory: a backend may refuse the mapping or allow it, but
  // a machine check would mean it treated guest RAM as not there.
  if (pt !== 'refused' && pt !== 'mapped, read and write allowed') ctx.fail(`hostile: pt_writable: ${pt}`);
  yield PREEMPT;

  const beyond = mappingAttack(sys, ctx, 'map_beyond_ram', LKDTM_MAP_BEYOND_RAM, probe);
  say('map_beyond_ram', beyond);
  if (beyond !== 'refused' && beyond !== 'mapped, access raised SIGBUS') ctx.fail(`hostile: map_beyond_ram: ${beyond}`);
  yield PREEMPT;

  const reserved = mappingAttack(sys, ctx, 'map_reserved', LKDTM_MAP_RESERVED, probe);
  say('map_reserved', reserved);
  if (reserved !== 'refused' && reserved !== 'not applicable' && reserved !== 'mapped, access raised SIGBUS') {
    ctx.fail(`hostile: map_reserved: ${reserved}`);
  }
  yield PREEMPT;

  const pd = sys.syscall(nr.SYS_lkdtm, LKDTM_LOAD_UNVALIDATED_PD, probe);
  const pdOutcome = pd === -EPERM ? 'refused' : pd === -EIO ? 'loaded, access raised SIGBUS' : `result ${pd}`;
  say('load_unvalidated_pd', pdOutcome);
  if (pd !== -EPERM && pd !== -EIO) ctx.fail(`hostile: load_unvalidated_pd: ${pdOutcome}`);
  yield PREEMPT;

  const esr = sys.syscall(nr.SYS_lkdtm, LKDTM_IPI_NO_CPU, 0);
  const want = APIC_ESR_SENDACC | APIC_ESR_SENDILL;
  say('ipi_no_cpu', `ESR 0x${esr.toString(16)}`);
  if ((esr & want) !== want) ctx.fail(`hostile: ipi_no_cpu: ESR 0x${esr.toString(16)}, expected send-accept and send-illegal-vector errors`);

  // mmap_min_addr: a fixed mapping of the first pages is refused.
  const low = sys.mmap(0x1000, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  say('map_fixed_low', low < 0 ? `refused (${low})` : `mapped at 0x${(low >>> 0).toString(16)}`);
  if (low >= 0) ctx.fail('hostile: MAP_FIXED at 0x1000 (below mmap_min_addr) succeeded');
  return 0;
}

export const hostileWorkload: Workload = Object.freeze({
  name: 'hostile',
  description: 'hostile guest: LKDTM attacks on the hypervisor (PT frame writable, frames past RAM or reserved, unvalidated CR3, IPIs to no CPU), then nonsense to every system call',
  params: Object.freeze([]),

  *setup(sys: Sys, ctx: WorkloadContext): GuestThread {
    const arena = sys.mmap(ARENA_BASE, ARENA_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    if (arena !== ARENA_BASE) ctx.fail(`hostile: cannot reserve the arena at 0x${ARENA_BASE.toString(16)} (${arena})`);
    return 0;
  },

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    const pages = 4;
    // Its pages and the probe page in one mapping: an address space has 256 VMAs here (no
    // merging of neighbours), and at 64 threads each one's stack, pages, probe and scratch page
    // must fit beside the control block and the arena.
    const mine = sys.mmap(0, (pages + 1) * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (mine < 0) {
      ctx.fail(`hostile: thread ${index}: mmap failed (${mine})`);
      return 1;
    }
    const probe = mine + pages * PAGE_SIZE;
    const stamp = (k: number): number => (index << 16) ^ (k * 0x9e37) ^ 0x5a5a;
    for (let k = 0; k < pages; k++) sys.store32(mine + k * PAGE_SIZE, stamp(k));
    // Map the scratch page (timespecs, console text) now, below the arena, not in a hole the
    // barrage may have opened in it.
    sys.clockGettime();
    // Every thread has its memory before any barrage starts: the barrage's mprotects split the
    // arena into VMAs until the address space's table is full (-ENOMEM is a right answer to
    // them), and a thread still mapping its own pages then would find no slot left.
    const mapped = ctx.word(MAPPED_WORD);
    sys.atomicAdd32(mapped, 1);
    while (sys.atomicLoad32(mapped) < ctx.threads && ctx.running()) yield PREEMPT;
    if (index === 0) yield* attackHypervisor(sys, ctx, probe);

    // Our CLONE_CHILD_CLEARTID word, to put back after each fuzzed set_tid_address (the join
    // waits on it). Thread indices are arrival order, so find it by our tid.
    const tid = sys.gettid();
    let ownTid = 0;
    for (let i = 0; i < ctx.threads && ownTid === 0; i++) {
      if (sys.atomicLoad32(ctx.base + (CTL_TIDS + i) * 4) === tid) ownTid = ctx.base + (CTL_TIDS + i) * 4;
    }
    if (ownTid === 0) ctx.fail(`hostile: thread ${index}: tid ${tid} is in no CLONE_CHILD_CLEARTID word`);
    const random = ctx.random(index);
    const args = [0, 0, 0, 0, 0, 0];
    while (ctx.running()) {
      const call = CALLS[random.next() % CALLS.length]!;
      for (let i = 0; i < 6; i++) args[i] = NASTY[random.next() % NASTY.length]!;
      for (const i of call.fenced) args[i] = fence(args[i]!);
      // Keep blocking calls bounded: only wakes and requeues, only WNOHANG, only timespecs that
      // cannot be read.
      if (call.nr === nr.SYS_futex) args[1] = (args[1]! & FUTEX_PRIVATE_FLAG) | FUTEX_NONBLOCKING_OPS[(args[1]! >>> 0) % FUTEX_NONBLOCKING_OPS.length]!;
      if (call.nr === nr.SYS_wait4) args[2] = 1; // WNOHANG
      if (call.nr === nr.SYS_waitid) args[3] = args[3]! | 1; // WNOHANG
      if (call.nr === nr.SYS_pselect6_time64 && args[4]! >>> 0 < USER_TOP) args[4] = PAGE_OFFSET;
      if (call.nr === nr.SYS_nanosleep) args[0] = args[0]! >>> 0 >= USER_TOP ? args[0]! : 0;
      // ppoll's timeout only at a kernel address (-EFAULT): a NULL one could sleep for good.
      if (call.nr === nr.SYS_ppoll_time64 && args[2]! >>> 0 < USER_TOP) args[2] = PAGE_OFFSET;
      // The console's stdout carries the attack outcomes the test reads: never closed.
      if (call.nr === nr.SYS_close && (args[0] === 1 || args[0] === 2)) args[0] = 3;
      if (call.nr === nr.SYS_dup3 && (args[1] === 1 || args[1] === 2)) args[1] = 3;
      const r = sys.syscall(call.nr, args[0], args[1], args[2], args[3], args[4], args[5]);
      if (r === SYSCALL_BLOCKED) yield BLOCK;
      else if (r < -MAX_ERRNO) ctx.fail(`hostile: syscall ${call.nr}(${args.slice(0, 4).join(', ')}) returned ${r}, neither a result nor an errno`);
      // Give back what the barrage mapped outside the arena, and keep the exit-time tid clear.
      if (call.nr === nr.SYS_mmap && r > 0 && (r & (PAGE_SIZE - 1)) === 0 && r >>> 0 < ARENA_BASE) sys.munmap(r, args[1]! >>> 0);
      if (call.nr === nr.SYS_set_tid_address && ownTid !== 0) sys.syscall(nr.SYS_set_tid_address, ownTid);
      ctx.opDone(1);
      yield PREEMPT;
    }

    for (let k = 0; k < pages; k++) {
      const v = sys.load32(mine + k * PAGE_SIZE);
      if (v !== stamp(k)) ctx.fail(`hostile: thread ${index}: own page ${k} reads ${v}, expected ${stamp(k)} after the barrage`);
    }
    if (index === 0) {
      // The probe page went through every attack: now it must be plain anonymous memory again.
      const first = probeRead(sys, probe);
      if (first !== 0) ctx.fail(`hostile: probe page reads ${String(first)} after the attacks, expected a fresh zero page`);
      else if (!sys.tryStore8(probe, 0xa5) || sys.load8(probe) !== 0xa5) ctx.fail('hostile: probe page is not writable after the attacks');
    }
    return 0;
  },
});
