/**
 * System call numbers: Linux's generic table as RISC-V uses it (include/uapi/asm-generic/
 * unistd.h). The kernel dispatches on these; guest programs' libc calls by them.
 */
export const SYS_getcwd = 17;
export const SYS_dup = 23;
export const SYS_ioctl = 29;
export const SYS_mkdirat = 34;
export const SYS_symlinkat = 36;
/** truncate64 on a 32-bit architecture: (path, length low, length high). */
export const SYS_truncate = 45;
/** (fd, mode, offset low, offset high, len low, len high). */
export const SYS_fallocate = 47;
export const SYS_faccessat = 48;
export const SYS_chdir = 49;
export const SYS_fchdir = 50;
export const SYS_getdents64 = 61;
/** pread64 and pwrite64 on riscv32: (fd, buf, count, pos low, pos high), no padding register. */
export const SYS_pread64 = 67;
export const SYS_pwrite64 = 68;
export const SYS_readlinkat = 78;
/** (fd, offset low, offset high, nbytes low, nbytes high, flags). */
export const SYS_sync_file_range = 84;
export const SYS_umask = 166;
/** fadvise64_64: (fd, offset low, offset high, len low, len high, advice). */
export const SYS_fadvise64_64 = 223;
export const SYS_renameat2 = 276;
export const SYS_statx = 291;
export const SYS_faccessat2 = 439;
export const SYS_unlinkat = 35;
/** ftruncate64 on a 32-bit architecture: (fd, length low, length high). */
export const SYS_ftruncate = 46;
export const SYS_openat = 56;
export const SYS_close = 57;
export const SYS_pipe2 = 59;
/** llseek on a 32-bit architecture: (fd, offset high, offset low, loff_t *result, whence). */
export const SYS_llseek = 62;
export const SYS_read = 63;
export const SYS_write = 64;
export const SYS_readv = 65;
export const SYS_writev = 66;
/** fstat64 on a 32-bit architecture: asm-generic struct stat64. */
export const SYS_fstat = 80;
export const SYS_exit = 93;
export const SYS_exit_group = 94;
export const SYS_set_tid_address = 96;
export const SYS_futex = 98;
export const SYS_set_robust_list = 99;
export const SYS_get_robust_list = 100;
export const SYS_nanosleep = 101;
export const SYS_clock_gettime = 113;
export const SYS_sched_setaffinity = 122;
export const SYS_sched_getaffinity = 123;
export const SYS_times = 153;
export const SYS_getcpu = 168;
export const SYS_sched_yield = 124;
export const SYS_kill = 129;
export const SYS_tkill = 130;
export const SYS_tgkill = 131;
export const SYS_getitimer = 102;
export const SYS_setitimer = 103;
export const SYS_sigaltstack = 132;
export const SYS_rt_sigsuspend = 133;
export const SYS_rt_sigaction = 134;
export const SYS_rt_sigprocmask = 135;
export const SYS_rt_sigpending = 136;
export const SYS_rt_sigqueueinfo = 138;
export const SYS_rt_sigreturn = 139;
export const SYS_rt_tgsigqueueinfo = 240;
export const SYS_uname = 160;
export const SYS_getrusage = 165;
export const SYS_fcntl64 = 25;
export const SYS_dup3 = 24;
export const SYS_getpid = 172;
export const SYS_getppid = 173;
export const SYS_getuid = 174;
export const SYS_geteuid = 175;
export const SYS_getgid = 176;
export const SYS_getegid = 177;
export const SYS_gettid = 178;
export const SYS_brk = 214;
export const SYS_execve = 221;
export const SYS_munmap = 215;
export const SYS_mremap = 216;
export const SYS_clone = 220;
export const SYS_mmap = 222;
export const SYS_riscv_flush_icache = 259;
export const SYS_wait4 = 260;
export const SYS_waitid = 95;
export const SYS_prlimit64 = 261;
export const SYS_getrandom = 278;
export const SYS_mprotect = 226;
export const SYS_madvise = 233;
export const SYS_membarrier = 283;
/**
 * riscv32 has only the 64-bit time_t variants of the time calls (CONFIG_COMPAT_32BIT_TIME
 * off): struct __kernel_timespec is two 64-bit words, as the rv64 calls above take.
 */
export const SYS_clock_gettime64 = 403;
export const SYS_pselect6_time64 = 413;
export const SYS_clock_getres_time64 = 406;
export const SYS_ppoll_time64 = 414;
export const SYS_clock_nanosleep_time64 = 407;
export const SYS_futex_time64 = 422;
/**
 * mmap2 (riscv32's mmap: its offset is in 4096-byte units) has the number rv64's mmap has;
 * pvemu's kernel serves the riscv32 table, so 222 is mmap2 (offset in pages; anonymous
 * mappings ignore it anyway).
 */
export const SYS_mmap2 = SYS_mmap;
/**
 * pvemu's LKDTM (src/kernel/lkdtm.ts): lkdtm(cmd, va). Not a Linux number; Linux reaches LKDTM
 * through debugfs, which pvemu's kernel does not have.
 */
export const SYS_lkdtm = 0x4c4b;

