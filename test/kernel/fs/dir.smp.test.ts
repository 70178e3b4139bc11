/**
 * The directory tree (src/kernel/fs/namei.ts, dcache.ts, dir.ts) from a guest's system calls:
 * mkdirat at depth, getdents64's records, rmdir and unlink with Linux's errnos, the working
 * directory (chdir, fchdir, getcwd, inherited by fork, removed under the process), path
 * limits (NAME_MAX, PATH_MAX, bad pointers). Each script runs as init on 2 vCPUs; the first
 * step that goes wrong is named. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import * as nr from '../../../src/uapi/unistd.js';
import { AT_FDCWD, AT_REMOVEDIR, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR } from '../../../src/uapi/fcntl.js';
import { SEEK_SET, STATX_BASIC_STATS as STATX_BASIC } from '../../../src/uapi/fs.js';
import { runScript, word, type Step } from '../../helpers/syscall-script.js';

const E = { ENOENT: -2, EBADF: -9, EFAULT: -14, EBUSY: -16, EEXIST: -17, ENOTDIR: -20, EISDIR: -21, EINVAL: -22, ERANGE: -34, ENAMETOOLONG: -36, ENOTEMPTY: -39 };
/** Scratch-buffer offsets: a struct statx, getdents64's records, getcwd's path. */
const STATX = 0;
const DENTS = 1024;
const CWD = 8192;
/** struct statx: stx_nlink, stx_mode. */
const STX_NLINK = STATX + 16;
const STX_MODE = STATX + 28;

const mkdir = (path: string, expect: number, mode = 0o755): Step => ({ nr: nr.SYS_mkdirat, args: [AT_FDCWD, { str: path }, mode], expect, what: `mkdir ${path.slice(0, 40)}` });
const rmdir = (path: string, expect: number): Step => ({ nr: nr.SYS_unlinkat, args: [AT_FDCWD, { str: path }, AT_REMOVEDIR], expect, what: `rmdir ${path}` });
const unlink = (path: string, expect: number): Step => ({ nr: nr.SYS_unlinkat, args: [AT_FDCWD, { str: path }, 0], expect, what: `unlink ${path}` });
const statx = (path: string, expect: number): Step => ({ nr: nr.SYS_statx, args: [AT_FDCWD, { str: path }, 0, STATX_BASIC, { buf: STATX }], expect, what: `statx ${path.slice(0, 40)}` });
const nlink = (n: number, what: string): Step => ({ word: STX_NLINK, equals: n, what });
/** Four bytes of a string as the little-endian word they make. */

