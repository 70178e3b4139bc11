/*
 * Pipes and ppoll: pipe2 with and without O_NONBLOCK (-EAGAIN on an empty read and on a full
 * pipe, every byte drained back in order), end of file once the write end is closed, -EPIPE
 * once the read end is (SIGPIPE blocked first), ppoll_time64 with a zero timeout (POLLIN,
 * POLLOUT, POLLHUP, POLLERR, POLLNVAL) and a 50 ms one that expires; then a second thread: -n
 * round trips where it blocks in read() until the main thread writes, and -n where both sides
 * block in ppoll() with no timeout until the other side's write wakes them, every byte checked.
 *
 * Output is the same on every run: the pipe's capacity differs between kernels and is not
 * printed.
 */
#include "rt.h"

#define MSG_LEN 32
#define CHUNK 4096

static uint32_t rounds = 100;

static const char *errname(long r)
{
	switch (-r) {
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case EPIPE: return "EPIPE";
	case ESPIPE: return "ESPIPE";
	case ENOSYS: return "ENOSYS";
	default: return 0;
	}
}

static void expect_err(const char *what, long r, int err)
{
	const char *name = errname(r);
	if (r < 0 && name)
		rt_printf("%s: -%s\n", what, name);
	else
		rt_printf("%s: %ld\n", what, r);
	RT_CHECK(r == -err, "%s: returned %ld, expected -%s", what, r, errname(-err));
}

static void expect_val(const char *what, long got, long want)
{
	rt_printf("%s: %ld\n", what, got);
	RT_CHECK(got == want, "%s: %ld, expected %ld", what, got, want);
}

/* ppoll with a zero timeout over n entries; prints the count and each revents. */
static void expect_poll(const char *what, struct pollfd *fds, unsigned n, long want_count,
			const short *want_revents)
{
	struct kernel_timespec zero = { 0, 0 };
	for (unsigned i = 0; i < n; i++)
		fds[i].revents = (short)0x7fff; /* the kernel must overwrite every entry */
	long r = sys_ppoll(fds, n, &zero, 0, KERNEL_SIGSET_SIZE);
	rt_printf("%s: %ld, revents", what, r);
	int ok = r == want_count;
	for (unsigned i = 0; i < n; i++) {
		rt_printf(" 0x%x", (unsigned)(uint16_t)fds[i].revents);
		ok &= fds[i].revents == want_revents[i];
	}
	rt_printf("\n");
	RT_CHECK(ok, "%s: unexpected result", what);
}

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i ^ (i >> 8) ^ (i >> 15) ^ 0x5a);
}

static uint8_t chunk[CHUNK];

static void blocking_pipe(void)
{
	int p[2] = { -1, -1 };
	expect_val("pipe2(0)", sys_pipe2(p, 0), 0);
	RT_CHECK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1], "pipe2 gave fds %d %d", p[0], p[1]);
	expect_val("write 5 bytes", sys_write(p[1], "abcde", 5), 5);
	uint8_t b[16];
	/* A read takes what is there, never waiting for the rest of the buffer. */
	long n = sys_read(p[0], b, 3);
	expect_val("read 3 of them", n, 3);
	RT_CHECK(n == 3 && memcmp(b, "abc", 3) == 0, "read the wrong bytes");
	n = sys_read(p[0], b, sizeof(b));
	expect_val("read the other 2", n, 2);
	RT_CHECK(n == 2 && memcmp(b, "de", 2) == 0, "read the wrong bytes");

	expect_err("write to the read end", sys_write(p[0], "x", 1), EBADF);
	expect_err("read from the write end", sys_read(p[1], b, 1), EBADF);

	struct iovec iov[2] = { { (void *)"vec", 3 }, { (void *)"tor", 3 } };
	expect_val("writev 3 + 3 bytes", sys_writev(p[1], iov, 2), 6);
	uint8_t x[2], y[8];
	struct iovec riov[2] = { { x, sizeof(x) }, { y, sizeof(y) } };
	n = sys_readv(p[0], riov, 2);
	expect_val("readv into 2 + 8 bytes", n, 6);
	RT_CHECK(n == 6 && memcmp(x, "ve", 2) == 0 && memcmp(y, "ctor", 4) == 0, "readv data wrong");

	/* Data written before the close is still read; then end of file. */
	expect_val("write 1 byte", sys_write(p[1], "z", 1), 1);
	expect_val("close the write end", sys_close(p[1]), 0);
	n = sys_read(p[0], b, sizeof(b));
	expect_val("read after the writer closed", n, 1);
	expect_val("read again: end of file", sys_read(p[0], b, sizeof(b)), 0);
	expect_val("close the read end", sys_close(p[0]), 0);
	expect_err("close the read end again", sys_close(p[0]), EBADF);
}

