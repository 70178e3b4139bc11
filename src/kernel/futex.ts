/**
 * Futexes: wait queues keyed by (address space, user address), in guest-memory hash buckets,
 * so a waiter on one CPU and a waker on another meet. Runs on a vCPU worker.
 *
 * The lost-wakeup argument, as in Linux: futex_wait takes the bucket lock, then reads *uaddr and
 * queues itself (and publishes Sleeping) before unlocking; a waker changes *uaddr first, then
 * takes the bucket lock to wake. Either the waiter read the new value (and does not sleep), or
 * it was queued before the waker took the lock (and is woken).
 */
import { GuestSegfault } from '../lib/errors.js';
import type { KernelContext } from './context.js';
import { EAGAIN, EFAULT, EINVAL, ENOSYS, ERESTARTSYS, ETIMEDOUT } from '../uapi/errno.js';
import { FUTEX_OP_ADD, FUTEX_OP_ANDN, FUTEX_OP_CMP_GE, FUTEX_OP_OPARG_SHIFT, FUTEX_OP_OR, FUTEX_OP_SET, FUTEX_OP_XOR } from '../uapi/futex.js';
import { FUTEX_BUCKET, FUTEX_BUCKETS, TASK } from './layout.js';
import type { Scheduler, TaskRun } from './sched.js';
import { SYSCALL_BLOCKED } from '../uapi/program.js';
import { spinLock, spinUnlock } from './sync.js';

/**
 * A futex key's address as the task table stores it: a signed 32-bit word. User addresses
 * reach 0xbfffffff (a main thread's stack is just below 0xbf000000), so the unsigned form a
 * system call hands in would never equal what an Int32Array gives back.
 */
function keyAddr(uaddr: number): number {
  return uaddr | 0;
}

export class Futexes {
  constructor(private readonly k: KernelContext, private readonly sched: Scheduler) {}

  private bucket(mm: number, uaddr: number): number {
    // A multiplicative hash of the key (hash_futex's role).
    const h = Math.imul((uaddr >>> 2) ^ Math.imul(mm, 0x9e3779b1), 0x85ebca6b) >>> 0;
    return this.k.layout.futexBucketBase(h % FUTEX_BUCKETS);
  }

  /** futex_wait: sleep if *uaddr == expected. Returns SYSCALL_BLOCKED, or -errno at once. */
  wait(run: TaskRun, mm: number, uaddr: number, expected: number, timeoutNs: number): number {
    const { i32, cpu, spinner, user } = this.k;
    uaddr = keyAddr(uaddr);
    if ((uaddr & 3) !== 0) return -EINVAL;
    const b = this.bucket(mm, uaddr);
    spinLock(i32, b + FUTEX_BUCKET.lock, cpu, spinner);
    let value: number;
    try {
      value = user.atomicLoad32(uaddr);
    } catch (e) {
      spinUnlock(i32, b + FUTEX_BUCKET.lock);
      if (e instanceof GuestSegfault) return -EFAULT;
      throw e;
    }
    if (value !== (expected | 0)) {
      spinUnlock(i32, b + FUTEX_BUCKET.lock);
      return -EAGAIN;
    }
    return this.queueAndUnlock(run, b, mm, uaddr, timeoutNs);
  }

  /** futex_wake: wake up to `count` waiters on (mm, uaddr). Returns how many. */
  wake(mm: number, uaddr: number, count: number): number {
    uaddr = keyAddr(uaddr);
    if ((uaddr & 3) !== 0) return -EINVAL;
    return this.wakeKey(mm, uaddr, count, 0);
  }

