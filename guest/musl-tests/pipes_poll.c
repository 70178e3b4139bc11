/* pipes with poll, ppoll and select: readiness, POLLHUP at EOF, a writer
 * child, dup2, O_NONBLOCK and EAGAIN. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>

int main(void)
{
	int p[2];
	pipe(p);
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	printf("poll empty pipe (timeout 0): %d\n", poll(&pf, 1, 0));
	printf("poll empty pipe (timeout 50ms): %d\n", poll(&pf, 1, 50));
	write(p[1], "abc", 3);
	int r = poll(&pf, 1, 1000);
	printf("poll after write: %d, POLLIN %s\n", r, pf.revents & POLLIN ? "yes" : "no");
	char buf[16] = { 0 };
	printf("read: %zd '%s'\n", read(p[0], buf, sizeof buf - 1), buf);

	struct pollfd wf = { .fd = p[1], .events = POLLOUT };
	printf("poll write end: %d POLLOUT %s\n", poll(&wf, 1, 0), wf.revents & POLLOUT ? "yes" : "no");

	struct timespec ts = { 0, 10 * 1000000 };
	printf("ppoll empty (10ms): %d\n", ppoll(&pf, 1, &ts, 0));

	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = { 0, 10000 };
	printf("select empty (10ms): %d\n", select(p[0] + 1, &rs, 0, 0, &tv));
	write(p[1], "x", 1);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv.tv_sec = 1; tv.tv_usec = 0;
	r = select(p[0] + 1, &rs, 0, 0, &tv);
	printf("select after write: %d, set %s\n", r, FD_ISSET(p[0], &rs) ? "yes" : "no");
	read(p[0], buf, 1);

	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	errno = 0;
	printf("nonblocking read on empty: %zd EAGAIN %s\n", read(p[0], buf, 1), errno == EAGAIN ? "yes" : "no");
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_NONBLOCK);

	/* a child writes lines, then closes: parent polls until POLLHUP */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		for (int i = 0; i < 3; i++) {
			char line[32];
			int n = snprintf(line, sizeof line, "line %d\n", i);
			write(p[1], line, n);
			usleep(10000);
		}
		_exit(0);
	}
	close(p[1]);
	char all[128];
	size_t got = 0;
	int hup = 0;
	while (!hup) {
		pf.revents = 0;
		if (poll(&pf, 1, 5000) <= 0) break;
		if (pf.revents & POLLIN) {
			ssize_t n = read(p[0], all + got, sizeof all - 1 - got);
			if (n > 0) { got += n; continue; }
			if (n == 0) hup = 1;
		} else if (pf.revents & POLLHUP) hup = 1;
	}
	all[got] = 0;
	printf("from child:\n%sEOF/POLLHUP seen: %s\n", all, hup ? "yes" : "no");
	int st;
	waitpid(c, &st, 0);
	close(p[0]);

	/* dup2 a pipe onto stdout of a child */
	pipe(p);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		printf("through dup2");
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	memset(buf, 0, sizeof buf);
	size_t n = 0;
	ssize_t k;
	while ((k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += k;
	waitpid(c, &st, 0);
	printf("child stdout via dup2: '%s'\n", buf);

	/* writing to a pipe with no reader: EPIPE with SIGPIPE ignored */
	signal(SIGPIPE, SIG_IGN);
	pipe(p);
	close(p[0]);
	errno = 0;
	printf("write with no reader: %zd EPIPE %s\n", write(p[1], "x", 1), errno == EPIPE ? "yes" : "no");
	return 0;
}