static void nonblocking_pipe(void)
{
	int p[2] = { -1, -1 };
	expect_val("pipe2(O_NONBLOCK)", sys_pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	uint8_t b[4];
	expect_err("read of an empty O_NONBLOCK pipe", sys_read(p[0], b, sizeof(b)), EAGAIN);

	/* Fill it: writes of up to a page until the pipe takes no more. */
	uint32_t filled = 0;
	long r;
	for (;;) {
		for (uint32_t i = 0; i < CHUNK; i++)
			chunk[i] = pattern(filled + i);
		r = sys_write(p[1], chunk, CHUNK);
		if (r <= 0)
			break;
		filled += (uint32_t)r;
		if (filled > (64u << 20)) {
			rt_printf("pipes: wrote 64 MiB into an O_NONBLOCK pipe without -EAGAIN\n");
			rt_exit(3);
		}
	}
	RT_CHECK(filled > 0, "nothing fitted in the pipe");
	expect_err("write to a full O_NONBLOCK pipe", r, EAGAIN);
	expect_err("1-byte write to the full pipe", sys_write(p[1], "x", 1), EAGAIN);

	/* Drain it: the same bytes in the same order, then -EAGAIN again. */
	uint32_t drained = 0, bad = 0;
	for (;;) {
		r = sys_read(p[0], chunk, CHUNK);
		if (r <= 0)
			break;
		for (uint32_t i = 0; i < (uint32_t)r; i++)
			bad += chunk[i] != pattern(drained + i);
		drained += (uint32_t)r;
	}
	expect_err("read of the drained pipe", r, EAGAIN);
	RT_CHECK(drained == filled && bad == 0, "filled %u bytes, drained %u, %u wrong",
		 (unsigned)filled, (unsigned)drained, (unsigned)bad);
	if (drained == filled && bad == 0)
		rt_printf("drained every byte written, in order: ok\n");
	sys_close(p[0]);
	sys_close(p[1]);
}

static void broken_pipe(void)
{
	/*
	 * With SIGPIPE blocked, a write with no reader fails with -EPIPE instead of killing the
	 * process (the signal stays pending; nothing unblocks it). pvemu delivers no signals and
	 * accepts the mask; Linux, and so qemu, needs it.
	 */
	uint64_t set = 1ull << (SIGPIPE - 1);
	long r = sys_rt_sigprocmask(SIG_BLOCK, &set, 0);
	RT_CHECK(r == 0, "rt_sigprocmask(SIG_BLOCK, SIGPIPE) returned %ld", r);
	int p[2];
	expect_val("pipe2(0)", sys_pipe2(p, 0), 0);
	expect_val("close the read end", sys_close(p[0]), 0);
	expect_err("write with no reader", sys_write(p[1], "x", 1), EPIPE);
	sys_close(p[1]);
}

static void poll_now(void)
{
	int p[2];
	expect_val("pipe2(0)", sys_pipe2(p, 0), 0);
	struct pollfd f[2] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 } };
	const short none[2] = { 0, 0 };
	expect_poll("ppoll of an empty pipe's read end", f, 1, 0, none);
	const short out[2] = { 0, POLLOUT };
	expect_poll("ppoll of both ends, empty", f, 2, 1, out);
	expect_val("write 2 bytes", sys_write(p[1], "pq", 2), 2);
	const short in_out[2] = { POLLIN, POLLOUT };
	expect_poll("ppoll of both ends, 2 bytes in", f, 2, 2, in_out);
	expect_val("close the write end", sys_close(p[1]), 0);
	/* No writer: POLLHUP, whether or not it was asked for, with POLLIN while data remains. */
	const short in_hup[1] = { POLLIN | POLLHUP };
	expect_poll("ppoll of the read end, writer closed, data left", f, 1, 1, in_hup);
	uint8_t b[4];
	expect_val("read the 2 bytes", sys_read(p[0], b, sizeof(b)), 2);
	const short hup[1] = { POLLHUP };
	expect_poll("ppoll of the read end, writer closed, empty", f, 1, 1, hup);
	sys_close(p[0]);

	/* No reader: the write end polls POLLERR alongside POLLOUT. */
	expect_val("pipe2(0)", sys_pipe2(p, 0), 0);
	expect_val("close the read end", sys_close(p[0]), 0);
	f[0].fd = p[1];
	f[0].events = POLLOUT;
	const short out_err[1] = { POLLOUT | POLLERR };
	expect_poll("ppoll of the write end, reader closed", f, 1, 1, out_err);
	sys_close(p[1]);

	/* A closed descriptor is POLLNVAL and counts; a negative one is skipped. */
	struct pollfd g[2] = { { 1000, POLLIN, 0 }, { -1, POLLIN, 0 } };
	const short nval[2] = { POLLNVAL, 0 };
	expect_poll("ppoll of fd 1000 and fd -1", g, 2, 1, nval);
}