  /**
   * futex_requeue: wake up to `nrWake` waiters on (mm, uaddr), then move up to `nrRequeue` of
   * the rest to wait on (mm, uaddr2) without waking them — pthread_cond_broadcast wakes one
   * waiter and hands the others to the mutex instead of a thundering herd. With `cmp`
   * (FUTEX_CMP_REQUEUE) only if *uaddr still holds it, else -EAGAIN: a waker that changed the
   * word meanwhile makes the caller look again. Returns how many were woken and moved.
   */
  requeue(mm: number, uaddr: number, uaddr2: number, nrWake: number, nrRequeue: number, cmp: number | undefined): number {
    const { i32, layout, user } = this.k;
    uaddr = keyAddr(uaddr);
    uaddr2 = keyAddr(uaddr2);
    if ((uaddr & 3) !== 0 || (uaddr2 & 3) !== 0 || nrWake < 0 || nrRequeue < 0) return -EINVAL;
    const b1 = this.bucket(mm, uaddr);
    const b2 = this.bucket(mm, uaddr2);
    const unlock = this.lockPair(b1, b2);
    if (cmp !== undefined) {
      let value: number;
      try {
        value = user.atomicLoad32(uaddr);
      } catch (e) {
        unlock();
        if (e instanceof GuestSegfault) return -EFAULT;
        throw e;
      }
      if (value !== (cmp | 0)) {
        unlock();
        return -EAGAIN;
      }
    }
    let woken = 0;
    const moved: number[] = [];
    let link = b1 + FUTEX_BUCKET.head;
    let entry = i32[link]!;
    while (entry !== 0 && (woken < nrWake || moved.length < nrRequeue)) {
      const tb = layout.taskBase(entry - 1);
      const next = i32[tb + TASK.futexNext]!;
      if (i32[tb + TASK.futexMm] === mm && i32[tb + TASK.futexAddr] === uaddr) {
        i32[link] = next;
        if (woken < nrWake) {
          i32[tb + TASK.futexAddr] = 0;
          if (this.sched.wakeUp(entry - 1, 0)) woken++;
        } else {
          moved.push(entry);
        }
      } else {
        link = tb + TASK.futexNext;
      }
      entry = next;
    }
    // Onto the second key's list after the walk, so a bucket shared by both keys is not walked twice.
    for (const e of moved) {
      const tb = layout.taskBase(e - 1);
      i32[tb + TASK.futexAddr] = uaddr2;
      i32[tb + TASK.futexNext] = i32[b2 + FUTEX_BUCKET.head]!;
      i32[b2 + FUTEX_BUCKET.head] = e;
    }
    unlock();
    return woken + moved.length;
  }

  /**
   * Two bucket locks in address order (double_lock_hb), so no two requeues or wake-ops can
   * deadlock; returns what drops them.
   */
  private lockPair(b1: number, b2: number): () => void {
    const { i32, cpu, spinner } = this.k;
    const first = Math.min(b1, b2);
    const second = Math.max(b1, b2);
    spinLock(i32, first + FUTEX_BUCKET.lock, cpu, spinner);
    if (second !== first) spinLock(i32, second + FUTEX_BUCKET.lock, cpu, spinner);
    return () => {
      if (second !== first) spinUnlock(i32, second + FUTEX_BUCKET.lock);
      spinUnlock(i32, first + FUTEX_BUCKET.lock);
    };
  }

