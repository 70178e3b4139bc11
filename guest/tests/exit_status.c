/*
 * Exit status: exit_group(42) from a thread other than the main one, with the main thread
 * blocked, must end the whole process with status 42 (and print nothing after it).
 */
#include "rt.h"

static int exiter(void *arg)
{
	(void)arg;
	rt_printf("exit_status: second thread calls exit_group(42)\n");
	rt_exit(42);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	static struct rt_thread t;
	int r = rt_thread_start(&t, exiter, 0);
	if (r != 0) {
		rt_printf("exit_status: clone failed (%d)\n", r);
		return 1;
	}
	rt_thread_join(&t); /* never returns: exit_group ends this thread too */
	rt_printf("exit_status: main thread survived exit_group\n");
	return 1;
}
