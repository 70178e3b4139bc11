/**
 * Kernel synchronisation over words in guest memory: spinlocks and a reader-writer semaphore,
 * and the kernel's wait sites. Runs on a vCPU worker, on behalf of that CPU.
 *
 * Every wait here is a VcpuWait (src/hw/wait.ts) at one of the sites below: it takes interrupts
 * while it spins (if IF is set), so two CPUs waiting on each other's flush requests both make
 * progress; it gives its host core away after a short spin; its watchdog names the waiter, what
 * it waited for and what the CPU it waited on was doing; it leaves at once if the machine was
 * aborted elsewhere.
 */
import { describeVcpu } from '../hw/activity.js';
import { WaitKind } from '../hw/layout.js';
import { TakeWhileWaiting, type VcpuWait, type WaitingCpu, type WaitSite } from '../hw/wait.js';

/** A lock-wait report describes at most this many other CPUs (keeps it readable at 64 vCPUs). */
const MAX_DESCRIBED_CPUS = 8;

/** What CPU `target` is doing, for a watchdog message; nothing for an id past the machine's CPUs. */
function onCpu(target: number, c: WaitingCpu): string {
  return target < c.cpus ? `; ${describeVcpu(c.machineWords, c.bus, target)}` : '';
}

/** smp_call_function_many: waiting for CPU `target` to run and acknowledge our request. */
export const CALL_ACK_WAIT: WaitSite = {
  kind: WaitKind.CallAck,
  take: TakeWhileWaiting.IfEnabled,
  describe: (target, c) => `for call-function acknowledgement from cpu ${target}${onCpu(target, c)}`,
};

/** Boot: waiting for application processor `target` to come online. */
export const CPU_ONLINE_WAIT: WaitSite = {
  kind: WaitKind.CpuOnline,
  take: TakeWhileWaiting.IfEnabled,
  describe: (target, c) => `for online cpu ${target}${onCpu(target, c)}`,
};

/** A kernel lock at guest-physical address `target`. */
export const KERNEL_LOCK_WAIT: WaitSite = {
  kind: WaitKind.Lock,
  take: TakeWhileWaiting.IfEnabled,
  describe: (target, c) => {
    // A spinlock word holds its owner's CPU id + 1; an rwsem word its reader count and flags,
    // not who the readers are: so say what every other CPU (the holders among them) is doing.
    let line = `for kernel lock at phys 0x${target.toString(16)}`;
    line += `; lock word 0x${(Atomics.load(c.ram.i32, target >>> 2) >>> 0).toString(16)}`;
    for (let other = 0; other < Math.min(c.cpus, MAX_DESCRIBED_CPUS); other++) {
      if (other !== c.cpu) line += `; ${describeVcpu(c.machineWords, c.bus, other)}`;
    }
    return line;
  },
};

/**
 * Spinlock word: 0 free, cpu + 1 held (the owner is named in watchdog reports).
 * `lockWord` is a word index into guest RAM.
 */
export function spinLock(i32: Int32Array, lockWord: number, cpu: number, spinner: VcpuWait): void {
  // ORDERING: the acquiring compareExchange pairs with spinUnlock's Atomics.store(0): everything
  // the previous holder wrote is visible once we own the word.
  if (Atomics.compareExchange(i32, lockWord, 0, cpu + 1) === 0) return;
  spinner.begin(KERNEL_LOCK_WAIT, lockWord * 4);
  while (Atomics.compareExchange(i32, lockWord, 0, cpu + 1) !== 0) spinner.pause();
  spinner.end();
}

export function spinUnlock(i32: Int32Array, lockWord: number): void {
  // ORDERING: release; pairs with spinLock's compareExchange.
  Atomics.store(i32, lockWord, 0);
}

/** rwsem word: low 30 bits = readers; RWSEM_WRITER held by a writer; RWSEM_WAITING a writer queues. */
const RWSEM_WRITER = 1 << 30;
export const RWSEM_WAITING = 1 << 29;
const RWSEM_READERS = RWSEM_WAITING - 1;

/** down_read: readers share; a waiting writer holds new readers back so it cannot starve. */
export function downRead(i32: Int32Array, word: number, spinner: VcpuWait): void {
  let begun = false;
  for (;;) {
    const v = Atomics.load(i32, word);
    // ORDERING: the compareExchange pairs with up_write's store and other readers' updates.
    if ((v & (RWSEM_WRITER | RWSEM_WAITING)) === 0 && Atomics.compareExchange(i32, word, v, v + 1) === v) break;
    if (!begun) { spinner.begin(KERNEL_LOCK_WAIT, word * 4); begun = true; }
    spinner.pause();
  }
  if (begun) spinner.end();
}

export function upRead(i32: Int32Array, word: number): void {
  // ORDERING: release of a read hold; pairs with down_write's compareExchange from 0.
  Atomics.sub(i32, word, 1);
}

export function downWrite(i32: Int32Array, word: number, spinner: VcpuWait): void {
  let begun = false;
  for (;;) {
    const v = Atomics.load(i32, word);
    if ((v & (RWSEM_WRITER | RWSEM_READERS)) === 0) {
      // Free (perhaps with our own or another writer's WAITING bit): take it, clearing WAITING;
      // another waiting writer sets it again on its next spin.
      if (Atomics.compareExchange(i32, word, v, RWSEM_WRITER) === v) break;
      continue;
    }
    if ((v & RWSEM_WAITING) === 0) Atomics.compareExchange(i32, word, v, v | RWSEM_WAITING);
    if (!begun) { spinner.begin(KERNEL_LOCK_WAIT, word * 4); begun = true; }
    spinner.pause();
  }
  if (begun) spinner.end();
}

export function upWrite(i32: Int32Array, word: number): void {
  // ORDERING: release; pairs with the next down_read/down_write compareExchange. Keep a WAITING
  // bit another writer set meanwhile.
  for (;;) {
    const v = Atomics.load(i32, word);
    if (Atomics.compareExchange(i32, word, v, v & RWSEM_WAITING) === v) return;
  }
}