  /**
   * futex_wake_op: under both buckets' locks, apply the operation `encoded` names to *uaddr2
   * atomically (FUTEX_OP: op, cmp, oparg, cmparg), wake up to `nrWake` waiters on uaddr, and
   * if the old value of *uaddr2 passes the comparison, up to `nrWake2` on uaddr2. Returns how
   * many were woken; -ENOSYS for an operation or comparison Linux does not know.
   */
  wakeOp(mm: number, uaddr: number, uaddr2: number, nrWake: number, nrWake2: number, encoded: number): number {
    const { user } = this.k;
    uaddr = keyAddr(uaddr);
    uaddr2 = keyAddr(uaddr2);
    if ((uaddr & 3) !== 0 || (uaddr2 & 3) !== 0) return -EINVAL;
    const op = (encoded >>> 28) & 7;
    const cmp = (encoded >>> 24) & 15;
    // oparg and cmparg are 12-bit signed fields; FUTEX_OP_OPARG_SHIFT makes oparg 1 << oparg.
    let oparg = (encoded << 8) >> 20;
    const cmparg = (encoded << 20) >> 20;
    if ((encoded & (FUTEX_OP_OPARG_SHIFT << 28)) !== 0) oparg = 1 << (oparg & 31);
    if (op > FUTEX_OP_XOR || cmp > FUTEX_OP_CMP_GE) return -ENOSYS;
    const b1 = this.bucket(mm, uaddr);
    const b2 = this.bucket(mm, uaddr2);
    const unlock = this.lockPair(b1, b2);
    let old = 0;
    try {
      for (;;) {
        old = user.atomicLoad32(uaddr2);
        const next = op === FUTEX_OP_SET ? oparg : op === FUTEX_OP_ADD ? (old + oparg) | 0 : op === FUTEX_OP_OR ? old | oparg
          : op === FUTEX_OP_ANDN ? old & ~oparg : old ^ oparg;
        if (user.cmpxchg32(uaddr2, old, next) === old) break;
      }
    } catch (e) {
      unlock();
      if (e instanceof GuestSegfault) return -EFAULT;
      throw e;
    }
    const pass = [old === cmparg, old !== cmparg, old < cmparg, old <= cmparg, old > cmparg, old >= cmparg][cmp]!;
    let woken = this.wakeLocked(b1, mm, uaddr, Math.max(0, nrWake), 0);
    if (pass) woken += this.wakeLocked(b2, mm, uaddr2, Math.max(0, nrWake2), 0);
    unlock();
    return woken;
  }

  /**
   * Sleep on a kernel wait key until the counter word `seqWord` (a word of guest RAM the waker
   * bumps) moves from `seen`, or `timeoutNs` passes (-1: no timeout). The task's system call is
   * restarted when it is woken (-ERESTARTSYS), so it looks at the world again. Returns 0 when
   * the counter already moved (look again now), else SYSCALL_BLOCKED.
   *
   * The key is the counter's physical address with mm 0, which no user futex has. Lost wakeup:
   * the waker bumps the counter, then takes the bucket lock to wake; the sleeper reads the
   * counter under the bucket lock before it queues — it sees the bump or is queued in time.
   */
  waitKernel(run: TaskRun, seqWord: number, seen: number, timeoutNs: number): number {
    const { i32, cpu, spinner } = this.k;
    const key = seqWord * 4;
    const b = this.bucket(0, key);
    spinLock(i32, b + FUTEX_BUCKET.lock, cpu, spinner);
    // ORDERING: pairs with wakeKernel's Atomics.add before it takes this bucket lock.
    if (Atomics.load(i32, seqWord) !== seen) {
      spinUnlock(i32, b + FUTEX_BUCKET.lock);
      return 0;
    }
    run.restartable = true;
    return this.queueAndUnlock(run, b, 0, key, timeoutNs);
  }

  /** Bump the counter word `seqWord` and wake every task sleeping on it (waitKernel). */
  wakeKernel(seqWord: number): void {
    // ORDERING: the bump precedes the bucket lock (taken in wakeKey); pairs with waitKernel's
    // load under it.
    Atomics.add(this.k.i32, seqWord, 1);
    this.wakeKey(0, seqWord * 4, Infinity, -ERESTARTSYS);
  }

  /**
   * Queue the current task on key (mm, addr) in bucket `b` (whose lock the caller holds), mark
   * it sleeping with an optional timeout, and drop the lock.
   */
  private queueAndUnlock(run: TaskRun, b: number, mm: number, addr: number, timeoutNs: number): number {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    i32[tb + TASK.futexMm] = mm;
    i32[tb + TASK.futexAddr] = addr;
    i32[tb + TASK.futexNext] = i32[b + FUTEX_BUCKET.head]!;
    i32[b + FUTEX_BUCKET.head] = run.slot + 1;
    this.sched.prepareToSleep(run);
    if (timeoutNs >= 0) this.sched.armTimer(run, this.k.ops.time.schedClock() + timeoutNs);
    spinUnlock(i32, b + FUTEX_BUCKET.lock);
    return SYSCALL_BLOCKED;
  }

