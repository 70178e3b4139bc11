/**
 * Path lookup's symlinks and the calls that move or describe names (src/kernel/fs/namei.ts,
 * dir.ts, stat.ts): symlinkat, readlinkat, statx with and without AT_SYMLINK_NOFOLLOW, ELOOP,
 * O_CREAT through a dangling link, renameat2 with its flags and refusals, faccessat's modes,
 * statx's flag checks and AT_EMPTY_PATH, umask. Each script runs as init on 2 vCPUs; the
 * first step that goes wrong is named. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import * as nr from '../../../src/uapi/unistd.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_NOFOLLOW, O_RDONLY, O_RDWR, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE, R_OK, W_OK, X_OK } from '../../../src/uapi/fcntl.js';
import { STATX_BASIC_STATS as STATX_BASIC } from '../../../src/uapi/fs.js';
import { runScript, word, type Step } from '../../helpers/syscall-script.js';

const E = { ENOENT: -2, EACCES: -13, EFAULT: -14, EBUSY: -16, EEXIST: -17, ENOTDIR: -20, EISDIR: -21, EINVAL: -22, ELOOP: -40, ENOTEMPTY: -39 };
const STATX = 0;
const LINK = 4096;
const STX_NLINK = STATX + 16;
const STX_MODE = STATX + 28;
const STX_INO = STATX + 32;
const STX_SIZE = STATX + 40;

const mkdir = (path: string): Step => ({ nr: nr.SYS_mkdirat, args: [AT_FDCWD, { str: path }, 0o755], expect: 0, what: `mkdir ${path}` });
const create = (path: string, mode = 0o644, save?: string): Step => ({ nr: nr.SYS_openat, args: [AT_FDCWD, { str: path }, O_CREAT | O_RDWR, mode], expect: 'ok', what: `create ${path}`, ...(save !== undefined ? { save } : {}) });
const symlink = (target: string, path: string, expect = 0): Step => ({ nr: nr.SYS_symlinkat, args: [{ str: target }, AT_FDCWD, { str: path }], expect, what: `symlink ${path} -> ${target}` });
const statx = (path: string, expect: number, flags = 0): Step => ({ nr: nr.SYS_statx, args: [AT_FDCWD, { str: path }, flags, STATX_BASIC, { buf: STATX }], expect, what: `statx ${path}${flags !== 0 ? ' (nofollow)' : ''}` });
const rename = (from: string, to: string, expect: number, flags = 0): Step => ({ nr: nr.SYS_renameat2, args: [AT_FDCWD, { str: from }, AT_FDCWD, { str: to }, flags], expect, what: `rename ${from} ${to} (flags ${flags})` });

describe('symlinks and names', () => {
  it('symlinkat and readlinkat; lookup follows links (relative to the link\'s directory) and AT_SYMLINK_NOFOLLOW does not; a loop is -ELOOP; O_CREAT through a dangling link creates its target; O_NOFOLLOW refuses a link', async () => {
    const steps: Step[] = [
      mkdir('/tmp/s'),
      create('/tmp/s/target', 0o640, 'fd'),
      { nr: nr.SYS_write, args: [{ saved: 'fd' }, { str: 'hello' }, 5], expect: 5 },
      symlink('/tmp/s/target', '/tmp/s/abs'),
      symlink('target', '/tmp/s/rel'),
      symlink('x', '/tmp/s/abs', E.EEXIST),
      symlink('', '/tmp/s/empty', E.ENOENT),
      statx('/tmp/s/rel', 0),
      { word: STX_MODE, equals: 0o100640, bytes: 2, what: 'followed: the regular file, 0640' },
      { word: STX_SIZE, equals: 5, what: 'the target\'s size' },
      statx('/tmp/s/rel', 0, AT_SYMLINK_NOFOLLOW),
      { word: STX_MODE, equals: 0o120777, bytes: 2, what: 'not followed: a symlink, 0777' },
      { word: STX_SIZE, equals: 6, what: 'a link\'s size is its target\'s length' },
      { nr: nr.SYS_readlinkat, args: [AT_FDCWD, { str: '/tmp/s/rel' }, { buf: LINK }, 100], expect: 6, what: 'readlink' },
      { word: LINK, equals: word('targ') },
      { nr: nr.SYS_readlinkat, args: [AT_FDCWD, { str: '/tmp/s/abs' }, { buf: LINK }, 3], expect: 3, what: 'readlink cut to the buffer' },
      { nr: nr.SYS_readlinkat, args: [AT_FDCWD, { str: '/tmp/s/target' }, { buf: LINK }, 100], expect: E.EINVAL, what: 'readlink of a file' },
      { nr: nr.SYS_readlinkat, args: [AT_FDCWD, { str: '/tmp/s/rel' }, { buf: LINK }, 0], expect: E.EINVAL, what: 'readlink with bufsiz 0' },
      { nr: nr.SYS_readlinkat, args: [AT_FDCWD, { str: '/tmp/s/rel' }, 0xc0000000, 100], expect: E.EFAULT, what: 'readlink to a kernel address' },
      symlink('/tmp/s', '/tmp/sdir'),
      statx('/tmp/sdir/target', 0),
      { nr: nr.SYS_mkdirat, args: [AT_FDCWD, { str: '/tmp/sdir/sub' }, 0o755], expect: 0, what: 'mkdir through a directory link' },
      statx('/tmp/s/sub', 0),
      symlink('loop2', '/tmp/s/loop1'),
      symlink('loop1', '/tmp/s/loop2'),
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/s/loop1' }, O_RDONLY, 0], expect: E.ELOOP, what: 'a symlink loop' },
      statx('/tmp/s/loop1/x', E.ELOOP),
      statx('/tmp/s/loop1', 0, AT_SYMLINK_NOFOLLOW),
      symlink('/tmp/s/made', '/tmp/s/dangling'),
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/s/dangling' }, O_RDONLY, 0], expect: E.ENOENT, what: 'a dangling link' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/s/dangling' }, O_CREAT | O_WRONLY, 0o600], expect: 'ok', what: 'O_CREAT through a dangling link' },
      statx('/tmp/s/made', 0),
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/s/abs' }, O_RDONLY | O_NOFOLLOW, 0], expect: E.ELOOP, what: 'O_NOFOLLOW on a link' },
      { nr: nr.SYS_unlinkat, args: [AT_FDCWD, { str: '/tmp/sdir' }, 0], expect: 0, what: 'unlink removes the link, not the directory' },
      statx('/tmp/s', 0),
    ];
    const { verdict } = await runScript('symlinks', steps);
    expect(verdict).toBe('ok');
  });

  it('renameat2 moves files and directories with link counts kept, RENAME_EXCHANGE swaps, and refuses as Linux does: NOREPLACE -EEXIST, into itself -EINVAL, onto a non-empty directory -ENOTEMPTY, file onto directory -EISDIR and back -ENOTDIR, "." -EBUSY', async () => {
    const steps: Step[] = [
      mkdir('/tmp/r'),
      create('/tmp/r/a', 0o644, 'a'),
      { nr: nr.SYS_write, args: [{ saved: 'a' }, { str: 'abcde' }, 5], expect: 5 },
      create('/tmp/r/b'),
      statx('/tmp/r/a', 0),
      { store: LINK, value: 0 },
      rename('/tmp/r/a', '/tmp/r/moved', 0),
      statx('/tmp/r/a', E.ENOENT),
      statx('/tmp/r/moved', 0),
      { word: STX_SIZE, equals: 5, what: 'the moved file keeps its data' },
      rename('/tmp/r/moved', '/tmp/r/b', E.EEXIST, RENAME_NOREPLACE),
      rename('/tmp/r/moved', '/tmp/r/b', 0),
      statx('/tmp/r/b', 0),
      { word: STX_SIZE, equals: 5, what: 'b was replaced' },
      mkdir('/tmp/r/d1'),
      mkdir('/tmp/r/d1/sub'),
      mkdir('/tmp/r/d2'),
      create('/tmp/r/d2/f'),
      rename('/tmp/r/d1', '/tmp/r/d1/sub/x', E.EINVAL),
      rename('/tmp/r/d1', '/tmp/r/d2', E.ENOTEMPTY),
      rename('/tmp/r/b', '/tmp/r/d1', E.EISDIR),
      rename('/tmp/r/d1/sub', '/tmp/r/b', E.ENOTDIR),
      rename('/tmp/r/b/', '/tmp/r/c', E.ENOTDIR),
      rename('/tmp/r/.', '/tmp/r/c', E.EBUSY),
      rename('/tmp/r/nothing', '/tmp/r/c', E.ENOENT),
      rename('/tmp/r/b', '/tmp/r/c', E.EINVAL, 8),
      rename('/tmp/r/b', '/tmp/r/c', E.EINVAL, RENAME_NOREPLACE | RENAME_EXCHANGE),
      rename('/tmp/r/b', '/tmp/r/nothing', E.ENOENT, RENAME_EXCHANGE),
      rename('/tmp/r/d1/sub', '/tmp/r/d2/sub2', 0),
      statx('/tmp/r/d1', 0),
      { word: STX_NLINK, equals: 2, what: 'd1 lost its subdirectory' },
      statx('/tmp/r/d2', 0),
      { word: STX_NLINK, equals: 3, what: 'd2 gained it' },
      rename('/tmp/r/b', '/tmp/r/d2/f', 0, RENAME_EXCHANGE),
      statx('/tmp/r/d2/f', 0),
      { word: STX_SIZE, equals: 5, what: 'exchanged: f holds b\'s data' },
      statx('/tmp/r/b', 0),
      { word: STX_SIZE, equals: 0, what: 'and b holds f\'s' },
      mkdir('/tmp/r/empty'),
      rename('/tmp/r/d1', '/tmp/r/empty', 0),
      statx('/tmp/r/d1', E.ENOENT),
      statx('/tmp/r', 0),
      { word: STX_NLINK, equals: 4, what: '/tmp/r: ".", its entry, d2 and empty' },
      rename('/tmp/r/b', '/tmp/r/b', 0),
      { nr: nr.SYS_renameat2, args: [AT_FDCWD, 0xc0000000, AT_FDCWD, { str: '/tmp/r/z' }, 0], expect: E.EFAULT, what: 'rename from a kernel address' },
    ];
    const { verdict, report } = await runScript('rename', steps);
    expect(verdict).toBe('ok');
    expect(report.conservation?.ok).toBe(true);
  });

  it('statx: AT_EMPTY_PATH describes the descriptor, inode numbers agree, bad flags and masks are -EINVAL, a bad buffer -EFAULT; faccessat: root reads and writes anything, executes only what has an execute bit; umask shapes new modes', async () => {
    const steps: Step[] = [
      create('/tmp/st', 0o644, 'fd'),
      statx('/tmp/st', 0),
      { store: LINK, value: 0 },
      { nr: nr.SYS_statx, args: [{ saved: 'fd' }, { str: '' }, AT_EMPTY_PATH, STATX_BASIC, { buf: LINK }], expect: 0, what: 'statx of a descriptor' },
      { same: [STX_INO, LINK + 32], what: 'the same inode both ways' },
      { word: STATX + 4, equals: 4096, what: 'stx_blksize' },
      { word: STATX, equals: STATX_BASIC, what: 'stx_mask' },
      { nr: nr.SYS_statx, args: [{ saved: 'fd' }, { str: '' }, 0, STATX_BASIC, { buf: LINK }], expect: E.ENOENT, what: 'an empty path without AT_EMPTY_PATH' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, { str: '/tmp/st' }, 0x1, STATX_BASIC, { buf: STATX }], expect: E.EINVAL, what: 'an unknown flag' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, { str: '/tmp/st' }, 0x6000, STATX_BASIC, { buf: STATX }], expect: E.EINVAL, what: 'FORCE_SYNC with DONT_SYNC' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, { str: '/tmp/st' }, 0, 0x80000000, { buf: STATX }], expect: E.EINVAL, what: 'STATX__RESERVED' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, { str: '/tmp/st' }, 0, STATX_BASIC, 0xc0000000], expect: E.EFAULT, what: 'into a kernel address' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, { str: '/tmp/st' }, 0, STATX_BASIC, 0xbffffff0], expect: E.EFAULT, what: 'into a buffer running off user space' },
      { nr: nr.SYS_statx, args: [AT_FDCWD, { str: '/tmp/st' }, 0, STATX_BASIC, { buf: STATX + 1 }], expect: 0, what: 'into a misaligned buffer' },
      { nr: nr.SYS_statx, args: [1, { str: '' }, AT_EMPTY_PATH, STATX_BASIC, { buf: STATX }], expect: 0, what: 'the console' },
      { word: STX_MODE, equals: 0o20620, bytes: 2, what: 'a character device' },
      { nr: nr.SYS_faccessat, args: [AT_FDCWD, { str: '/tmp/st' }, R_OK | W_OK], expect: 0 },
      { nr: nr.SYS_faccessat, args: [AT_FDCWD, { str: '/tmp/st' }, X_OK], expect: E.EACCES, what: 'execute without an execute bit' },
      { nr: nr.SYS_faccessat, args: [AT_FDCWD, { str: '/tmp' }, X_OK], expect: 0, what: 'search a directory' },
      { nr: nr.SYS_faccessat, args: [AT_FDCWD, { str: '/tmp/st' }, 8], expect: E.EINVAL, what: 'an unknown mode bit' },
      { nr: nr.SYS_faccessat2, args: [AT_FDCWD, { str: '/tmp/st' }, R_OK, 0x1], expect: E.EINVAL, what: 'an unknown flag' },
      { nr: nr.SYS_faccessat2, args: [AT_FDCWD, { str: '/tmp/st' }, R_OK, AT_SYMLINK_NOFOLLOW], expect: 0 },
      { nr: nr.SYS_faccessat, args: [AT_FDCWD, { str: '/tmp/none' }, R_OK], expect: E.ENOENT },
      { nr: nr.SYS_umask, args: [0o077], expect: 0o022, what: 'umask returns the old mask' },
      create('/tmp/um', 0o666),
      statx('/tmp/um', 0),
      { word: STX_MODE, equals: 0o100600, bytes: 2, what: '0666 less umask 077' },
      { nr: nr.SYS_umask, args: [0o022], expect: 0o077 },
    ];
    const { verdict } = await runScript('statx', steps);
    expect(verdict).toBe('ok');
  });
});