static void poll_timeout(void)
{
	int p[2];
	expect_val("pipe2(0)", sys_pipe2(p, 0), 0);
	struct pollfd f = { p[0], POLLIN, 0 };
	struct kernel_timespec ts = { 0, 50000000 };
	uint64_t t0 = rt_monotonic_ns();
	long r = sys_ppoll(&f, 1, &ts, 0, KERNEL_SIGSET_SIZE);
	uint64_t dt = rt_monotonic_ns() - t0;
	expect_val("ppoll with a 50 ms timeout, nothing written", r, 0);
	RT_CHECK(f.revents == 0, "revents 0x%x after a timeout", (unsigned)(uint16_t)f.revents);
	RT_CHECK(dt >= 50000000, "the 50 ms ppoll returned after %llu ns", (unsigned long long)dt);
	if (f.revents == 0 && dt >= 50000000)
		rt_printf("ppoll waited at least 50 ms: ok\n");
	sys_close(p[0]);
	sys_close(p[1]);
}

/* ---- two threads ------------------------------------------------------------------------- */

/*
 * The request pipe carries MSG_LEN bytes per round from the main thread to the echo thread,
 * the reply pipe the same bytes complemented and reversed back. Writes of MSG_LEN bytes are
 * below PIPE_BUF, so each is atomic; reads still loop in case a kernel splits one.
 */
struct echo {
	struct rt_thread t;
	int req_r, rep_w;
	int use_poll;
	const char *fail; /* the echo thread's first failure, reported by the main thread */
	long fail_value;
	uint32_t fail_round;
};

static void make_msg(uint8_t *m, uint32_t round)
{
	for (uint32_t k = 0; k < MSG_LEN; k++)
		m[k] = (uint8_t)(round * 31u + k * 7u + 1u);
}

static void make_reply(uint8_t *r, const uint8_t *m)
{
	for (uint32_t k = 0; k < MSG_LEN; k++)
		r[k] = (uint8_t)~m[MSG_LEN - 1 - k];
}

/* Blocks in ppoll with no timeout until fd is readable; 0, or what went wrong. */
static long wait_readable(int fd)
{
	struct pollfd f = { fd, POLLIN, 0 };
	long r = sys_ppoll(&f, 1, 0, 0, KERNEL_SIGSET_SIZE);
	if (r != 1)
		return r < 0 ? r : -1000 - r;
	if (!(f.revents & (POLLIN | POLLHUP)))
		return -2000 - f.revents;
	return 0;
}

/* Reads exactly len bytes unless end of file comes first; the count read, or -errno. */
static long read_full(int fd, uint8_t *p, uint32_t len)
{
	uint32_t got = 0;
	while (got < len) {
		long r = sys_read(fd, p + got, len - got);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (uint32_t)r;
	}
	return (long)got;
}

static int echo_thread(void *arg)
{
	struct echo *e = arg;
	uint8_t m[MSG_LEN], want[MSG_LEN], reply[MSG_LEN];
	for (uint32_t round = 0;; round++) {
		if (e->use_poll) {
			long w = wait_readable(e->req_r);
			if (w != 0) {
				e->fail = "echo thread: ppoll";
				e->fail_value = w;
				e->fail_round = round;
				return 1;
			}
		}
		long n = read_full(e->req_r, m, MSG_LEN);
		if (n == 0 && round == rounds)
			return 0; /* the main thread closed the request pipe after the last round */
		make_msg(want, round);
		if (n != MSG_LEN || memcmp(m, want, MSG_LEN) != 0) {
			e->fail = "echo thread: request";
			e->fail_value = n;
			e->fail_round = round;
			return 1;
		}
		make_reply(reply, m);
		n = sys_write(e->rep_w, reply, MSG_LEN);
		if (n != MSG_LEN) {
			e->fail = "echo thread: write of the reply";
			e->fail_value = n;
			e->fail_round = round;
			return 1;
		}
	}
}

