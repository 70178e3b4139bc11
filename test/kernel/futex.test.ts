/**
 * Futex requeue (src/kernel/futex.ts) stepped on one thread over the fake kernel's real guest
 * memory, bucket locks and MMU, with a recording scheduler: FUTEX_REQUEUE wakes some waiters
 * and moves the rest without waking them, FUTEX_CMP_REQUEUE does nothing when the word moved,
 * a moved waiter is found on its new key (by wake and by a timeout's unqueue), two keys in one
 * hash bucket are walked once, and a word above 2 GiB is found by its waker; FUTEX_WAKE_OP
 * applies its operation and wakes by its comparison. No workers.
 */
import { describe, expect, it } from 'vitest';
import { Futexes } from '../../src/kernel/futex.js';
import { TASK, TaskState } from '../../src/kernel/layout.js';
import { TaskRun, type Scheduler } from '../../src/kernel/sched.js';
import { EAGAIN, EINVAL, ENOSYS } from '../../src/uapi/errno.js';
import { SYSCALL_BLOCKED } from '../../src/uapi/program.js';
import type { MmRef } from '../../src/pv/ops.js';
import { createFakeKernel, userPage } from '../helpers/fake-kernel.js';

/** One CPU with a user page mapped at userPage(0); a scheduler that records wakeups. */
function setup() {
  const k = createFakeKernel({ cpus: 1 });
  const as = k.createAddressSpace();
  as.map(userPage(0), k.allocFrame());
  as.map(HIGH_PAGE, k.allocFrame());
  const cpu = k.cpu(0);
  cpu.switchMm(as);
  const state = (slot: number): number => k.layout.taskBase(slot) + TASK.state;
  const woken: number[] = [];
  const sched = {
    prepareToSleep: (run: TaskRun) => { Atomics.store(k.i32, state(run.slot), TaskState.Sleeping); },
    armTimer: () => {},
    wakeUp: (slot: number) => {
      if (Atomics.compareExchange(k.i32, state(slot), TaskState.Sleeping, TaskState.Running) !== TaskState.Sleeping) return false;
      woken.push(slot);
      return true;
    },
  } as unknown as Scheduler;
  const futex = new Futexes(cpu.ctx, sched);
  const mm = as.mm as number;
  /** Tasks in slots `slots` wait on `uaddr` (which holds 0). */
  const waitOn = (uaddr: number, ...slots: number[]): void => {
    for (const slot of slots) {
      Atomics.store(k.i32, state(slot), TaskState.Running);
      expect(futex.wait(new TaskRun(slot, slot + 1, as.mm as MmRef), mm, uaddr, 0, -1)).toBe(SYSCALL_BLOCKED);
    }
  };
  return { k, futex, mm, woken, waitOn };
}

/** A page just below a main thread's stack top (0xbf000000): above 2 GiB, negative as an int32. */
const HIGH_PAGE = 0xbeffe000;
const A = userPage(0);
const B = userPage(0) + 64;

