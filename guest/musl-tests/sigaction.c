/* sigaction with SA_SIGINFO, sigaltstack (SA_ONSTACK), the ucontext passed
 * to the handler, sigprocmask blocking and pending signals, SA_RESETHAND. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <ucontext.h>

static char *alt_lo, *alt_hi;
static volatile int got_sig, got_code, got_errno_val, on_alt, pc_ok, got_value, count;

static void handler(int sig, siginfo_t *si, void *ctx)
{
	char here;
	ucontext_t *uc = ctx;
	got_sig = sig;
	got_code = si->si_code;
	got_value = si->si_value.sival_int;
	on_alt = &here >= alt_lo && &here < alt_hi;
	pc_ok = uc->uc_mcontext.__gregs[REG_PC] != 0 && uc->uc_mcontext.__gregs[REG_SP] != 0;
	count++;
}

static void plain(int sig) { (void)sig; count++; }

int main(void)
{
	stack_t ss = { 0 };
	ss.ss_size = SIGSTKSZ;
	ss.ss_sp = malloc(ss.ss_size);
	alt_lo = ss.ss_sp;
	alt_hi = alt_lo + ss.ss_size;
	if (sigaltstack(&ss, 0)) { perror("sigaltstack"); return 1; }
	stack_t old;
	sigaltstack(0, &old);
	printf("sigaltstack installed: %s, size matches: %s\n", old.ss_sp == ss.ss_sp ? "yes" : "no",
	       old.ss_size == SIGSTKSZ ? "yes" : "no");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, 0);

	raise(SIGUSR1);
	printf("raise: sig %d, si_code SI_TKILL %s, on altstack %s, ucontext pc/sp set %s\n",
	       got_sig, got_code == SI_TKILL ? "yes" : "no", on_alt ? "yes" : "no", pc_ok ? "yes" : "no");

	kill(getpid(), SIGUSR1);
	printf("kill: si_code SI_USER %s\n", got_code == SI_USER ? "yes" : "no");

	union sigval v = { .sival_int = 1234 };
	sigqueue(getpid(), SIGUSR1, v);
	printf("sigqueue: si_code SI_QUEUE %s, value %d\n", got_code == SI_QUEUE ? "yes" : "no", got_value);

	/* handler without SA_ONSTACK runs on the normal stack */
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR2, &sa, 0);
	raise(SIGUSR2);
	printf("without SA_ONSTACK: on altstack %s\n", on_alt ? "yes" : "no");

	/* blocked signal stays pending until unblocked */
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, 0);
	int before = count;
	raise(SIGUSR1);
	sigpending(&pend);
	printf("blocked: delivered %s, pending %s\n", count != before ? "yes" : "no",
	       sigismember(&pend, SIGUSR1) ? "yes" : "no");
	sigprocmask(SIG_UNBLOCK, &set, 0);
	printf("unblocked: delivered %s\n", count == before + 1 ? "yes" : "no");

	/* SA_RESETHAND: second raise gets the default action (ignored for SIGCHLD) */
	struct sigaction rh = { 0 };
	rh.sa_handler = plain;
	rh.sa_flags = SA_RESETHAND;
	sigaction(SIGCHLD, &rh, 0);
	before = count;
	raise(SIGCHLD);
	raise(SIGCHLD);
	struct sigaction cur;
	sigaction(SIGCHLD, 0, &cur);
	printf("SA_RESETHAND: handler ran %d time(s), reset to default %s\n", count - before,
	       cur.sa_handler == SIG_DFL ? "yes" : "no");

	/* sigsuspend wakes on a signal sent while suspended (alarm) */
	signal(SIGALRM, plain);
	sigset_t blk, empty;
	sigemptyset(&blk);
	sigaddset(&blk, SIGALRM);
	sigprocmask(SIG_BLOCK, &blk, 0);
	alarm(1);
	sigemptyset(&empty);
	before = count;
	sigsuspend(&empty);
	printf("sigsuspend woke by SIGALRM: %s\n", count == before + 1 ? "yes" : "no");
	return 0;
}
