/* Faults delivered to handlers: SIGSEGV for an unmapped address (SEGV_MAPERR, with si_addr)
 * and for a write to a read-only page (SEGV_ACCERR), left with siglongjmp; a handler that
 * resumes by moving the pc in its ucontext past the faulting instruction; SIGILL for an
 * illegal instruction; SIGTRAP for ebreak; a stack overflow caught on the alternate stack; a
 * fault whose signal is blocked kills the process (in a child: WTERMSIG 11). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int sig_seen, code_seen;
static void *volatile addr_seen;

static void jump_out(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	sig_seen = sig;
	code_seen = si->si_code;
	addr_seen = si->si_addr;
	siglongjmp(jb, 1);
}

static void skip_insn(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	sig_seen = sig;
	code_seen = si->si_code;
	uc->uc_mcontext.__gregs[REG_PC] += 4;
}

static void on(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static int depth(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	return depth(n + 1) + pad[0];
}

int main(void)
{
	on(SIGSEGV, jump_out, 0);
	if (sigsetjmp(jb, 1) == 0) *(volatile int *)16 = 1;
	printf("unmapped write: SIGSEGV %s, SEGV_MAPERR %s, si_addr 16 %s\n", sig_seen == SIGSEGV ? "yes" : "no",
	       code_seen == SEGV_MAPERR ? "yes" : "no", addr_seen == (void *)16 ? "yes" : "no");

	char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sig_seen = 0;
	if (sigsetjmp(jb, 1) == 0) ro[100] = 1;
	printf("read-only write: SIGSEGV %s, SEGV_ACCERR %s, si_addr %s\n", sig_seen == SIGSEGV ? "yes" : "no",
	       code_seen == SEGV_ACCERR ? "yes" : "no", addr_seen == ro + 100 ? "yes" : "no");

	on(SIGSEGV, skip_insn, 0);
	sig_seen = 0;
	int v = *(volatile int *)32;
	(void)v;
	printf("handler moved the pc past the fault: %s\n", sig_seen == SIGSEGV ? "yes" : "no");

	on(SIGILL, skip_insn, 0);
	sig_seen = 0;
	__asm__ volatile(".word 0");
	printf("illegal instruction: SIGILL %s, ILL_ILLOPC %s\n", sig_seen == SIGILL ? "yes" : "no", code_seen == ILL_ILLOPC ? "yes" : "no");

	on(SIGTRAP, skip_insn, 0);
	sig_seen = 0;
	__asm__ volatile("ebreak");
	printf("ebreak: SIGTRAP %s\n", sig_seen == SIGTRAP ? "yes" : "no");

	stack_t ss = { .ss_sp = malloc(SIGSTKSZ), .ss_size = SIGSTKSZ };
	sigaltstack(&ss, 0);
	on(SIGSEGV, jump_out, SA_ONSTACK);
	sig_seen = 0;
	if (sigsetjmp(jb, 1) == 0) depth(0);
	printf("stack overflow caught on the alternate stack: %s\n", sig_seen == SIGSEGV ? "yes" : "no");

	pid_t c = fork();
	if (c == 0) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGSEGV);
		sigprocmask(SIG_BLOCK, &s, 0);
		*(volatile int *)16 = 1;
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("fault with SIGSEGV blocked: killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}