  /** Wake up to `count` tasks queued on key (mm, addr), handing each `result`. Returns how many. */
  private wakeKey(mm: number, addr: number, count: number, result: number): number {
    const { i32, cpu, spinner } = this.k;
    const b = this.bucket(mm, addr);
    spinLock(i32, b + FUTEX_BUCKET.lock, cpu, spinner);
    const woken = this.wakeLocked(b, mm, addr, count, result);
    spinUnlock(i32, b + FUTEX_BUCKET.lock);
    return woken;
  }

  /** Wake up to `count` waiters on (mm, addr) in bucket `b`, whose lock the caller holds. */
  private wakeLocked(b: number, mm: number, addr: number, count: number, result: number): number {
    const { i32, layout } = this.k;
    let woken = 0;
    let link = b + FUTEX_BUCKET.head;
    let entry = i32[link]!;
    while (entry !== 0 && woken < count) {
      const tb = layout.taskBase(entry - 1);
      const next = i32[tb + TASK.futexNext]!;
      if (i32[tb + TASK.futexMm] === mm && i32[tb + TASK.futexAddr] === addr) {
        i32[link] = next;
        i32[tb + TASK.futexAddr] = 0;
        if (this.sched.wakeUp(entry - 1, result)) woken++;
      } else {
        link = tb + TASK.futexNext;
      }
      entry = next;
    }
    return woken;
  }

  /**
   * Take a task off whatever futex queue it is on (its timeout expired, or it is exiting).
   * Returns true if it was queued (and so nobody else will wake it).
   */
  unqueue(slot: number): boolean {
    const { i32, cpu, spinner, layout } = this.k;
    const tb = layout.taskBase(slot);
    // The key is read unlocked, then checked again under its bucket's lock: a requeue may have
    // moved the task to another key meanwhile (under both buckets' locks), and then this looks
    // again at the new one (unqueue_me's retry).
    let uaddr: number;
    let b: number;
    for (;;) {
      uaddr = i32[tb + TASK.futexAddr]!;
      if (uaddr === 0) return false;
      const mm = i32[tb + TASK.futexMm]!;
      b = this.bucket(mm, uaddr);
      spinLock(i32, b + FUTEX_BUCKET.lock, cpu, spinner);
      if (i32[tb + TASK.futexAddr] === uaddr && i32[tb + TASK.futexMm] === mm) break;
      spinUnlock(i32, b + FUTEX_BUCKET.lock);
    }
    let found = false;
    let link = b + FUTEX_BUCKET.head;
    for (let entry = i32[link]!; entry !== 0; entry = i32[link]!) {
      if (entry - 1 === slot) {
        i32[link] = i32[tb + TASK.futexNext]!;
        i32[tb + TASK.futexAddr] = 0;
        found = true;
        break;
      }
      link = layout.taskBase(entry - 1) + TASK.futexNext;
    }
    spinUnlock(i32, b + FUTEX_BUCKET.lock);
    return found;
  }

  /**
   * A timed sleeper's deadline passed: futex waiters get -ETIMEDOUT, nanosleepers 0, and a
   * restartable call runs again (and finds its deadline passed).
   */
  expire(run: TaskRun): void {
    // A futex waiter a waker already took off the queue is Running: wakeUp does nothing then.
    const queued = this.unqueue(run.slot);
    this.sched.wakeUp(run.slot, run.restartable ? -ERESTARTSYS : queued ? -ETIMEDOUT : 0);
  }
}