static void ping_pong(int use_poll)
{
	const char *how = use_poll ? "blocked in ppoll" : "blocked in read";
	int req[2], rep[2];
	if (sys_pipe2(req, 0) != 0 || sys_pipe2(rep, 0) != 0) {
		RT_CHECK(0, "pipe2 for the ping-pong failed");
		return;
	}
	static struct echo e;
	e.req_r = req[0];
	e.rep_w = rep[1];
	e.use_poll = use_poll;
	e.fail = 0;
	int r = rt_thread_start(&e.t, echo_thread, &e);
	if (r != 0) {
		RT_CHECK(0, "starting the echo thread failed (%d)", r);
		return;
	}
	/*
	 * Let the echo thread reach its read (or ppoll) and sleep there before the first
	 * request, so at least the first round wakes a thread that is really blocked.
	 */
	rt_sleep_ns(20000000);

	uint8_t m[MSG_LEN], reply[MSG_LEN], want[MSG_LEN];
	uint32_t done = 0;
	for (uint32_t round = 0; round < rounds; round++) {
		make_msg(m, round);
		long n = sys_write(req[1], m, MSG_LEN);
		if (n != MSG_LEN) {
			RT_CHECK(0, "%s: round %u: write of the request returned %ld", how,
				 (unsigned)round, n);
			break;
		}
		if (use_poll) {
			long w = wait_readable(rep[0]);
			if (w != 0) {
				RT_CHECK(0, "%s: round %u: main thread's ppoll returned %ld", how,
					 (unsigned)round, w);
				break;
			}
		}
		n = read_full(rep[0], reply, MSG_LEN);
		make_reply(want, m);
		if (n != MSG_LEN || memcmp(reply, want, MSG_LEN) != 0) {
			RT_CHECK(0, "%s: round %u: reply of %ld bytes, wrong", how, (unsigned)round, n);
			break;
		}
		done++;
	}
	/* End of file on the request pipe is the echo thread's signal to return. */
	sys_close(req[1]);
	int ret = rt_thread_join(&e.t);
	RT_CHECK(ret == 0, "%s: %s failed in round %u (%ld)", how, e.fail ? e.fail : "echo thread",
		 (unsigned)e.fail_round, e.fail_value);
	/* The echo thread has gone: its write end is closed below, so this read sees end of file. */
	sys_close(rep[1]);
	uint8_t b;
	RT_CHECK(sys_read(rep[0], &b, 1) == 0, "%s: reply pipe not at end of file", how);
	sys_close(req[0]);
	sys_close(rep[0]);
	if (ret == 0 && done == rounds)
		rt_printf("two threads, %s: %u round trips of %u bytes each way: ok\n", how,
			  (unsigned)done, (unsigned)MSG_LEN);
}

/*
 * A blocking write far larger than the pipe: it must sleep and go on several times (each time
 * the reader makes room) and return the whole count, with every byte arriving once, in order.
 */
#define BIG_WRITE (256 * 1024)
static uint8_t big[BIG_WRITE];

struct drain {
	struct rt_thread t;
	int fd;
	long got;
	long bad_at;
};

static int drain_thread(void *arg)
{
	struct drain *d = arg;
	static uint8_t piece[1000];
	d->got = 0;
	d->bad_at = -1;
	for (;;) {
		long n = sys_read(d->fd, piece, sizeof(piece));
		if (n <= 0)
			return n == 0 ? 0 : 1;
		for (long i = 0; i < n; i++)
			if (piece[i] != pattern((uint32_t)(d->got + i)) && d->bad_at < 0)
				d->bad_at = d->got + i;
		d->got += n;
	}
}

static void big_write(void)
{
	int p[2];
	if (sys_pipe2(p, 0) != 0) {
		RT_CHECK(0, "pipe2 for the big write failed");
		return;
	}
	for (uint32_t i = 0; i < BIG_WRITE; i++)
		big[i] = pattern(i);
	static struct drain d;
	d.fd = p[0];
	int r = rt_thread_start(&d.t, drain_thread, &d);
	if (r != 0) {
		RT_CHECK(0, "starting the drain thread failed (%d)", r);
		return;
	}
	expect_val("one blocking write of 256 KiB while a thread reads 1000 bytes at a time",
		   sys_write(p[1], big, BIG_WRITE), BIG_WRITE);
	sys_close(p[1]);
	int ret = rt_thread_join(&d.t);
	RT_CHECK(ret == 0 && d.got == BIG_WRITE && d.bad_at < 0,
		 "drain thread: %d, %ld bytes, first wrong byte at %ld", ret, d.got, d.bad_at);
	if (ret == 0 && d.got == BIG_WRITE && d.bad_at < 0)
		rt_printf("the reader got every byte once, in order: ok\n");
	sys_close(p[0]);
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	struct rt_opt opts[] = {
		{ 'n', "round trips per ping-pong", 1, 1000000, &rounds },
	};
	rt_parse_opts("pipes", argc, argv, opts, 1);

	blocking_pipe();
	nonblocking_pipe();
	broken_pipe();
	poll_now();
	poll_timeout();
	ping_pong(0);
	ping_pong(1);
	big_write();
	return rt_report("pipes");
}
