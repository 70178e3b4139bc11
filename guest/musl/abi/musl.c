/* The same layouts from the riscv32 musl headers. */
#define _GNU_SOURCE
#include <stddef.h>
#include <signal.h>
#include <ucontext.h>
#include <sys/statfs.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <fcntl.h>
#include <time.h>
#include <sys/resource.h>
#define V(name, expr) __asm__ volatile("# @@ " name " %0" :: "i"((long)(expr)))
void f(void)
{
	V("ucontext.uc_mcontext", offsetof(ucontext_t, uc_mcontext));
	V("ucontext.size", sizeof(ucontext_t));
	V("mcontext.fpregs", offsetof(mcontext_t, __fpregs));
	V("mcontext.size", sizeof(mcontext_t));
	V("stack_t.size", sizeof(stack_t));
	V("siginfo.size", sizeof(siginfo_t));
	V("MINSIGSTKSZ", MINSIGSTKSZ);
	V("SIGSTKSZ", SIGSTKSZ);
	V("SA_ONSTACK", SA_ONSTACK);
	V("statfs.f_blocks", offsetof(struct statfs, f_blocks));
	V("statfs.f_fsid", offsetof(struct statfs, f_fsid));
	V("statfs.f_flags", offsetof(struct statfs, f_flags));
	V("statfs.size", sizeof(struct statfs));
	V("msqid.msg_stime_lo", offsetof(struct msqid_ds, __msg_stime_lo));
	V("msqid.msg_cbytes", offsetof(struct msqid_ds, msg_cbytes));
	V("msqid.msg_lrpid", offsetof(struct msqid_ds, msg_lrpid));
	V("semid.sem_otime_lo", offsetof(struct semid_ds, __sem_otime_lo));
	V("semid.sem_nsems", offsetof(struct semid_ds, sem_nsems));
	V("shmid.shm_segsz", offsetof(struct shmid_ds, shm_segsz));
	V("shmid.shm_atime_lo", offsetof(struct shmid_ds, __shm_atime_lo));
	V("shmid.shm_cpid", offsetof(struct shmid_ds, shm_cpid));
	V("shmid.shm_nattch", offsetof(struct shmid_ds, shm_nattch));
	V("flock.l_start", offsetof(struct flock, l_start));
	V("flock.l_pid", offsetof(struct flock, l_pid));
	V("flock.size", sizeof(struct flock));
	V("F_GETLK", F_GETLK);
	V("F_SETLK", F_SETLK);
	V("O_LARGEFILE", O_LARGEFILE);
	V("O_DIRECTORY", O_DIRECTORY);
	V("O_TMPFILE", O_TMPFILE);
	V("timespec.size", sizeof(struct timespec));
	V("rlimit.size", sizeof(struct rlimit));
}
