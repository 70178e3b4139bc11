/* clock_gettime, clock_getres, nanosleep, clock_nanosleep, time,
 * gettimeofday, clock: checked against each other, nothing printed that
 * depends on the time itself. */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include <errno.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
	struct timespec a, b, res;
	printf("sizeof(time_t) %zu, sizeof(struct timespec) %zu, sizeof(struct timeval) %zu\n",
	       sizeof(time_t), sizeof(struct timespec), sizeof(struct timeval));

	clock_gettime(CLOCK_REALTIME, &a);
	printf("realtime after 2020: %s\n", a.tv_sec > 1577836800 ? "yes" : "no");
	printf("nsec in range: %s\n", a.tv_nsec >= 0 && a.tv_nsec < 1000000000 ? "yes" : "no");
	time_t t = time(0);
	printf("time() within 2s of CLOCK_REALTIME: %s\n", t - a.tv_sec <= 2 && t >= a.tv_sec ? "yes" : "no");
	struct timeval tv;
	gettimeofday(&tv, 0);
	printf("gettimeofday consistent: %s\n", tv.tv_sec - a.tv_sec <= 2 && tv.tv_usec < 1000000 ? "yes" : "no");

	printf("clock_getres(MONOTONIC): %s\n",
	       clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0 ? "ok" : "BAD");

	int mono_ok = 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (ns(b) < ns(a)) mono_ok = 0;
		a = b;
	}
	printf("monotonic never goes back: %s\n", mono_ok ? "yes" : "no");

	struct timespec req = { 0, 20 * 1000000 }, rem;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = nanosleep(&req, &rem);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("nanosleep(20ms): returned %d, slept at least 20ms: %s\n", r, ns(b) - ns(a) >= 20000000 ? "yes" : "no");

	clock_gettime(CLOCK_MONOTONIC, &a);
	struct timespec until = a;
	until.tv_nsec += 30 * 1000000;
	if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("clock_nanosleep(ABSTIME +30ms): returned %d, reached deadline: %s\n", r, ns(b) >= ns(until) ? "yes" : "no");

	req.tv_nsec = 2000000000;
	errno = 0;
	printf("nanosleep with bad nsec: %d EINVAL %s\n", nanosleep(&req, 0), errno == EINVAL ? "yes" : "no");

	clock_t c = clock();
	printf("clock() non-negative: %s\n", c >= 0 ? "yes" : "no");
	struct timespec cpu;
	printf("CLOCK_PROCESS_CPUTIME_ID: %s\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 ? "ok" : "BAD");

	struct tm tm;
	time_t fixed = 1700000000;
	gmtime_r(&fixed, &tm);
	char buf[64];
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a", &tm);
	printf("gmtime(1700000000): %s\n", buf);
	time_t big = 4102444800LL; /* 2100-01-01: past 2038 */
	gmtime_r(&big, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
	printf("gmtime(4102444800): %s, mktime round trip: %s\n", buf, timegm(&tm) == big ? "yes" : "no");
	return 0;
}
