/*
 * Threads on clone(2), the way a pthread implementation makes them: the new thread shares the
 * address space, files, signal handlers and thread group; its tp is its descriptor
 * (CLONE_SETTLS); the kernel stores its tid in the descriptor before clone returns
 * (CLONE_PARENT_SETTID) and zeroes it and futex-wakes it when the thread exits
 * (CLONE_CHILD_CLEARTID), which is what rt_thread_join waits for.
 */
#include "rt.h"

#define RT_CLONE_FLAGS                                                                           \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |      \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

static int thread_entry(void *p)
{
	struct rt_thread *t = p;
	t->ret = t->fn(t->arg);
	return t->ret;
}

int rt_thread_start(struct rt_thread *t, int (*fn)(void *), void *arg)
{
	long stack = sys_mmap2(0, RT_THREAD_STACK_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sys_is_error(stack))
		return (int)stack;
	t->fn = fn;
	t->arg = arg;
	t->ret = 0;
	t->stack = (void *)stack;
	t->stack_size = RT_THREAD_STACK_SIZE;
	/*
	 * Non-zero until the kernel's CLONE_PARENT_SETTID store: a join that raced ahead of it
	 * would otherwise see 0 and return early. (The store happens before clone returns, so
	 * in practice nobody sees this value.)
	 */
	t->tid = -1;
	long r = rt_clone(RT_CLONE_FLAGS, (char *)stack + RT_THREAD_STACK_SIZE, &t->tid, t, &t->tid,
			  thread_entry, t);
	if (sys_is_error(r)) {
		sys_munmap(t->stack, t->stack_size);
		return (int)r;
	}
	return 0;
}

int rt_thread_join(struct rt_thread *t)
{
	for (;;) {
		/*
		 * Acquire pairs with the kernel's clear of the word at the thread's exit, after
		 * which the thread's writes to t->ret (and everything else) are visible.
		 */
		int tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
		if (tid == 0)
			break;
		/*
		 * Sleeps only while the word still holds `tid`; a clear between the load and the
		 * wait makes FUTEX_WAIT return -EAGAIN at once. Not FUTEX_PRIVATE_FLAG: the
		 * kernel's wake at thread exit is a shared-key FUTEX_WAKE (for a private mapping
		 * the keys are the same, but say what the kernel does).
		 */
		long r = sys_futex(&t->tid, FUTEX_WAIT, tid, 0);
		if (r != 0 && r != -EAGAIN && r != -EINTR) {
			rt_printf("rt_thread_join: futex wait on tid %d returned %ld\n", tid, r);
			rt_exit(3);
		}
	}
	sys_munmap(t->stack, t->stack_size);
	return t->ret;
}