describe('directories', () => {
  it('mkdirat nests directories at any depth with Linux link counts; getdents64 lists ".", ".." and the entries, then 0 (and -ENOENT once removed); rmdir and unlink refuse what Linux refuses', async () => {
    const steps: Step[] = [
      mkdir('/tmp/d', 0),
      mkdir('/tmp/d', E.EEXIST),
      mkdir('/tmp/d/.', E.EEXIST),
      mkdir('/tmp/d/e/f', E.ENOENT),
      mkdir('/tmp/d/e', 0),
      mkdir('/tmp/d/e/f', 0),
      mkdir('/tmp/d/e/f/g/', 0),
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/d/file' }, O_CREAT | O_RDWR, 0o644], expect: 'ok', save: 'file' },
      mkdir('/tmp/d/file/x', E.ENOTDIR),
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/d/file/' }, O_RDONLY, 0], expect: E.ENOTDIR, what: 'a file with a trailing slash' },
      statx('/tmp/d', 0),
      nlink(3, '/tmp/d has ".", its entry and e\'s ".."'),
      statx('/tmp/d/e/f/g/../..', 0),
      nlink(3, '/tmp/d/e/f/g/../.. is e'),
      { word: STX_MODE, equals: 0o40755, bytes: 2, what: 'a directory, 0755 (umask 022)' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/d' }, O_RDONLY | O_DIRECTORY, 0], expect: 'ok', save: 'dir' },
      { nr: nr.SYS_mkdirat, args: [{ saved: 'dir' }, { str: 'h' }, 0o700], expect: 0, what: 'mkdirat relative to a directory descriptor' },
      { nr: nr.SYS_mkdirat, args: [{ saved: 'file' }, { str: 'h' }, 0o700], expect: E.ENOTDIR, what: 'mkdirat relative to a file' },
      { nr: nr.SYS_mkdirat, args: [99, { str: 'h' }, 0o700], expect: E.EBADF, what: 'mkdirat relative to a closed descriptor' },
      statx('/tmp/d/h', 0),
      // Entries: ".", "..", then e, file, h (in slot order): 5 records of 24 bytes.
      { nr: nr.SYS_getdents64, args: [{ saved: 'dir' }, { buf: DENTS }, 2048], expect: 120, what: 'getdents64 lists five records' },
      { word: DENTS + 16, equals: 24, bytes: 2, what: 'd_reclen of "."' },
      { word: DENTS + 18, equals: 4, bytes: 1, what: 'd_type DT_DIR' },
      { word: DENTS + 19, equals: word('.'), what: 'the first name is "."' },
      { word: DENTS + 24 + 19, equals: word('..'), what: 'the second name is ".."' },
      { word: DENTS + 48 + 19, equals: word('e'), what: 'then e' },
      { word: DENTS + 72 + 18, equals: 8, bytes: 1, what: 'file is DT_REG' },
      { nr: nr.SYS_getdents64, args: [{ saved: 'dir' }, { buf: DENTS }, 2048], expect: 0, what: 'then end of directory' },
      { nr: nr.SYS_llseek, args: [{ saved: 'dir' }, 0, 0, { buf: CWD }, SEEK_SET], expect: 0, what: 'rewinddir' },
      { nr: nr.SYS_getdents64, args: [{ saved: 'dir' }, { buf: DENTS }, 10], expect: E.EINVAL, what: 'a buffer too small for one record' },
      { nr: nr.SYS_getdents64, args: [{ saved: 'dir' }, { buf: DENTS }, 30], expect: 24, what: 'a buffer for one record' },
      { nr: nr.SYS_getdents64, args: [{ saved: 'dir' }, 0xc0000000, 2048], expect: E.EFAULT, what: 'records to a kernel address' },
      { nr: nr.SYS_getdents64, args: [{ saved: 'file' }, { buf: DENTS }, 2048], expect: E.ENOTDIR, what: 'getdents64 of a file' },
      { nr: nr.SYS_read, args: [{ saved: 'dir' }, { buf: DENTS }, 16], expect: E.EISDIR, what: 'read of a directory' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/d' }, O_RDWR, 0], expect: E.EISDIR, what: 'a directory opened for writing' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/d' }, O_RDONLY | O_CREAT, 0], expect: E.EISDIR, what: 'O_CREAT on a directory' },
      unlink('/tmp/d/e', E.EISDIR),
      rmdir('/tmp/d/e', E.ENOTEMPTY),
      rmdir('/tmp/d/file', E.ENOTDIR),
      rmdir('/tmp/d/.', E.EINVAL),
      rmdir('/tmp/d/..', E.ENOTEMPTY),
      rmdir('/', E.EBUSY),
      unlink('/tmp/d/file/', E.ENOTDIR),
      rmdir('/tmp/d/e/f/g', 0),
      rmdir('/tmp/d/e/f', 0),
      statx('/tmp/d/e', 0),
      nlink(2, 'e is empty again'),
      rmdir('/tmp/d/e/f', E.ENOENT),
      unlink('/tmp/d/file', 0),
      rmdir('/tmp/d/e', 0),
      rmdir('/tmp/d/h', 0),
      rmdir('/tmp/d', 0),
      { nr: nr.SYS_getdents64, args: [{ saved: 'dir' }, { buf: DENTS }, 2048], expect: E.ENOENT, what: 'a removed directory cannot be listed' },
      { nr: nr.SYS_mkdirat, args: [{ saved: 'dir' }, { str: 'new' }, 0o700], expect: E.ENOENT, what: 'nothing is created in a removed directory' },
    ];
    const { verdict, report } = await runScript('dirs', steps);
    expect(verdict).toBe('ok');
    // Every file and directory made is gone: only the zero page and the boot directories stay.
    expect(report.conservation?.ok).toBe(true);
  });

  it('names: NAME_MAX bytes pass and one more is -ENAMETOOLONG; a path of 4094 bytes resolves, one with no NUL in PATH_MAX is -ENAMETOOLONG; bad path pointers are -EFAULT', async () => {
    const steps: Step[] = [
      mkdir(`/tmp/${'n'.repeat(255)}`, 0),
      statx(`/tmp/${'n'.repeat(255)}`, 0),
      mkdir(`/tmp/${'n'.repeat(256)}`, E.ENAMETOOLONG),
      statx(`/tmp/${'n'.repeat(256)}/x`, E.ENAMETOOLONG),
      rmdir(`/tmp/${'n'.repeat(255)}`, 0),
      // Under PATH_MAX a path of many components resolves (lookup sets no smaller limit).
      statx(`/${'./'.repeat(2045)}tmp`, 0),
      statx(`/${'a'.repeat(4200)}`, E.ENAMETOOLONG),
      { nr: nr.SYS_mkdirat, args: [AT_FDCWD, 0, 0o755], expect: E.EFAULT, what: 'a NULL path' },
      { nr: nr.SYS_mkdirat, args: [AT_FDCWD, 0xc0000000, 0o755], expect: E.EFAULT, what: 'a kernel path' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, 0xbffffffd, 0, STATX_BASIC, { buf: STATX }], expect: E.EFAULT, what: 'a path running off the end of user space' },
      { nr: nr.SYS_unlinkat, args: [AT_FDCWD, { str: '/tmp' }, 0x1], expect: E.EINVAL, what: 'unlinkat with an unknown flag' },
      mkdir('', E.ENOENT),
    ];
    const { verdict } = await runScript('names', steps);
    expect(verdict).toBe('ok');
  });

  it('chdir, fchdir and getcwd: relative paths start at the working directory, fork inherits it, a removed one is -ENOENT for getcwd and creation', async () => {
    const steps: Step[] = [
      mkdir('/tmp/w', 0),
      mkdir('/tmp/w/sub', 0),
      { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: 2, what: 'getcwd at boot is "/"' },
      { nr: nr.SYS_chdir, args: [{ str: '/tmp/w' }], expect: 0 },
      { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: 7, what: 'getcwd returns the length with its NUL' },
      { word: CWD, equals: word('/tmp'), what: 'the path' },
      { word: CWD + 4, equals: word('/w'), what: 'the path\'s end and NUL' },
      { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 6], expect: E.ERANGE, what: 'getcwd into too small a buffer' },
      { nr: nr.SYS_getcwd, args: [0xc0000000, 100], expect: E.EFAULT, what: 'getcwd into a kernel address' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: 'rel' }, O_CREAT | O_RDWR, 0o600], expect: 'ok', what: 'a relative create' },
      statx('/tmp/w/rel', 0),
      statx('sub/../rel', 0),
      { nr: nr.SYS_chdir, args: [{ str: 'rel' }], expect: E.ENOTDIR },
      { nr: nr.SYS_chdir, args: [{ str: '/nonexistent' }], expect: E.ENOENT },
      {
        fork: [
          { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: 7, what: 'the child starts where its parent is' },
          { nr: nr.SYS_chdir, args: [{ str: 'sub' }], expect: 0 },
          { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: 11, what: 'the child moved' },
        ],
        what: 'fork inherits the working directory',
      },
      { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: 7, what: 'the parent did not move' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: 'sub' }, O_RDONLY | O_DIRECTORY, 0], expect: 'ok', save: 'sub' },
      { nr: nr.SYS_fchdir, args: [{ saved: 'sub' }], expect: 0 },
      { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: 11, what: 'fchdir moved' },
      { nr: nr.SYS_fchdir, args: [0], expect: E.ENOTDIR, what: 'fchdir to the console' },
      { nr: nr.SYS_fchdir, args: [99], expect: E.EBADF },
      rmdir('/tmp/w/sub', 0),
      { nr: nr.SYS_getcwd, args: [{ buf: CWD }, 100], expect: E.ENOENT, what: 'getcwd in a removed directory' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: 'x' }, O_CREAT | O_RDWR, 0o600], expect: E.ENOENT, what: 'create in a removed directory' },
      { nr: nr.SYS_chdir, args: [{ str: '/' }], expect: 0 },
      unlink('/tmp/w/rel', 0),
      rmdir('/tmp/w', 0),
    ];
    const { verdict, report } = await runScript('cwd', steps);
    expect(verdict).toBe('ok');
    expect(report.conservation?.ok).toBe(true);
  });
});
