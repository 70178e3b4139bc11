/*
 * The guest runtime: what a static riscv32 Linux program needs without a libc. Start-up
 * (crt0.S -> __rt_start -> main -> exit_group), formatted output on file descriptors 1 and 2,
 * a few string and number helpers, threads on clone(2) joined on their clear-child-tid word
 * with futex(2), and the monotonic clock.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "syscall.h"

/* ---- start-up ---------------------------------------------------------------------------- */

/* Auxiliary vector keys (include/uapi/linux/auxvec.h). */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_HWCAP 16
#define AT_RANDOM 25

/* The auxiliary vector the kernel put above envp, as (key, value) pairs ending with AT_NULL. */
extern const uint32_t *rt_auxv;
extern char **rt_environ;

/* The value of auxiliary vector entry `key`; `found` (may be NULL) says whether it was there. */
uint32_t rt_getauxval(uint32_t key, int *found);

int main(int argc, char **argv, char **envp);

/* exit_group(2): ends every thread of the process. */
__attribute__((noreturn)) void rt_exit(int status);

/* ---- memory and strings (also what GCC may call for struct copies) ------------------------ */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- output ------------------------------------------------------------------------------ */

/*
 * printf subset: %d %i %u %x %X %c %s %p %%, flags '-' '0', a width, the 'l' (32-bit) and 'll'
 * (64-bit) length modifiers. Each call formats into a stack buffer and issues one write(2) per
 * 256 bytes, so lines from different threads do not interleave mid-line. Returns bytes written.
 */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vdprintf(int fd, const char *fmt, va_list ap);
/* The same formatting into buf (always NUL-terminated if size > 0); returns the full length. */
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- numbers ----------------------------------------------------------------------------- */

/* Parses a decimal (or 0x hex) unsigned number; returns 0 and sets *out, or -1 if malformed. */
int rt_parse_u32(const char *s, uint32_t *out);

/*
 * Command-line option parsing for the workloads: `-x VALUE` pairs, each VALUE an unsigned
 * number in [min, max]. Unknown options and bad values print one line naming the option and
 * what is allowed, then exit with status 2.
 */
struct rt_opt {
	char flag; /* the letter after '-' */
	const char *name; /* what it means, for the usage line */
	uint32_t min, max;
	uint32_t *value; /* holds the default on entry */
};
void rt_parse_opts(const char *prog, int argc, char **argv, struct rt_opt *opts, int nopts);

/* ---- time -------------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds (clock_gettime64). */
uint64_t rt_monotonic_ns(void);
/* clock_nanosleep_time64 on CLOCK_MONOTONIC, relative. Returns 0 or -errno. */
long rt_sleep_ns(uint64_t ns);

/* ---- threads ----------------------------------------------------------------------------- */

/*
 * A thread's descriptor, pointed to by its tp register (CLONE_SETTLS). `tid` is both the
 * CLONE_PARENT_SETTID word (the kernel stores the new tid there before clone returns) and the
 * CLONE_CHILD_CLEARTID word (the kernel zeroes it and futex-wakes it when the thread exits),
 * so a joiner waits for it to become 0.
 */
struct rt_thread {
	volatile int tid;
	int (*fn)(void *);
	void *arg;
	int ret;
	void *stack;
	size_t stack_size;
};

/* Bytes of stack each thread gets (an anonymous mapping). */
#define RT_THREAD_STACK_SIZE (64 * 1024)

/* Starts fn(arg) in a new thread sharing the address space. Returns 0 or -errno. */
int rt_thread_start(struct rt_thread *t, int (*fn)(void *), void *arg);
/* Waits for the thread to exit, frees its stack, returns fn's return value. */
int rt_thread_join(struct rt_thread *t);
/* The calling thread's descriptor (its tp). */
struct rt_thread *rt_thread_self(void);

/*
 * The raw clone trampoline (crt0.S): clone(flags, stack, ptid, tls, ctid) — riscv's argument
 * order (CLONE_BACKWARDS: tls before ctid) — and in the child, fn(arg) then exit(2).
 */
long rt_clone(unsigned long flags, void *stack, volatile int *ptid, void *tls, volatile int *ctid,
	      int (*fn)(void *), void *arg);

/* ---- self-checks ------------------------------------------------------------------------- */

/* Failed checks so far (tests exit with it, capped at 255). */
extern int rt_failures;

#define RT_CHECK(cond, ...)                                                                      \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			rt_failures++;                                                           \
			rt_printf("FAIL %s:%d: ", __FILE__, __LINE__);                           \
			rt_printf(__VA_ARGS__);                                                  \
			rt_printf("\n");                                                         \
		}                                                                                \
	} while (0)

/* Prints the summary line and returns the exit status for main. */
int rt_report(const char *name);

#endif
