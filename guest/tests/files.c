/*
 * Regular files through the riscv32 file system calls, single-threaded: openat with O_CREAT,
 * O_TRUNC, O_EXCL and O_APPEND; write, writev, read, readv; llseek from each whence (and
 * -ESPIPE on a pipe); fstat64; ftruncate64 growing (zeros) and shrinking; a MAP_SHARED mmap2
 * of the file kept coherent with read and write; unlinkat with a descriptor still open; the
 * error answers (EBADF, ENOENT, EEXIST, EISDIR, ENAMETOOLONG); mremap; writev to stdout.
 *
 * The file is /tmp/pvemu-guest-files.<pid> (pvemu's file system has only / and /tmp, paths up
 * to 63 bytes; the pid keeps runs on one host apart) and is unlinked before the program ends.
 * One line per check, the same on every run: no descriptor numbers, no pid, no pipe capacity.
 */
#include "rt.h"

#define PAGE 4096u

static char path[64];

/* The errno names the checks print; anything else prints as a number. */
static const char *errname(long r)
{
	switch (-r) {
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ESPIPE: return "ESPIPE";
	case EPIPE: return "EPIPE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	default: return 0;
	}
}

/* Prints "what: -ENAME" (what the call returned) and checks it was -err. */
static void expect_err(const char *what, long r, int err)
{
	const char *name = errname(r);
	if (r < 0 && name)
		rt_printf("%s: -%s\n", what, name);
	else
		rt_printf("%s: %ld\n", what, r);
	RT_CHECK(r == -err, "%s: returned %ld, expected -%s", what, r, errname(-err));
}

/* Prints "what: value" and checks it; only for values that are the same on every host. */
static void expect_val(const char *what, long long got, long long want)
{
	rt_printf("%s: %lld\n", what, got);
	RT_CHECK(got == want, "%s: %lld, expected %lld", what, got, want);
}

/* Prints "what: ok" when cond holds (a FAIL line from RT_CHECK when not). */
#define EXPECT_OK(what, cond, ...)                                                               \
	do {                                                                                     \
		int ok_ = (cond);                                                                \
		RT_CHECK(ok_, __VA_ARGS__);                                                      \
		if (ok_)                                                                         \
			rt_printf("%s: ok\n", what);                                             \
	} while (0)

static int64_t seek(int fd, int64_t off, int whence)
{
	int64_t pos = -1;
	long r = sys_llseek(fd, off, &pos, whence);
	return r == 0 ? pos : r;
}