describe('futex requeue', () => {
  it('wakes nr_wake waiters and moves the rest to the second word unwoken; a wake there finds exactly them', () => {
    const { futex, mm, woken, waitOn } = setup();
    waitOn(A, 1, 2, 3);
    expect(futex.requeue(mm, A, B, 1, 10, undefined)).toBe(3);
    expect(woken).toHaveLength(1);
    const moved = [1, 2, 3].filter((s) => !woken.includes(s));
    expect(futex.wake(mm, A, 10)).toBe(0);
    expect(futex.wake(mm, B, 10)).toBe(2);
    expect(woken.slice(1).sort()).toEqual(moved);
  });

  it('moves at most nr_requeue and leaves the others waiting on the first word', () => {
    const { futex, mm, woken, waitOn } = setup();
    waitOn(A, 1, 2, 3, 4);
    expect(futex.requeue(mm, A, B, 0, 2, undefined)).toBe(2);
    expect(woken).toEqual([]);
    expect(futex.wake(mm, A, 10)).toBe(2);
    expect(futex.wake(mm, B, 10)).toBe(2);
  });

  it('CMP_REQUEUE does nothing and says -EAGAIN when the word no longer holds the expected value', () => {
    const { futex, mm, woken, waitOn } = setup();
    waitOn(A, 1, 2);
    expect(futex.requeue(mm, A, B, 1, 10, 5)).toBe(-EAGAIN);
    expect(woken).toEqual([]);
    expect(futex.requeue(mm, A, B, 1, 10, 0)).toBe(2);
    expect(futex.wake(mm, B, 10)).toBe(1);
  });

  it('a moved waiter whose timeout expires is taken off its new word, so no later wake counts it', () => {
    const { futex, mm, waitOn } = setup();
    waitOn(A, 1);
    expect(futex.requeue(mm, A, B, 0, 1, undefined)).toBe(1);
    expect(futex.unqueue(1)).toBe(true);
    expect(futex.wake(mm, B, 10)).toBe(0);
  });

  it('two words in one hash bucket: every waiter is moved once and found once', () => {
    const { futex, mm, waitOn } = setup();
    // Another word of the page that hashes to A's bucket.
    const bucketOf = (uaddr: number): number => (futex as unknown as { bucket(m: number, u: number): number }).bucket(mm, uaddr);
    let C = 0;
    for (let off = 4; off < 4096 && C === 0; off += 4) if (bucketOf(A + off) === bucketOf(A)) C = A + off;
    expect(C).not.toBe(0);
    waitOn(A, 1, 2, 3);
    expect(futex.requeue(mm, A, C, 0, 10, undefined)).toBe(3);
    expect(futex.wake(mm, A, 10)).toBe(0);
    expect(futex.wake(mm, C, 10)).toBe(3);
  });

  it('finds a waiter on a word above 2 GiB — a main thread\'s stack — whatever the sign the address arrives with', () => {
    const { futex, mm, woken, waitOn } = setup();
    const word = HIGH_PAGE + 0xeb8;
    waitOn(word, 1);
    expect(futex.wake(mm, word >>> 0, 1)).toBe(1);
    expect(woken).toEqual([1]);
    waitOn(word | 0, 2, 3);
    expect(futex.requeue(mm, word >>> 0, A, 1, 1, 0)).toBe(2);
    expect(futex.wake(mm, A, 1)).toBe(1);
  });

  it('refuses a misaligned word and negative counts with -EINVAL', () => {
    const { futex, mm } = setup();
    expect(futex.requeue(mm, A + 2, B, 1, 1, undefined)).toBe(-EINVAL);
    expect(futex.requeue(mm, A, B + 1, 1, 1, undefined)).toBe(-EINVAL);
    expect(futex.requeue(mm, A, B, -1, 1, undefined)).toBe(-EINVAL);
    expect(futex.requeue(mm, A, B, 1, -1, undefined)).toBe(-EINVAL);
  });
});

/** FUTEX_OP(op, oparg, cmp, cmparg) as include/uapi/linux/futex.h builds it. */
function futexOp(op: number, oparg: number, cmp: number, cmparg: number): number {
  return ((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff);
}

describe('futex wake-op', () => {
  it('adds to the second word, wakes the first word\'s waiters, and the second\'s only when the old value passes the comparison', () => {
    const { k, futex, mm, woken, waitOn } = setup();
    const user = k.cpu(0).ctx.user;
    waitOn(A, 1);
    waitOn(B, 2);
    user.store32(B, 5);
    // *B += 3; wake 1 on A; wake 1 on B if old(*B) == 4: it was 5, so B's waiter sleeps on.
    expect(futex.wakeOp(mm, A, B, 1, 1, futexOp(1, 3, 0, 4))).toBe(1);
    expect(user.load32(B)).toBe(8);
    expect(woken).toEqual([1]);
    // *B |= 1 << 4 (FUTEX_OP_OPARG_SHIFT); old 8 > 7: B's waiter wakes.
    expect(futex.wakeOp(mm, A, B, 1, 1, futexOp(2 | 8, 4, 4, 7))).toBe(1);
    expect(user.load32(B)).toBe(24);
    expect(woken).toEqual([1, 2]);
  });

  it('SET, ANDN and XOR with a negative 12-bit argument; an unknown operation is -ENOSYS; a misaligned word -EINVAL', () => {
    const { k, futex, mm } = setup();
    const user = k.cpu(0).ctx.user;
    user.store32(B, 0);
    expect(futex.wakeOp(mm, A, B, 0, 0, futexOp(0, -2, 0, 0))).toBe(0);
    expect(user.load32(B)).toBe(-2);
    expect(futex.wakeOp(mm, A, B, 0, 0, futexOp(3, 1, 0, 0))).toBe(0);
    expect(user.load32(B)).toBe(-2);
    expect(futex.wakeOp(mm, A, B, 0, 0, futexOp(4, 3, 0, 0))).toBe(0);
    expect(user.load32(B)).toBe(-2 ^ 3);
    expect(futex.wakeOp(mm, A, B, 0, 0, futexOp(5, 0, 0, 0))).toBe(-ENOSYS);
    expect(futex.wakeOp(mm, A, B, 0, 0, futexOp(0, 0, 6, 0))).toBe(-ENOSYS);
    expect(futex.wakeOp(mm, A, B + 2, 0, 0, futexOp(0, 0, 0, 0))).toBe(-EINVAL);
  });
});
