/* Robust mutexes (set_robust_list): a mutex whose owner thread exits while holding it is
 * handed to the next locker with EOWNERDEAD, made consistent, and locks normally afterwards;
 * a locker already waiting when the owner dies is woken with EOWNERDEAD.
 * qemu-riscv32 does not implement set_robust_list, so this program's expected output is
 * Linux's documented behaviour (pthread_mutexattr_setrobust(3)), not a qemu run: run-qemu.sh
 * skips it (guest/musl-tests/qemu-skip). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t rm;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rm);
	return 0;
}

int main(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&rm, &a);
	pthread_t t;
	pthread_create(&t, 0, die_holding, 0);
	pthread_join(t, 0);
	int r = pthread_mutex_lock(&rm);
	printf("robust mutex after its owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
	printf("pthread_mutex_consistent: %d\n", pthread_mutex_consistent(&rm));
	pthread_mutex_unlock(&rm);
	printf("lock again: %d\n", pthread_mutex_lock(&rm));
	pthread_mutex_unlock(&rm);

	pthread_create(&t, 0, die_holding, 0);
	usleep(20000);
	r = pthread_mutex_lock(&rm);
	printf("waiting locker woken when the owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
	pthread_join(t, 0);
	return 0;
}
