/*
 * System calls for riscv32 Linux: ecall with the number in a7, arguments in a0..a5, the result
 * (or -errno, -4095..-1) back in a0. Numbers are asm-generic's (include/uapi/asm-generic/unistd.h)
 * as a 32-bit architecture without __ARCH_WANT_TIME32_SYSCALLS sees them: riscv32 has only the
 * time64 calls (futex_time64, clock_gettime64, clock_nanosleep_time64), and number 222 is mmap2
 * (offset in 4096-byte units), not mmap.
 */
#ifndef GUEST_RT_SYSCALL_H
#define GUEST_RT_SYSCALL_H

#include <stdint.h>
#include <stddef.h>

#define SYS_write 64
#define SYS_exit 93
#define SYS_exit_group 94
#define SYS_set_tid_address 96
#define SYS_sched_yield 124
#define SYS_getpid 172
#define SYS_gettid 178
#define SYS_brk 214
#define SYS_munmap 215
#define SYS_clone 220
#define SYS_mmap2 222
#define SYS_mprotect 226
#define SYS_madvise 233
#define SYS_clock_gettime64 403
#define SYS_clock_nanosleep_time64 407
#define SYS_futex_time64 422

/* errno values (include/uapi/asm-generic/errno-base.h, errno.h). */
#define EINTR 4
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EINVAL 22
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

/* A result in -4095..-1 is -errno (the kernel's IS_ERR_VALUE convention). */
static inline int sys_is_error(long r)
{
	return (unsigned long)r > (unsigned long)-4096;
}

static inline long sys_write(int fd, const void *buf, size_t len)
{
	return __syscall3(SYS_write, fd, buf, len);
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
