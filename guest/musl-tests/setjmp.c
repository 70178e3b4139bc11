/* setjmp/longjmp, callee-saved registers across longjmp, longjmp(0),
 * sigsetjmp/siglongjmp restoring the signal mask, longjmp out of a
 * signal handler. */
#include <stdio.h>
#include <setjmp.h>
#include <signal.h>

static jmp_buf jb;
static sigjmp_buf sjb;

static void deep(int n)
{
	if (n == 0) longjmp(jb, 7);
	deep(n - 1);
}

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, 0, &cur);
	return sigismember(&cur, sig);
}

static void on_usr1(int sig)
{
	(void)sig;
	siglongjmp(sjb, 99);
}

int main(void)
{
	volatile int count = 0;
	register long keep1 = 0x1111, keep2 = 0x2222;
	int r = setjmp(jb);
	count++;
	if (r == 0) deep(20);
	printf("longjmp from depth 20: returned %d, count %d, registers kept %s\n", r, count,
	       keep1 == 0x1111 && keep2 == 0x2222 ? "yes" : "no");

	r = setjmp(jb);
	if (r == 0) longjmp(jb, 0);
	printf("longjmp(0) makes setjmp return %d\n", r);

	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	r = sigsetjmp(sjb, 1);
	if (r == 0) {
		sigprocmask(SIG_BLOCK, &s, 0);
		printf("SIGUSR2 blocked before siglongjmp: %s\n", blocked(SIGUSR2) ? "yes" : "no");
		siglongjmp(sjb, 5);
	}
	printf("siglongjmp returned %d, mask restored (SIGUSR2 unblocked): %s\n", r, blocked(SIGUSR2) ? "no" : "yes");

	r = sigsetjmp(sjb, 0);
	if (r == 0) {
		sigprocmask(SIG_BLOCK, &s, 0);
		siglongjmp(sjb, 6);
	}
	printf("sigsetjmp(savemask=0): returned %d, SIGUSR2 still blocked: %s\n", r, blocked(SIGUSR2) ? "yes" : "no");
	sigprocmask(SIG_UNBLOCK, &s, 0);

	signal(SIGUSR1, on_usr1);
	r = sigsetjmp(sjb, 1);
	if (r == 0) raise(SIGUSR1);
	printf("siglongjmp out of handler: %d, SIGUSR1 unblocked again: %s\n", r, blocked(SIGUSR1) ? "no" : "yes");
	return 0;
}
