/* Layouts from the Linux uapi headers (riscv, compiled for ilp32). */
#include <linux/types.h>
#include <asm/ptrace.h>
#include <asm/sigcontext.h>
#include <asm/signal.h>
#include <asm/ucontext.h>
#include <asm/siginfo.h>
#include <asm/statfs.h>
#include <asm/ipcbuf.h>
#include <asm/msgbuf.h>
#include <asm/sembuf.h>
#include <asm/shmbuf.h>
#include <asm/fcntl.h>
#include <linux/time_types.h>
#include <linux/resource.h>
#define offsetof(t, m) __builtin_offsetof(t, m)
#define V(name, expr) __asm__ volatile("# @@ " name " %0" :: "i"((long)(expr)))
void f(void)
{
	V("ucontext.uc_mcontext", offsetof(struct ucontext, uc_mcontext));
	V("ucontext.size", sizeof(struct ucontext));
	V("mcontext.fpregs", offsetof(struct sigcontext, sc_fpregs));
	V("mcontext.size", sizeof(struct sigcontext));
	V("stack_t.size", sizeof(stack_t));
	V("siginfo.size", sizeof(siginfo_t));
	V("MINSIGSTKSZ", MINSIGSTKSZ);
	V("SIGSTKSZ", SIGSTKSZ);
	V("SA_ONSTACK", SA_ONSTACK);
	V("statfs.f_blocks", offsetof(struct statfs64, f_blocks));
	V("statfs.f_fsid", offsetof(struct statfs64, f_fsid));
	V("statfs.f_flags", offsetof(struct statfs64, f_flags));
	V("statfs.size", sizeof(struct statfs64));
	V("msqid.msg_stime_lo", offsetof(struct msqid64_ds, msg_stime));
	V("msqid.msg_cbytes", offsetof(struct msqid64_ds, msg_cbytes));
	V("msqid.msg_lrpid", offsetof(struct msqid64_ds, msg_lrpid));
	V("semid.sem_otime_lo", offsetof(struct semid64_ds, sem_otime));
	V("semid.sem_nsems", offsetof(struct semid64_ds, sem_nsems));
	V("shmid.shm_segsz", offsetof(struct shmid64_ds, shm_segsz));
	V("shmid.shm_atime_lo", offsetof(struct shmid64_ds, shm_atime));
	V("shmid.shm_cpid", offsetof(struct shmid64_ds, shm_cpid));
	V("shmid.shm_nattch", offsetof(struct shmid64_ds, shm_nattch));
	V("flock.l_start", offsetof(struct flock64, l_start));
	V("flock.l_pid", offsetof(struct flock64, l_pid));
	V("flock.size", sizeof(struct flock64));
	V("F_GETLK", F_GETLK64);
	V("F_SETLK", F_SETLK64);
	V("O_LARGEFILE", O_LARGEFILE);
	V("O_DIRECTORY", O_DIRECTORY);
	V("O_TMPFILE", O_TMPFILE);
	V("timespec.size", sizeof(struct __kernel_timespec));
	V("rlimit.size", sizeof(struct rlimit64));
}
