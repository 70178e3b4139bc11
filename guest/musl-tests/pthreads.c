/* pthread_create/join, mutex, condition variable broadcast to several
 * waiters, barrier, rwlock, semaphore, __thread variables, once, keys. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>

#define NT 4

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int go, waiting, woken;
static __thread int tls_value = 7;
static __thread char tls_buf[32];
static pthread_barrier_t bar;
static int serial_count;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int shared_data;
static sem_t sem_items, sem_done;
static int produced[NT];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_key_t key;
static int destructor_runs;

static void once_fn(void) { once_runs++; }
static void key_dtor(void *p) { (void)p; __atomic_fetch_add(&destructor_runs, 1, __ATOMIC_SEQ_CST); }

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	int ok = tls_value == 7;
	tls_value = 100 + id;
	snprintf(tls_buf, sizeof tls_buf, "thread-%d", id);

	for (int i = 0; i < 10000; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}

	pthread_mutex_lock(&mu);
	waiting++;
	pthread_cond_broadcast(&cv);       /* tell main one more is waiting */
	while (!go) pthread_cond_wait(&cv, &mu);
	woken++;
	pthread_mutex_unlock(&mu);

	int r = pthread_barrier_wait(&bar);
	if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_fetch_add(&serial_count, 1, __ATOMIC_SEQ_CST);
	else if (r != 0) ok = 0;

	for (int i = 0; i < 1000; i++) {
		if (i % 10 == 0) {
			pthread_rwlock_wrlock(&rw);
			shared_data++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			volatile int x = shared_data;
			(void)x;
			pthread_rwlock_unlock(&rw);
		}
	}

	sem_wait(&sem_items);
	produced[id] = 1;
	sem_post(&sem_done);

	pthread_once(&once, once_fn);
	pthread_setspecific(key, (void *)(long)(id + 1));
	ok &= pthread_getspecific(key) == (void *)(long)(id + 1);

	ok &= tls_value == 100 + id;
	char want[32];
	snprintf(want, sizeof want, "thread-%d", id);
	ok &= strcmp(tls_buf, want) == 0;
	return (void *)(long)(ok ? 1000 + id : -1);
}

int main(void)
{
	pthread_t t[NT];
	pthread_barrier_init(&bar, 0, NT);
	sem_init(&sem_items, 0, 0);
	sem_init(&sem_done, 0, 0);
	pthread_key_create(&key, key_dtor);
	tls_value = 1;

	for (long i = 0; i < NT; i++)
		if (pthread_create(&t[i], 0, worker, (void *)i)) { printf("create failed\n"); return 1; }

	pthread_mutex_lock(&mu);
	while (waiting < NT) pthread_cond_wait(&cv, &mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);

	for (int i = 0; i < NT; i++) sem_post(&sem_items);
	for (int i = 0; i < NT; i++) sem_wait(&sem_done);

	int all_ok = 1;
	for (int i = 0; i < NT; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		printf("thread %d returned %ld\n", i, (long)ret);
		all_ok &= (long)ret == 1000 + i;
	}
	printf("mutex counter %ld (expect %d)\n", counter, NT * 10000);
	printf("condvar broadcast woke %d of %d waiters\n", woken, NT);
	printf("barrier serial threads %d\n", serial_count);
	printf("rwlock writes %d (expect %d)\n", shared_data, NT * 100);
	int np = 0;
	for (int i = 0; i < NT; i++) np += produced[i];
	printf("semaphore consumers %d\n", np);
	printf("once ran %d time(s), key destructors %d\n", once_runs, destructor_runs);
	printf("main tls_value %d\n", tls_value);
	printf("%s\n", all_ok ? "all threads ok" : "SOME THREAD FAILED");
	return 0;
}
