/* abort(): killed by SIGABRT, which a shell shows as exit status 134. A
 * SIGABRT handler that returns does not stop it. */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>

static void on_abrt(int sig)
{
	(void)sig;
	printf("SIGABRT handler ran\n");
	fflush(stdout);
}

int main(void)
{
	signal(SIGABRT, on_abrt);
	printf("calling abort\n");
	fflush(stdout);
	abort();
	printf("not reached\n");
	return 0;
}