/* read(2) of exactly len bytes at offset off (llseek then read). */
static long pread_at(int fd, int64_t off, void *buf, size_t len)
{
	int64_t p = seek(fd, off, SEEK_SET);
	if (p != off)
		return p < 0 ? (long)p : -EINVAL;
	return sys_read(fd, buf, len);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

static const char text1[] = "hello, ";
static const char text2[] = "files";
static const char text3[] = " and pipes\n";
/* What the first writes leave in the file: text1, then text2 and text3 by writev. */
static const char content[] = "hello, files and pipes\n";
#define CONTENT_LEN (sizeof(content) - 1)

static uint8_t buf[3 * PAGE];

static void write_read_seek(int fd)
{
	struct kernel_stat64 st;
	RT_CHECK(sys_fstat(fd, &st) == 0, "fstat of the new file failed");
	expect_val("new file: st_size", st.st_size, 0);

	expect_val("write", sys_write(fd, text1, sizeof(text1) - 1), (long)(sizeof(text1) - 1));
	/* A zero-length element in the middle counts for nothing. */
	struct iovec iov[3] = {
		{ (void *)text2, sizeof(text2) - 1 },
		{ (void *)text1, 0 },
		{ (void *)text3, sizeof(text3) - 1 },
	};
	expect_val("writev of 3 elements", sys_writev(fd, iov, 3),
		   (long)(sizeof(text2) - 1 + sizeof(text3) - 1));
	expect_val("llseek(0, SEEK_CUR)", seek(fd, 0, SEEK_CUR), CONTENT_LEN);
	expect_val("read at end of file", sys_read(fd, buf, sizeof(buf)), 0);

	expect_val("llseek(0, SEEK_SET)", seek(fd, 0, SEEK_SET), 0);
	memset(buf, 0xee, sizeof(buf));
	long n = sys_read(fd, buf, sizeof(buf));
	expect_val("read of the whole file", n, CONTENT_LEN);
	EXPECT_OK("read data", n == (long)CONTENT_LEN && memcmp(buf, content, CONTENT_LEN) == 0 &&
		  buf[CONTENT_LEN] == 0xee, "read back '%s'", (const char *)buf);

	expect_val("llseek(-6, SEEK_CUR)", seek(fd, -6, SEEK_CUR), CONTENT_LEN - 6);
	n = sys_read(fd, buf, 5);
	EXPECT_OK("read after SEEK_CUR", n == 5 && memcmp(buf, "pipes", 5) == 0,
		  "read %ld bytes '%c%c%c'", n, buf[0], buf[1], buf[2]);
	expect_val("llseek(0, SEEK_END)", seek(fd, 0, SEEK_END), CONTENT_LEN);
	expect_val("llseek(-11, SEEK_END)", seek(fd, -11, SEEK_END), CONTENT_LEN - 11);
	/* Past the end is allowed; before the start is not, and the position stays put. */
	expect_val("llseek(100, SEEK_END)", seek(fd, 100, SEEK_END), CONTENT_LEN + 100);
	expect_val("read past end of file", sys_read(fd, buf, 10), 0);
	expect_val("llseek(7, SEEK_SET)", seek(fd, 7, SEEK_SET), 7);
	expect_err("llseek to a negative position", (long)seek(fd, -8, SEEK_SET), EINVAL);
	expect_err("llseek(-8, SEEK_CUR) from 7", (long)seek(fd, -8, SEEK_CUR), EINVAL);
	expect_val("position after the failed llseeks", seek(fd, 0, SEEK_CUR), 7);
	expect_err("llseek with whence 9", (long)seek(fd, 0, 9), EINVAL);

	/* readv fills the elements in order and stops at end of file. */
	uint8_t a[4], b[64];
	memset(b, 0xee, sizeof(b));
	struct iovec riov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	expect_val("llseek(0, SEEK_SET)", seek(fd, 0, SEEK_SET), 0);
	n = sys_readv(fd, riov, 2);
	expect_val("readv into 4 + 64 bytes", n, CONTENT_LEN);
	EXPECT_OK("readv data", n == (long)CONTENT_LEN && memcmp(a, content, 4) == 0 &&
		  memcmp(b, content + 4, CONTENT_LEN - 4) == 0 && b[CONTENT_LEN - 4] == 0xee,
		  "readv data differs");

	RT_CHECK(sys_fstat(fd, &st) == 0, "fstat failed");
	expect_val("fstat: st_size", st.st_size, CONTENT_LEN);
	expect_val("fstat: S_ISREG", S_ISREG(st.st_mode), 1);
	expect_val("fstat: st_nlink", st.st_nlink, 1);
}

/* ftruncate64 up to three pages (zeros after the old end), then MAP_SHARED coherence. */
static void truncate_and_map(int fd)
{
	struct kernel_stat64 st;
	expect_val("ftruncate to 3 pages", sys_ftruncate(fd, 3 * PAGE), 0);
	RT_CHECK(sys_fstat(fd, &st) == 0, "fstat failed");
	expect_val("fstat after growing: st_size", st.st_size, 3 * PAGE);
	memset(buf, 0xee, sizeof(buf));
	long n = pread_at(fd, 0, buf, sizeof(buf));
	expect_val("read of the grown file", n, 3 * PAGE);
	EXPECT_OK("grown file: old data, then zeros",
		  n == 3 * PAGE && memcmp(buf, content, CONTENT_LEN) == 0 &&
			  all_zero(buf + CONTENT_LEN, 3 * PAGE - CONTENT_LEN),
		  "grown file reads wrong");

	long m = sys_mmap2(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	RT_CHECK(!sys_is_error(m), "mmap2 MAP_SHARED of the file failed (%ld)", m);
	if (sys_is_error(m))
		return;
	volatile uint8_t *map = (uint8_t *)m;
	EXPECT_OK("mmap2 MAP_SHARED sees the file", map[0] == 'h' && map[CONTENT_LEN - 1] == '\n' &&
		  map[CONTENT_LEN] == 0 && map[PAGE + 5] == 0, "the mapping reads %02x %02x",
		  map[0], map[CONTENT_LEN - 1]);

	/* A store through the mapping is what read() returns. */
	map[0] = 'H';
	map[PAGE + 5] = 'M';
	uint8_t c[2] = { 0, 0 };
	n = pread_at(fd, 0, c, 1);
	RT_CHECK(n == 1, "read at 0 returned %ld", n);
	n = pread_at(fd, PAGE + 5, c + 1, 1);
	RT_CHECK(n == 1, "read at PAGE + 5 returned %ld", n);
	EXPECT_OK("store through the mapping, then read()", c[0] == 'H' && c[1] == 'M',
		  "read() sees %02x %02x", c[0], c[1]);

	/* write() is what the mapping shows. */
	RT_CHECK(seek(fd, PAGE - 2, SEEK_SET) == PAGE - 2, "llseek failed");
	n = sys_write(fd, "WXYZ", 4);
	RT_CHECK(n == 4, "write across the page boundary returned %ld", n);
	EXPECT_OK("write(), then load through the mapping",
		  map[PAGE - 2] == 'W' && map[PAGE - 1] == 'X' && map[PAGE] == 'Y' && map[PAGE + 1] == 'Z',
		  "the mapping shows %02x %02x %02x %02x", map[PAGE - 2], map[PAGE - 1], map[PAGE],
		  map[PAGE + 1]);

	/* The same page through a second mapping at a page offset (mmap2 counts in pages). */
	long m2 = sys_mmap2(0, PAGE, PROT_READ, MAP_SHARED, fd, 1);
	RT_CHECK(!sys_is_error(m2), "mmap2 MAP_SHARED at page offset 1 failed (%ld)", m2);
	if (!sys_is_error(m2)) {
		volatile uint8_t *map2 = (uint8_t *)m2;
		EXPECT_OK("mmap2 at page offset 1", map2[0] == 'Y' && map2[5] == 'M',
			  "page offset 1 maps %02x %02x", map2[0], map2[5]);
		map[PAGE + 6] = 'N';
		EXPECT_OK("two shared mappings of one page", map2[6] == 'N', "second mapping reads %02x",
			  map2[6]);
		expect_val("munmap of the second mapping", sys_munmap((void *)map2, PAGE), 0);
	}
	expect_val("munmap", sys_munmap((void *)map, 2 * PAGE), 0);
	n = pread_at(fd, PAGE + 5, c, 2);
	EXPECT_OK("stores through the mapping outlive munmap", n == 2 && c[0] == 'M' && c[1] == 'N',
		  "read %ld bytes %02x %02x", n, c[0], c[1]);

	/* Shrink: the size drops and reads stop at the new end. */
	expect_val("ftruncate to 10 bytes", sys_ftruncate(fd, 10), 0);
	RT_CHECK(sys_fstat(fd, &st) == 0, "fstat failed");
	expect_val("fstat after shrinking: st_size", st.st_size, 10);
	memset(buf, 0xee, 32);
	n = pread_at(fd, 0, buf, 32);
	expect_val("read of the shrunk file", n, 10);
	EXPECT_OK("shrunk file data", n == 10 && memcmp(buf, "Hello, fil", 10) == 0 && buf[10] == 0xee,
		  "shrunk file reads wrong");
	/* ftruncate leaves the position alone: it is now past the end. */
	expect_val("llseek(0, SEEK_CUR) after ftruncate", seek(fd, 0, SEEK_CUR), 10);

	/* A write past the end leaves a hole that reads as zeros. */
	RT_CHECK(seek(fd, 20, SEEK_SET) == 20, "llseek failed");
	expect_val("write at offset 20", sys_write(fd, "Z", 1), 1);
	memset(buf, 0xee, 32);
	n = pread_at(fd, 0, buf, 32);
	expect_val("read of the file with a hole", n, 21);
	EXPECT_OK("the hole reads as zeros", n == 21 && all_zero(buf + 10, 10) && buf[20] == 'Z',
		  "hole data wrong");
}

static void append_excl_errors(int fd)
{
	/* O_APPEND: every write goes to the end whatever the position. */
	long fa = sys_openat(AT_FDCWD, path, O_WRONLY | O_APPEND, 0);
	RT_CHECK(fa >= 0, "openat O_WRONLY|O_APPEND failed (%ld)", fa);
	if (fa >= 0) {
		RT_CHECK(seek((int)fa, 0, SEEK_SET) == 0, "llseek failed");
		expect_val("O_APPEND write", sys_write((int)fa, "end", 3), 3);
		expect_val("O_APPEND position after the write", seek((int)fa, 0, SEEK_CUR), 24);
		uint8_t e[4];
		long n = pread_at(fd, 20, e, 4);
		EXPECT_OK("O_APPEND data at the end", n == 4 && memcmp(e, "Zend", 4) == 0,
			  "read %ld bytes", n);
		/* A read on a write-only descriptor. */
		expect_err("read on an O_WRONLY descriptor", sys_read((int)fa, e, 1), EBADF);
		expect_val("close", sys_close((int)fa), 0);
		expect_err("close again", sys_close((int)fa), EBADF);
		expect_err("write on a closed descriptor", sys_write((int)fa, "x", 1), EBADF);
	}

	/* The lowest free descriptor is reused. */
	long f1 = sys_openat(AT_FDCWD, path, O_RDONLY, 0);
	RT_CHECK(f1 >= 0, "openat O_RDONLY failed (%ld)", f1);
	sys_close((int)f1);
	long f2 = sys_openat(AT_FDCWD, path, O_RDONLY, 0);
	EXPECT_OK("openat reuses the lowest free descriptor", f2 == f1, "got %ld after closing %ld",
		  f2, f1);
	if (f2 >= 0) {
		expect_err("write on an O_RDONLY descriptor", sys_write((int)f2, "x", 1), EBADF);
		sys_close((int)f2);
	}

	expect_err("openat O_CREAT|O_EXCL of an existing file",
		   sys_openat(AT_FDCWD, path, O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
	char missing[64];
	rt_snprintf(missing, sizeof(missing), "%s.missing", path);
	expect_err("openat of a missing file", sys_openat(AT_FDCWD, missing, O_RDONLY, 0), ENOENT);
	expect_err("unlinkat of a missing file", sys_unlinkat(AT_FDCWD, missing, 0), ENOENT);
	expect_err("openat of /tmp for writing", sys_openat(AT_FDCWD, "/tmp", O_WRONLY, 0), EISDIR);
	/* A 300-byte name: past pvemu's 63-byte paths and Linux's 255-byte NAME_MAX alike. */
	static char longname[320];
	memcpy(longname, "/tmp/", 5);
	memset(longname + 5, 'n', 300);
	longname[305] = 0;
	expect_err("openat of a 300-byte name", sys_openat(AT_FDCWD, longname, O_RDONLY, 0),
		   ENAMETOOLONG);

	/* Bad descriptors. */
	uint8_t x;
	struct kernel_stat64 st;
	expect_err("read(-1)", sys_read(-1, &x, 1), EBADF);
	expect_err("write(1000)", sys_write(1000, &x, 1), EBADF);
	expect_err("close(1000)", sys_close(1000), EBADF);
	expect_err("fstat(1000)", sys_fstat(1000, &st), EBADF);
	expect_err("llseek(1000)", (long)seek(1000, 0, SEEK_SET), EBADF);
	expect_err("ftruncate(1000)", sys_ftruncate(1000, 0), EBADF);

	/* A pipe has no position. */
	int p[2];
	long r = sys_pipe2(p, O_CLOEXEC);
	RT_CHECK(r == 0, "pipe2 failed (%ld)", r);
	if (r == 0) {
		expect_err("llseek on a pipe", (long)seek(p[0], 0, SEEK_CUR), ESPIPE);
		sys_close(p[0]);
		sys_close(p[1]);
	}

	/* O_TRUNC on open empties the file for every descriptor. */
	long ft = sys_openat(AT_FDCWD, path, O_RDWR | O_TRUNC, 0);
	RT_CHECK(ft >= 0, "openat O_RDWR|O_TRUNC failed (%ld)", ft);
	RT_CHECK(sys_fstat(fd, &st) == 0, "fstat failed");
	expect_val("st_size after another open with O_TRUNC", st.st_size, 0);
	if (ft >= 0) {
		expect_val("write through the second descriptor",
			   sys_write((int)ft, content, CONTENT_LEN), CONTENT_LEN);
		sys_close((int)ft);
	}
}

/* unlinkat removes the name; a descriptor opened before keeps the data (and st_nlink is 0). */
static void unlink_open(int fd)
{
	expect_val("unlinkat", sys_unlinkat(AT_FDCWD, path, 0), 0);
	expect_err("openat after unlinkat", sys_openat(AT_FDCWD, path, O_RDONLY, 0), ENOENT);
	expect_err("unlinkat again", sys_unlinkat(AT_FDCWD, path, 0), ENOENT);
	memset(buf, 0xee, 64);
	long n = pread_at(fd, 0, buf, 64);
	expect_val("read through the open descriptor after unlinkat", n, CONTENT_LEN);
	EXPECT_OK("unlinked file data", n == (long)CONTENT_LEN && memcmp(buf, content, CONTENT_LEN) == 0,
		  "unlinked file reads wrong");
	struct kernel_stat64 st;
	RT_CHECK(sys_fstat(fd, &st) == 0, "fstat of the unlinked file failed");
	expect_val("fstat after unlinkat: st_nlink", st.st_nlink, 0);
	expect_val("fstat after unlinkat: st_size", st.st_size, CONTENT_LEN);
	expect_val("close of the unlinked file", sys_close(fd), 0);
}

/*
 * mremap growing an anonymous mapping: pvemu answers -ENOMEM, Linux may move it
 * (MREMAP_MAYMOVE). Either way the data must survive where the mapping now is.
 */
static void remap(void)
{
	long m = sys_mmap2(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	RT_CHECK(!sys_is_error(m), "mmap2 failed (%ld)", m);
	if (sys_is_error(m))
		return;
	volatile uint8_t *p = (uint8_t *)m;
	p[0] = 42;
	p[PAGE - 1] = 43;
	long r = sys_mremap((void *)p, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0);
	if (r == -ENOMEM) {
		EXPECT_OK("mremap (ENOMEM or moved)", p[0] == 42 && p[PAGE - 1] == 43,
			  "the mapping lost its data after a failed mremap");
		sys_munmap((void *)p, PAGE);
		return;
	}
	RT_CHECK(!sys_is_error(r), "mremap returned %ld, neither an address nor -ENOMEM", r);
	if (sys_is_error(r)) {
		sys_munmap((void *)p, PAGE);
		return;
	}
	volatile uint8_t *q = (uint8_t *)r;
	EXPECT_OK("mremap (ENOMEM or moved)", q[0] == 42 && q[PAGE - 1] == 43 && q[PAGE] == 0 &&
		  q[2 * PAGE - 1] == 0, "the remapped region reads %u %u %u", q[0], q[PAGE - 1], q[PAGE]);
	sys_munmap((void *)q, 2 * PAGE);
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	rt_snprintf(path, sizeof(path), "/tmp/pvemu-guest-files.%ld", sys_getpid());

	long fd = sys_openat(AT_FDCWD, path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	RT_CHECK(fd >= 0, "openat O_CREAT|O_TRUNC|O_RDWR failed (%ld)", fd);
	if (fd < 0)
		return rt_report("files");
	rt_printf("openat O_CREAT|O_TRUNC|O_RDWR: ok\n");
	write_read_seek((int)fd);
	truncate_and_map((int)fd);
	append_excl_errors((int)fd);
	unlink_open((int)fd);
	remap();

	static const char l1[] = "writev", l2[] = " to stdout", l3[] = ": ok\n";
	struct iovec out[3] = {
		{ (void *)l1, sizeof(l1) - 1 },
		{ (void *)l2, sizeof(l2) - 1 },
		{ (void *)l3, sizeof(l3) - 1 },
	};
	long n = sys_writev(1, out, 3);
	RT_CHECK(n == (long)(sizeof(l1) + sizeof(l2) + sizeof(l3) - 3), "writev to stdout returned %ld", n);
	return rt_report("files");
}
