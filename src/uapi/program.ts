/**
 * How the kernel runs a user program written in TypeScript: a generator that yields at
 * preemption points and when a system call blocked. Shared by the kernel's scheduler and the
 * user-space runtime (src/workloads).
 */

/** Yielded at a preemption point (cond_resched): the scheduler may switch tasks here. */
export const PREEMPT = 0;
/** Yielded after a system call returned SYSCALL_BLOCKED: resumed with its result. */
export const BLOCK = 1;

/** A user task's code: resumed with a system call result, returns its exit status. */
export type GuestThread = Generator<number, number, number>;

/**
 * Starts a task's program: `userSp` is the stack it was created with (0 for init);
 * `kernelStackTop` the end of its kernel stack, where copy_thread left a riscv32 thread's
 * registers.
 */
export type ProgramLoader = (tid: number, userSp: number, kernelStackTop: number) => GuestThread;

/**
 * Kernel-internal: the system call put the task to sleep; its result is delivered when it is
 * woken (like ERESTARTSYS, never seen by a guest).
 */
export const SYSCALL_BLOCKED = -0x7fff0001;

/** User-memory access as the CPU performs it: through the MMU, faulting like a user access. */
export interface UserAccess {
  load8(va: number): number;
  load32(va: number): number;
  store8(va: number, value: number): void;
  store32(va: number, value: number): void;
  atomicLoad32(va: number): number;
  atomicStore32(va: number, value: number): void;
  cmpxchg32(va: number, expected: number, replacement: number): number;
  atomicAdd32(va: number, delta: number): number;
  /** Supervisor-mode store through the TLB (the kernel's own vmalloc'd memory). */
  kernelStore32(va: number, value: number): void;
  /** Supervisor-mode load through the TLB (copy_thread's registers on a kernel stack). */
  kernelLoad32(va: number): number;
}
