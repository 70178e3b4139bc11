/*
 * System calls for riscv32 Linux: ecall with the number in a7, arguments in a0..a5, the result
 * (or -errno, -4095..-1) back in a0. Numbers are asm-generic's (include/uapi/asm-generic/unistd.h)
 * as a 32-bit architecture without __ARCH_WANT_TIME32_SYSCALLS sees them: riscv32 has only the
 * time64 calls (futex_time64, clock_gettime64, clock_nanosleep_time64), and number 222 is mmap2
 * (offset in 4096-byte units), not mmap. The same 32-bit view makes 46, 62 and 80 the 64-bit
 * file calls ftruncate64, llseek and fstat64: a 64-bit argument travels in a register pair
 * (low word first, no even-register alignment), a 64-bit result through a pointer.
 */
#ifndef GUEST_RT_SYSCALL_H
#define GUEST_RT_SYSCALL_H

#include <stdint.h>
#include <stddef.h>

#define SYS_unlinkat 35
#define SYS_ftruncate64 46
#define SYS_openat 56
#define SYS_close 57
#define SYS_pipe2 59
#define SYS_llseek 62
#define SYS_read 63
#define SYS_write 64
#define SYS_readv 65
#define SYS_writev 66
#define SYS_fstat64 80
#define SYS_exit 93
#define SYS_exit_group 94
#define SYS_set_tid_address 96
#define SYS_sched_yield 124
#define SYS_rt_sigprocmask 135
#define SYS_getpid 172
#define SYS_gettid 178
#define SYS_brk 214
#define SYS_munmap 215
#define SYS_mremap 216
#define SYS_clone 220
#define SYS_mmap2 222
#define SYS_mprotect 226
#define SYS_madvise 233
#define SYS_clock_gettime64 403
#define SYS_clock_nanosleep_time64 407
#define SYS_ppoll_time64 414
#define SYS_futex_time64 422

/* errno values (include/uapi/asm-generic/errno-base.h, errno.h). */
#define ENOENT 2
#define EINTR 4
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EEXIST 17
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ESPIPE 29
#define EPIPE 32
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ETIMEDOUT 110

/* mmap and friends (include/uapi/asm-generic/mman-common.h). */
#define PROT_NONE 0x0
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MADV_DONTNEED 4
#define MREMAP_MAYMOVE 1

/* open flags (include/uapi/asm-generic/fcntl.h; octal, as there). */
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define AT_REMOVEDIR 0x200

/* lseek whence (include/uapi/linux/fs.h). */
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

/* st_mode file types (include/uapi/linux/stat.h). */
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFIFO 0010000
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISFIFO(m) (((m) & S_IFMT) == S_IFIFO)

/* poll events (include/uapi/asm-generic/poll.h). */
#define POLLIN 0x0001
#define POLLPRI 0x0002
#define POLLOUT 0x0004
#define POLLERR 0x0008
#define POLLHUP 0x0010
#define POLLNVAL 0x0020

/* Signals and rt_sigprocmask's how (include/uapi/asm-generic/signal.h, signal-defs.h). */
#define SIGPIPE 13
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
/* The kernel's sigset_t: 64 signals, so rt_sigprocmask and ppoll take sigsetsize 8. */
#define KERNEL_SIGSET_SIZE 8

/* clone flags (include/uapi/linux/sched.h). */
#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_SETTLS 0x00080000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000

/* futex ops (include/uapi/linux/futex.h). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

/* struct __kernel_timespec: what the time64 calls take on a 32-bit architecture (16 bytes). */
struct kernel_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

/* struct iovec (include/uapi/linux/uio.h). */
struct iovec {
	void *iov_base;
	size_t iov_len;
};

/* struct pollfd (include/uapi/asm-generic/poll.h). */
struct pollfd {
	int fd;
	short events;
	short revents;
};

/*
 * asm-generic's struct stat64, what fstat64 fills on a 32-bit architecture (104 bytes): 64-bit
 * device, inode, size and block count, 32-bit times with their nanoseconds.
 */
struct kernel_stat64 {
	uint64_t st_dev;
	uint64_t st_ino;
	uint32_t st_mode;
	uint32_t st_nlink;
	uint32_t st_uid;
	uint32_t st_gid;
	uint64_t st_rdev;
	uint64_t __pad1;
	int64_t st_size;
	int32_t st_blksize;
	int32_t __pad2;
	int64_t st_blocks;
	int32_t st_atime;
	uint32_t st_atime_nsec;
	int32_t st_mtime;
	uint32_t st_mtime_nsec;
	int32_t st_ctime;
	uint32_t st_ctime_nsec;
	uint32_t __unused4;
	uint32_t __unused5;
};
_Static_assert(sizeof(struct kernel_stat64) == 104, "asm-generic struct stat64 is 104 bytes");
_Static_assert(__builtin_offsetof(struct kernel_stat64, st_size) == 48, "st_size at 48");
_Static_assert(__builtin_offsetof(struct kernel_stat64, st_blocks) == 64, "st_blocks at 64");

static inline long __syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long a7 __asm__("a7") = n;
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	register long a3 __asm__("a3") = d;
	register long a4 __asm__("a4") = e;
	register long a5 __asm__("a5") = f;
	/* "memory": the kernel reads and writes user memory behind the compiler's back. */
	__asm__ volatile("ecall"
			 : "+r"(a0)
			 : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
			 : "memory");
	return a0;
}

