/* The smallest guest program: one line on stdout, exit status 0. */
#include "rt.h"

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	rt_printf("hello, world\n");
	return 0;
}
