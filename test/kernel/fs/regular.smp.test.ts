/**
 * Regular files of 64-bit size (src/kernel/fs/regular.ts, read-write.ts, and shmem.ts's far
 * index): pread64/pwrite64 and llseek past 4 GiB with their register pairs, holes that read as
 * zeros and take no page, ftruncate64, fallocate's modes, fadvise64_64 and sync_file_range,
 * a mapping of a page past 256 MiB, each with the errors Linux gives hostile arguments. Each
 * script runs as init on 2 vCPUs; the first step that goes wrong is named. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import * as nr from '../../../src/uapi/unistd.js';
import { AT_EMPTY_PATH, AT_FDCWD, FALLOC_FL_KEEP_SIZE as KEEP_SIZE, FALLOC_FL_PUNCH_HOLE as PUNCH_HOLE, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR } from '../../../src/uapi/fcntl.js';
import { SEEK_END, SEEK_SET, STATX_BASIC_STATS as STATX_BASIC } from '../../../src/uapi/fs.js';
import { MAP_SHARED, PROT_READ } from '../../../src/uapi/mman.js';
import { runScript, word, type Step } from '../../helpers/syscall-script.js';

const E = { EBADF: -9, EFAULT: -14, EFBIG: -27, EISDIR: -21, EINVAL: -22, ESPIPE: -29, EOVERFLOW: -75, EOPNOTSUPP: -95 };
const STATX = 0;
const DATA = 1024;
const RESULT = 2048;
const PIPE = 3072;
const STX_SIZE = STATX + 40;
const STX_BLOCKS = STATX + 48;
const fstatx = (what: string): Step => ({ nr: nr.SYS_statx, args: [{ saved: 'fd' }, { str: '' }, AT_EMPTY_PATH, STATX_BASIC, { buf: STATX }], expect: 0, what });
const size = (lo: number, hi: number): Step[] => [
  { word: STX_SIZE, equals: lo, what: `size low word ${lo}` },
  { word: STX_SIZE + 4, equals: hi, what: `size high word ${hi}` },
];
const blocks = (n: number, what: string): Step => ({ word: STX_BLOCKS, equals: n, what });

describe('64-bit regular files', () => {
  it('pwrite64/pread64 and llseek past 4 GiB: the (low, high) register pairs, a hole reading zeros, only written pages counted in st_blocks, ftruncate64 up to 4 TiB and no further; the file gone leaves no frame behind', async () => {
    const steps: Step[] = [
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/big' }, O_CREAT | O_RDWR, 0o600], expect: 'ok', save: 'fd' },
      { nr: nr.SYS_pwrite64, args: [{ saved: 'fd' }, { str: 'five' }, 4, 0x40000000, 1], expect: 4, what: 'pwrite at 5 GiB' },
      { nr: nr.SYS_pread64, args: [{ saved: 'fd' }, { buf: DATA }, 4, 0x40000000, 1], expect: 4, what: 'pread at 5 GiB' },
      { word: DATA, equals: word('five') },
      { store: DATA, value: -1 },
      { nr: nr.SYS_pread64, args: [{ saved: 'fd' }, { buf: DATA }, 4, 0x1000, 0], expect: 4, what: 'pread in the hole' },
      { word: DATA, equals: 0, what: 'a hole reads as zeros' },
      { nr: nr.SYS_pread64, args: [{ saved: 'fd' }, { buf: DATA }, 4, 0x40000002, 1], expect: 2, what: 'pread across the end' },
      { nr: nr.SYS_pread64, args: [{ saved: 'fd' }, { buf: DATA }, 4, 0, 2], expect: 0, what: 'pread past the end' },
      fstatx('statx of the sparse file'),
      ...size(0x40000004, 1),
      blocks(8, 'one page written: 8 blocks of 512'),
      { nr: nr.SYS_llseek, args: [{ saved: 'fd' }, 1, 0x1234, { buf: RESULT }, SEEK_SET], expect: 0, what: 'llseek to 4 GiB + 0x1234' },
      { word: RESULT, equals: 0x1234 },
      { word: RESULT + 4, equals: 1 },
      { nr: nr.SYS_write, args: [{ saved: 'fd' }, { str: 'far' }, 3], expect: 3, what: 'write at the position' },
      { nr: nr.SYS_llseek, args: [{ saved: 'fd' }, 0, 0, { buf: RESULT }, SEEK_END], expect: 0 },
      { word: RESULT, equals: 0x40000004, what: 'SEEK_END: the size, low word' },
      { word: RESULT + 4, equals: 1 },
      { nr: nr.SYS_llseek, args: [{ saved: 'fd' }, -1, -1, { buf: RESULT }, SEEK_SET], expect: E.EINVAL, what: 'a negative position' },
      { nr: nr.SYS_llseek, args: [{ saved: 'fd' }, 0x400, 1, { buf: RESULT }, SEEK_SET], expect: E.EINVAL, what: 'past 4 TiB' },
      { nr: nr.SYS_llseek, args: [{ saved: 'fd' }, 0, 0, { buf: RESULT }, 5], expect: E.EINVAL, what: 'an unknown whence' },
      { nr: nr.SYS_llseek, args: [{ saved: 'fd' }, 0, 0, 0xc0000000, SEEK_SET], expect: E.EFAULT, what: 'the result to a kernel address' },
      { nr: nr.SYS_pwrite64, args: [{ saved: 'fd' }, { str: 'x' }, 1, -1, -1], expect: E.EINVAL, what: 'pwrite at a negative offset' },
      { nr: nr.SYS_pread64, args: [99, { buf: DATA }, 1, -1, -1], expect: E.EINVAL, what: 'a negative offset is checked before the descriptor' },
      { nr: nr.SYS_pread64, args: [99, { buf: DATA }, 1, 0, 0], expect: E.EBADF },
      { nr: nr.SYS_pwrite64, args: [{ saved: 'fd' }, { str: 'x' }, 1, 0, 0x400], expect: E.EFBIG, what: 'pwrite at 4 TiB' },
      { nr: nr.SYS_pread64, args: [{ saved: 'fd' }, 0xc0000000, 4, 0x40000000, 1], expect: E.EFAULT, what: 'pread into a kernel address' },
      { nr: nr.SYS_pwrite64, args: [{ saved: 'fd' }, 0xc0000000, 4, 0, 0], expect: E.EFAULT, what: 'pwrite from a kernel address' },
      { nr: nr.SYS_pipe2, args: [{ buf: PIPE }, 0], expect: 0 },
      // The pipe's read end is fd 4 (0-2 the console, 3 the file).
      { nr: nr.SYS_pread64, args: [4, { buf: DATA }, 1, 0, 0], expect: E.ESPIPE, what: 'pread of a pipe' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp' }, O_RDONLY | O_DIRECTORY, 0], expect: 'ok', save: 'dir' },
      { nr: nr.SYS_pread64, args: [{ saved: 'dir' }, { buf: DATA }, 1, 0, 0], expect: E.EISDIR, what: 'pread of a directory' },
      { nr: nr.SYS_ftruncate, args: [{ saved: 'fd' }, 0x80000001, 1], expect: 0, what: 'ftruncate64 to 6 GiB + 1' },
      fstatx('statx after growing'),
      ...size(0x80000001, 1),
      blocks(16, 'growing adds holes, no pages'),
      { nr: nr.SYS_ftruncate, args: [{ saved: 'fd' }, 0, 0x400], expect: 0, what: 'ftruncate64 to 4 TiB' },
      { nr: nr.SYS_ftruncate, args: [{ saved: 'fd' }, 1, 0x400], expect: E.EFBIG, what: 'ftruncate64 past 4 TiB' },
      { nr: nr.SYS_ftruncate, args: [{ saved: 'fd' }, -1, -1], expect: E.EINVAL, what: 'a negative length' },
      { nr: nr.SYS_ftruncate, args: [{ saved: 'dir' }, 0, 0], expect: E.EINVAL, what: 'ftruncate of a directory' },
      { nr: nr.SYS_ftruncate, args: [{ saved: 'fd' }, 1, 0], expect: 0, what: 'ftruncate64 to 1' },
      fstatx('statx after shrinking'),
      ...size(1, 0),
      blocks(0, 'the far pages are gone'),
      { nr: nr.SYS_close, args: [{ saved: 'fd' }], expect: 0 },
      { nr: nr.SYS_unlinkat, args: [AT_FDCWD, { str: '/tmp/big' }, 0], expect: 0 },
    ];
    const { verdict, report } = await runScript('largefile', steps);
    expect(verdict).toBe('ok');
    // The far index frames went with the pages: only the zero page is kept.
    expect(report.conservation?.frames.kept).toBe(1);
    expect(report.conservation?.ok).toBe(true);
  });

  it('fallocate allocates (growing the file unless KEEP_SIZE) and punches holes (KEEP_SIZE required); fadvise64_64 and sync_file_range check their arguments; a mapping reaches a page past 256 MiB, and one past 4 TiB is -EOVERFLOW', async () => {
    const steps: Step[] = [
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/fa' }, O_CREAT | O_RDWR, 0o600], expect: 'ok', save: 'fd' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, 0, 0, 0, 8192, 0], expect: 0, what: 'fallocate 8 KiB' },
      fstatx('statx after fallocate'),
      ...size(8192, 0),
      blocks(16, 'two pages allocated'),
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, KEEP_SIZE, 0, 0, 16384, 0], expect: 0, what: 'KEEP_SIZE past the end' },
      fstatx('statx after KEEP_SIZE'),
      ...size(8192, 0),
      { nr: nr.SYS_pwrite64, args: [{ saved: 'fd' }, { str: 'data' }, 4, 100, 0], expect: 4 },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, PUNCH_HOLE, 0, 0, 4096, 0], expect: E.EOPNOTSUPP, what: 'PUNCH_HOLE without KEEP_SIZE' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, PUNCH_HOLE | KEEP_SIZE, 0, 0, 4096, 0], expect: 0, what: 'punch the first page' },
      fstatx('statx after the punch'),
      blocks(8, 'one page left'),
      { nr: nr.SYS_pread64, args: [{ saved: 'fd' }, { buf: DATA }, 4, 100, 0], expect: 4 },
      { word: DATA, equals: 0, what: 'the punched data read as zeros' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, PUNCH_HOLE | KEEP_SIZE, 10, 0, 10, 0], expect: 0, what: 'punch inside a page' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, 0, 0, 0, 0, 0], expect: E.EINVAL, what: 'a zero length' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, 0, -1, -1, 1, 0], expect: E.EINVAL, what: 'a negative offset' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, 0x80, 0, 0, 1, 0], expect: E.EOPNOTSUPP, what: 'an unknown mode' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, 0x10, 0, 0, 1, 0], expect: E.EOPNOTSUPP, what: 'ZERO_RANGE, which tmpfs lacks' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'fd' }, 0, 0, 0x400, 1, 0], expect: E.EFBIG, what: 'past 4 TiB' },
      { nr: nr.SYS_fallocate, args: [0, 0, 0, 0, 1, 0], expect: E.EBADF, what: 'the console, read-only' },
      { nr: nr.SYS_fallocate, args: [1, 0, 0, 0, 1, 0], expect: -19, what: 'the console, not a file: -ENODEV' },
      { nr: nr.SYS_openat, args: [AT_FDCWD, { str: '/tmp/fa' }, O_RDONLY, 0], expect: 'ok', save: 'ro' },
      { nr: nr.SYS_fallocate, args: [{ saved: 'ro' }, 0, 0, 0, 1, 0], expect: E.EBADF, what: 'a read-only descriptor' },
      { nr: nr.SYS_pwrite64, args: [{ saved: 'ro' }, { str: 'x' }, 1, 0, 0], expect: E.EBADF, what: 'pwrite to a read-only descriptor' },
      { nr: nr.SYS_fadvise64_64, args: [{ saved: 'fd' }, 0, 1, 4096, 0, 3], expect: 0, what: 'POSIX_FADV_WILLNEED at 4 GiB' },
      { nr: nr.SYS_fadvise64_64, args: [{ saved: 'fd' }, 0, 0, 4096, 0, 6], expect: E.EINVAL, what: 'an unknown advice' },
      { nr: nr.SYS_fadvise64_64, args: [{ saved: 'fd' }, 0, 0, -1, -1, 0], expect: E.EINVAL, what: 'a negative length' },
      { nr: nr.SYS_fadvise64_64, args: [99, 0, 0, 0, 0, 0], expect: E.EBADF },
      { nr: nr.SYS_sync_file_range, args: [{ saved: 'fd' }, 0, 1, 4096, 0, 2], expect: 0, what: 'SYNC_FILE_RANGE_WRITE' },
      { nr: nr.SYS_sync_file_range, args: [{ saved: 'fd' }, 0, 0, 0, 0, 8], expect: E.EINVAL, what: 'an unknown flag' },
      { nr: nr.SYS_sync_file_range, args: [{ saved: 'fd' }, -1, -1, 0, 0, 0], expect: E.EINVAL, what: 'a negative offset' },
      { nr: nr.SYS_sync_file_range, args: [{ saved: 'fd' }, -1, 0x7fffffff, 1, 0, 0], expect: E.EINVAL, what: 'a range wrapping past the largest offset' },
      { nr: nr.SYS_sync_file_range, args: [1, 0, 0, 0, 0, 0], expect: E.ESPIPE, what: 'the console' },
      // A page past the direct index: 1 GiB in.
      { nr: nr.SYS_pwrite64, args: [{ saved: 'fd' }, { str: 'far!' }, 4, 0x40000000, 0], expect: 4, what: 'pwrite at 1 GiB' },
      { nr: nr.SYS_mmap, args: [0, 4096, PROT_READ, MAP_SHARED, { saved: 'fd' }, 0x40000], expect: 'ok', save: 'map', what: 'mmap2 of the page at 1 GiB' },
      { load: 'map', equals: word('far!'), what: 'the mapping shows the file\'s far page' },
      { nr: nr.SYS_mmap, args: [0, 4096, PROT_READ, MAP_SHARED, { saved: 'fd' }, 0x40000000], expect: E.EOVERFLOW, what: 'mmap2 at 4 TiB' },
      { nr: nr.SYS_close, args: [{ saved: 'fd' }], expect: 0 },
      { nr: nr.SYS_close, args: [{ saved: 'ro' }], expect: 0 },
    ];
    const { verdict, result } = await runScript('fallocate', steps);
    expect(verdict).toBe('ok');
    expect(result.console).not.toContain('killed');
  });
});
