/**
 * What a process's descriptor table carries besides descriptors (src/kernel/fs/fdtable.ts,
 * the prlimit64 system call in src/kernel/syscalls.ts): resource limits that read back what
 * was set, with riscv32's 32-bit rlim_t, Linux's refusals (cur above max, NOFILE above
 * nr_open, an unknown resource, bad pointers) and RLIMIT_NOFILE bounding descriptors, all
 * inherited by fork; and waitid's rusage, which is what reaping added to RUSAGE_CHILDREN.
 * Each script runs as init on 2 vCPUs; the first step that goes wrong is named. Real vCPU
 * workers.
 */
import { describe, expect, it } from 'vitest';
import * as nr from '../../../src/uapi/unistd.js';
import { AT_FDCWD, O_CREAT, O_RDWR } from '../../../src/uapi/fcntl.js';
import { runScript, type Step } from '../../helpers/syscall-script.js';

const RLIMIT_CPU = 0;
const RLIMIT_NOFILE = 7;
const E = { EPERM: -1, ESRCH: -3, EBADF: -9, EFAULT: -14, EINVAL: -22, EMFILE: -24 };
/** Scratch-buffer offsets: a limit read back, a limit to set, waitid's siginfo and rusage, getrusage's. */
const OLD = 0;
const NEW = 64;
const INFO = 1024;
const RU = 2048;
const RU2 = 3072;

const getlimit = (resource: number, what: string): Step => ({ nr: nr.SYS_prlimit64, args: [0, resource, 0, { buf: OLD }], expect: 0, what });
/** Store a struct rlimit64 { cur, max } (each as low and high words) for prlimit64 to set. */
const limit = (curLo: number, curHi: number, maxLo: number, maxHi: number): Step[] => [
  { store: NEW, value: curLo }, { store: NEW + 4, value: curHi }, { store: NEW + 8, value: maxLo }, { store: NEW + 12, value: maxHi },
];
const setlimit = (resource: number, expect: number, what: string): Step => ({ nr: nr.SYS_prlimit64, args: [0, resource, { buf: NEW }, 0], expect, what });

