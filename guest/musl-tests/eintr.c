/* System calls a signal handler interrupts: without SA_RESTART a blocking pipe read, sem_wait,
 * waitpid and ppoll fail with EINTR; with SA_RESTART the read goes on after the handlers (here,
 * until the third interval-timer signal writes a byte); nanosleep always fails with EINTR and
 * reports the time left; setitimer/getitimer and alarm's remaining time. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int ticks;
static int pipefd[2];

static void on_alarm(int sig)
{
	(void)sig;
	if (++ticks == 3) write(pipefd[1], "x", 1);
}

static void set_handler(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, 0);
}

static void arm(long first_us, long every_us)
{
	struct itimerval it = { { 0, every_us }, { 0, first_us } };
	setitimer(ITIMER_REAL, &it, 0);
}

static void disarm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, 0);
}

int main(void)
{
	char b;
	pipe(pipefd);

	set_handler(0);
	ticks = 0;
	arm(50000, 0);
	errno = 0;
	ssize_t n = read(pipefd[0], &b, 1);
	printf("read without SA_RESTART: %zd, EINTR %s\n", n, errno == EINTR ? "yes" : "no");

	set_handler(SA_RESTART);
	ticks = 0;
	arm(30000, 30000);
	n = read(pipefd[0], &b, 1);
	disarm();
	printf("read with SA_RESTART: %zd byte after %d signals\n", n, ticks);

	set_handler(0);
	sem_t sem;
	sem_init(&sem, 0, 0);
	arm(50000, 0);
	errno = 0;
	int r = sem_wait(&sem);
	printf("sem_wait: %d, EINTR %s\n", r, errno == EINTR ? "yes" : "no");

	struct timespec req = { 10, 0 }, rem = { 0, 0 };
	arm(50000, 0);
	errno = 0;
	r = nanosleep(&req, &rem);
	printf("nanosleep(10 s): %d, EINTR %s, time left between 9 and 10 s: %s\n", r, errno == EINTR ? "yes" : "no",
	       rem.tv_sec == 9 || (rem.tv_sec == 10 && rem.tv_nsec == 0) ? "yes" : "no");

	arm(50000, 0);
	errno = 0;
	r = poll(0, 0, 10000);
	printf("poll: %d, EINTR %s\n", r, errno == EINTR ? "yes" : "no");

	pid_t child = fork();
	if (child == 0) {
		usleep(300000);
		_exit(4);
	}
	arm(50000, 0);
	int st;
	errno = 0;
	r = waitpid(child, &st, 0);
	printf("waitpid: %d, EINTR %s\n", r, errno == EINTR ? "yes" : "no");
	r = waitpid(child, &st, 0);
	printf("waitpid again: reaped %s, status %d\n", r == child ? "yes" : "no", WEXITSTATUS(st));

	struct itimerval it = { { 2, 0 }, { 5, 0 } }, cur;
	setitimer(ITIMER_REAL, &it, 0);
	getitimer(ITIMER_REAL, &cur);
	printf("getitimer: interval %ld s, value at most 5 s and more than 4 s: %s\n", (long)cur.it_interval.tv_sec,
	       (cur.it_value.tv_sec == 4 && cur.it_value.tv_usec > 0) || (cur.it_value.tv_sec == 5 && cur.it_value.tv_usec == 0) ? "yes" : "no");
	disarm();
	alarm(7);
	printf("alarm(0) returns the seconds left: %u\n", alarm(0));
	return 0;
}
