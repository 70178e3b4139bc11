/* Signals and threads: pthread_kill reaches the thread it names; a signal sent to the process
 * is taken by the one thread that does not block it (pthread_sigmask is per thread), and
 * interrupts its pause(); pthread_cancel ends threads blocked in pthread_cond_wait, read and
 * nanosleep (cancellation points, reached through SIGCANCEL), running their cleanup handlers;
 * a thread that disabled cancellation is cancelled once it enables it and tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_t who_got;
static volatile int got;
static volatile int spin_stop;

static void on_usr1(int sig)
{
	(void)sig;
	who_got = pthread_self();
	got++;
}

static void *spinner(void *arg)
{
	(void)arg;
	while (!spin_stop) sched_yield();
	return 0;
}

static volatile int pause_errno;
static volatile int pauser_ready;

static void *pauser(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, 0);
	pauser_ready = 1;
	int r = pause();
	pause_errno = r == -1 ? errno : 0;
	return 0;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int pipefd[2];
static volatile int cleaned;

static void count_cleanup(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&cleaned, 1, __ATOMIC_SEQ_CST);
}

static void unlock_cleanup(void *arg)
{
	pthread_mutex_unlock(arg);
	__atomic_fetch_add(&cleaned, 1, __ATOMIC_SEQ_CST);
}

static void *in_cond_wait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock_cleanup, &m);
	for (;;) pthread_cond_wait(&c, &m);
	pthread_cleanup_pop(0);
	return 0;
}

static void *in_read(void *arg)
{
	(void)arg;
	char b;
	pthread_cleanup_push(count_cleanup, 0);
	read(pipefd[0], &b, 1);
	pthread_cleanup_pop(0);
	return 0;
}

static void *in_nanosleep(void *arg)
{
	(void)arg;
	struct timespec ts = { 100, 0 };
	pthread_cleanup_push(count_cleanup, 0);
	nanosleep(&ts, 0);
	pthread_cleanup_pop(0);
	return 0;
}

static volatile int may_enable;

static void *disabled(void *arg)
{
	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, 0);
	while (!may_enable) sched_yield();
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, 0);
	pthread_testcancel();
	return (void *)1;
}

int main(void)
{
	signal(SIGUSR1, on_usr1);

	pthread_t t;
	pthread_create(&t, 0, spinner, 0);
	pthread_kill(t, SIGUSR1);
	while (!got) sched_yield();
	printf("pthread_kill: handler ran in the named thread: %s\n", pthread_equal(who_got, t) ? "yes" : "no");
	spin_stop = 1;
	pthread_join(t, 0);

	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, 0);
	pthread_t p;
	pthread_create(&p, 0, pauser, 0);
	while (!pauser_ready) sched_yield();
	usleep(20000);
	got = 0;
	kill(getpid(), SIGUSR1);
	pthread_join(p, 0);
	printf("process signal: taken by the thread that does not block it: %s, its pause() failed with EINTR: %s\n",
	       got == 1 && pthread_equal(who_got, p) ? "yes" : "no", pause_errno == EINTR ? "yes" : "no");
	sigset_t cur;
	pthread_sigmask(SIG_SETMASK, 0, &cur);
	printf("main still blocks SIGUSR1: %s\n", sigismember(&cur, SIGUSR1) ? "yes" : "no");
	pthread_sigmask(SIG_UNBLOCK, &s, 0);

	pipe(pipefd);
	pthread_t w[3];
	pthread_create(&w[0], 0, in_cond_wait, 0);
	pthread_create(&w[1], 0, in_read, 0);
	pthread_create(&w[2], 0, in_nanosleep, 0);
	usleep(50000);
	int canceled = 0;
	for (int i = 0; i < 3; i++) {
		void *ret;
		pthread_cancel(w[i]);
		pthread_join(w[i], &ret);
		canceled += ret == PTHREAD_CANCELED;
	}
	printf("pthread_cancel: %d of 3 blocked threads canceled, %d cleanup handlers ran\n", canceled, cleaned);
	printf("mutex free after the canceled cond_wait: %s\n", pthread_mutex_trylock(&m) == 0 ? "yes" : "no");
	pthread_mutex_unlock(&m);

	pthread_t d;
	void *ret;
	pthread_create(&d, 0, disabled, 0);
	pthread_cancel(d);
	usleep(10000);
	may_enable = 1;
	pthread_join(d, &ret);
	printf("cancel while disabled acts at pthread_testcancel: %s\n", ret == PTHREAD_CANCELED ? "yes" : "no");
	return 0;
}
