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