describe('resource limits', () => {
  it('prlimit64 remembers what was set (cur, max; 2^32 and up reading back as RLIM64_INFINITY), refuses cur > max, a NOFILE max above nr_open, an unknown resource, bad pointers and other pids; RLIMIT_NOFILE bounds open and dup; fork inherits the limits', async () => {
    const steps: Step[] = [
      getlimit(RLIMIT_NOFILE, 'NOFILE at boot'),
      { word: OLD, equals: 64, what: 'cur is nr_open, the table\'s size' },
      { word: OLD + 8, equals: 64, what: 'max too' },
      ...limit(4, 0, 64, 0),
      { nr: nr.SYS_prlimit64, args: [0, RLIMIT_NOFILE, { buf: NEW }, { buf: OLD }], expect: 0, what: 'set NOFILE cur 4, reading the old' },
      { word: OLD, equals: 64, what: 'the old cur' },
      getlimit(RLIMIT_NOFILE, 'NOFILE after setting'),
      { word: OLD, equals: 4, what: 'cur reads back 4' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/l' }, O_CREAT | O_RDWR, 0o600], expect: 3, what: 'fd 3 is under the limit' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/l' }, O_RDWR, 0], expect: E.EMFILE, what: 'fd 4 is not' },
      { nr: nr.SYS_dup, args: [0], expect: E.EMFILE, what: 'dup at the limit' },
      { nr: nr.SYS_dup3, args: [0, 4, 0], expect: E.EBADF, what: 'dup3 onto a descriptor past the limit' },
      {
        fork: [
          getlimit(RLIMIT_NOFILE, 'the child\'s NOFILE'),
          { word: OLD, equals: 4, what: 'inherited' },
          { nr: nr.SYS_close, args: [3], expect: 0 },
          { nr: nr.SYS_dup, args: [0], expect: 3, what: 'the child\'s dup under the limit' },
        ],
        what: 'fork keeps the limits',
      },
      ...limit(65, 0, 65, 0),
      setlimit(RLIMIT_NOFILE, E.EPERM, 'NOFILE above nr_open'),
      ...limit(10, 0, 5, 0),
      setlimit(RLIMIT_CPU, E.EINVAL, 'cur above max'),
      ...limit(5, 0, -1, -1),
      setlimit(RLIMIT_CPU, 0, 'CPU cur 5, max infinity'),
      getlimit(RLIMIT_CPU, 'CPU read back'),
      { word: OLD, equals: 5 },
      { word: OLD + 4, equals: 0 },
      { word: OLD + 8, equals: -1, what: 'max infinity, low word' },
      { word: OLD + 12, equals: -1, what: 'max infinity, high word' },
      ...limit(0, 1, -1, -1),
      setlimit(RLIMIT_CPU, 0, 'CPU cur 2^32'),
      getlimit(RLIMIT_CPU, 'CPU read back'),
      { word: OLD, equals: -1, what: '2^32 does not fit riscv32\'s rlim_t: infinity' },
      { word: OLD + 4, equals: -1 },
      { nr: nr.SYS_prlimit64, args: [0, 16, 0, { buf: OLD }], expect: E.EINVAL, what: 'an unknown resource' },
      { nr: nr.SYS_prlimit64, args: [0, -1, 0, { buf: OLD }], expect: E.EINVAL, what: 'resource -1' },
      { nr: nr.SYS_prlimit64, args: [0, RLIMIT_CPU, 0xc0000000, 0], expect: E.EFAULT, what: 'a new limit at a kernel address' },
      { nr: nr.SYS_prlimit64, args: [0, RLIMIT_CPU, 0, 0xc0000000], expect: E.EFAULT, what: 'the old limit to a kernel address' },
      { nr: nr.SYS_prlimit64, args: [0, RLIMIT_CPU, 0, { buf: OLD + 2 }], expect: 0, what: 'to a misaligned buffer' },
      { nr: nr.SYS_prlimit64, args: [1, RLIMIT_CPU, 0, { buf: OLD }], expect: 0, what: 'its own pid' },
      { nr: nr.SYS_prlimit64, args: [99999, RLIMIT_CPU, 0, { buf: OLD }], expect: E.ESRCH, what: 'no such process' },
    ];
    const { verdict, report } = await runScript('limits', steps);
    expect(verdict).toBe('ok');
    expect(report.unknownSyscalls).toEqual({ 'prlimit64 of another process': 1 });
  });

  it('waitid with a rusage reports what reaping the child added to getrusage(RUSAGE_CHILDREN), and the siginfo names the child', async () => {
    const steps: Step[] = [
      { nr: nr.SYS_clone, args: [17, 0, 0, 0, 0], expect: 'ok', save: 'pid', what: 'fork' },
      { childExits: 'pid' },
      { nr: nr.SYS_waitid, args: [1, { saved: 'pid' }, { buf: INFO }, 4, { buf: RU }], expect: 0, what: 'waitid(P_PID, pid, WEXITED) with a rusage' },
      { store: INFO + 64, value: { saved: 'pid' } },
      { same: [INFO + 12, INFO + 64], what: 'si_pid is the child' },
      { word: INFO, equals: 17, what: 'si_signo SIGCHLD' },
      { nr: nr.SYS_getrusage, args: [-1, { buf: RU2 }], expect: 0, what: 'getrusage(RUSAGE_CHILDREN)' },
      { same: [RU, RU2], what: 'the same seconds' },
      { same: [RU + 4, RU2 + 4], what: 'the same microseconds' },
      { nr: nr.SYS_waitid, args: [1, { saved: 'pid' }, { buf: INFO }, 4, 0xc0000000], expect: -10, what: 'no child left: -ECHILD' },
    ];
    const { verdict } = await runScript('waitid-rusage', steps);
    expect(verdict).toBe('ok');
  });
});