#define __syscall0(n) __syscall6((n), 0, 0, 0, 0, 0, 0)
#define __syscall1(n, a) __syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define __syscall2(n, a, b) __syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define __syscall3(n, a, b, c) __syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define __syscall4(n, a, b, c, d) __syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define __syscall5(n, a, b, c, d, e)                                                             \
	__syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* A result in -4095..-1 is -errno (the kernel's IS_ERR_VALUE convention). */
static inline int sys_is_error(long r)
{
	return (unsigned long)r > (unsigned long)-4096;
}

static inline long sys_write(int fd, const void *buf, size_t len)
{
	return __syscall3(SYS_write, fd, buf, len);
}

static inline long sys_read(int fd, void *buf, size_t len)
{
	return __syscall3(SYS_read, fd, buf, len);
}

static inline long sys_readv(int fd, const struct iovec *iov, int iovcnt)
{
	return __syscall3(SYS_readv, fd, iov, iovcnt);
}

static inline long sys_writev(int fd, const struct iovec *iov, int iovcnt)
{
	return __syscall3(SYS_writev, fd, iov, iovcnt);
}

/* openat(dirfd, path, flags, mode): the new descriptor (the lowest free one) or -errno. */
static inline long sys_openat(int dirfd, const char *path, int flags, unsigned mode)
{
	return __syscall4(SYS_openat, dirfd, path, flags, mode);
}

static inline long sys_close(int fd)
{
	return __syscall1(SYS_close, fd);
}

/* pipe2(fds, flags): fds[0] the read end, fds[1] the write end. */
static inline long sys_pipe2(int fds[2], int flags)
{
	return __syscall2(SYS_pipe2, fds, flags);
}

/* llseek(fd, offset_high, offset_low, &result, whence): the new position lands in *result. */
static inline long sys_llseek(int fd, int64_t offset, int64_t *result, int whence)
{
	return __syscall5(SYS_llseek, fd, (uint32_t)((uint64_t)offset >> 32), (uint32_t)offset, result,
			  whence);
}

/* ftruncate64(fd, length): the 64-bit length in a1 (low word) and a2 (high word). */
static inline long sys_ftruncate(int fd, int64_t length)
{
	return __syscall3(SYS_ftruncate64, fd, (uint32_t)length, (uint32_t)((uint64_t)length >> 32));
}

static inline long sys_fstat(int fd, struct kernel_stat64 *st)
{
	return __syscall2(SYS_fstat64, fd, st);
}

/* unlinkat(dirfd, path, flags): flags 0 for a file, AT_REMOVEDIR for a directory. */
static inline long sys_unlinkat(int dirfd, const char *path, int flags)
{
	return __syscall3(SYS_unlinkat, dirfd, path, flags);
}

/*
 * ppoll_time64(fds, nfds, timeout, sigmask, sigsetsize): the number of entries with non-zero
 * revents, 0 on timeout. timeout NULL waits for ever, {0, 0} does not wait; Linux writes the
 * time left back into *timeout, so pass a fresh one each call.
 */
static inline long sys_ppoll(struct pollfd *fds, unsigned nfds, struct kernel_timespec *timeout,
			     const uint64_t *sigmask, size_t sigsetsize)
{
	return __syscall5(SYS_ppoll_time64, fds, nfds, timeout, sigmask, sigsetsize);
}

/* rt_sigprocmask(how, set, oldset, sigsetsize): sigsetsize must be KERNEL_SIGSET_SIZE. */
static inline long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *oldset)
{
	return __syscall4(SYS_rt_sigprocmask, how, set, oldset, KERNEL_SIGSET_SIZE);
}

__attribute__((noreturn)) static inline void sys_exit(int status)
{
	__syscall1(SYS_exit, status);
	__builtin_unreachable();
}

__attribute__((noreturn)) static inline void sys_exit_group(int status)
{
	__syscall1(SYS_exit_group, status);
	__builtin_unreachable();
}

static inline long sys_set_tid_address(volatile int *tidptr)
{
	return __syscall1(SYS_set_tid_address, tidptr);
}

static inline long sys_sched_yield(void)
{
	return __syscall0(SYS_sched_yield);
}

static inline long sys_getpid(void)
{
	return __syscall0(SYS_getpid);
}

static inline long sys_gettid(void)
{
	return __syscall0(SYS_gettid);
}

static inline long sys_brk(void *addr)
{
	return __syscall1(SYS_brk, addr);
}

/* mmap2: the offset is in 4096-byte units whatever the page size (arch/riscv sys_mmap2). */
static inline long sys_mmap2(void *addr, size_t len, int prot, int flags, int fd, unsigned long pgoff)
{
	return __syscall6(SYS_mmap2, (long)addr, (long)len, prot, flags, fd, (long)pgoff);
}

static inline long sys_munmap(void *addr, size_t len)
{
	return __syscall2(SYS_munmap, addr, len);
}

/* mremap(old, old_len, new_len, flags, new_addr): the mapping's (possibly new) address. */
static inline long sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return __syscall5(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

static inline long sys_mprotect(void *addr, size_t len, int prot)
{
	return __syscall3(SYS_mprotect, addr, len, prot);
}

static inline long sys_madvise(void *addr, size_t len, int advice)
{
	return __syscall3(SYS_madvise, addr, len, advice);
}

static inline long sys_clock_gettime(int clk, struct kernel_timespec *ts)
{
	return __syscall2(SYS_clock_gettime64, clk, ts);
}

static inline long sys_clock_nanosleep(int clk, int flags, const struct kernel_timespec *req,
				       struct kernel_timespec *rem)
{
	return __syscall4(SYS_clock_nanosleep_time64, clk, flags, req, rem);
}

static inline long sys_futex(volatile int *uaddr, int op, int val, const struct kernel_timespec *timeout)
{
	return __syscall4(SYS_futex_time64, uaddr, op, val, timeout);
}

#endif
