/**
 * read and write for every kind of open file (Linux's fs/read_write.c): the checks common to
 * all of them, the MAX_RW cap, and the dispatch by FILE.kind to the console (here: fd 0 reads
 * end-of-file, 1 and 2 append to the machine's console), regular.ts or pipe.ts; a directory
 * reads as -EISDIR. pread64 and pwrite64, which only files with positions take. readv and
 * writev come in through these too, their vectors gathered by the caller (../syscalls.ts).
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import type { KernelContext } from '../context.js';
import { EBADF, EINVAL, EISDIR, ESPIPE } from '../../uapi/errno.js';
import { FILE, FileKind } from '../layout.js';
import type { TaskRun } from '../sched.js';
import { O_ACCMODE, O_RDONLY, O_WRONLY } from '../../uapi/fcntl.js';
import type { FdTables } from './fdtable.js';
import type { Pipes } from './pipe.js';
import type { RegularFiles } from './regular.js';

/** Most bytes one read or write moves (a short transfer beyond it, as Linux's MAX_RW_COUNT is). */
export const MAX_RW = 1 << 20;

export class ReadWrite {
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly k: KernelContext,
    private readonly fdt: FdTables,
    private readonly files: RegularFiles,
    private readonly pipes: Pipes,
  ) {}

  /**
   * read(fd, buf, len) — and readv, whose vectors the caller gathered into one length and
   * scatters with `deliver`. May sleep on a pipe; then the call restarts when woken.
   */
  read(run: TaskRun, fd: number, len: number, deliver: (data: Uint8Array) => number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      const n = Math.min(len, MAX_RW);
      switch (i32[fb + FILE.kind]) {
        case FileKind.Console:
          // pvemu's console has no input: fd 0 is at end of file; 1 and 2 are write-only.
          return i32[fb + FILE.stream] === 0 ? 0 : -EBADF;
        case FileKind.Regular: {
          if ((i32[fb + FILE.flags]! & O_ACCMODE) === O_WRONLY) return -EBADF;
          const data = this.files.readRegular(fb, n);
          return this.delivered(deliver(data), data.length);
        }
        case FileKind.Directory:
          return -EISDIR;
        case FileKind.PipeRead: {
          const data = this.pipes.readPipe(run, fb, n);
          return typeof data === 'number' ? data : this.delivered(deliver(data), data.length);
        }
        default:
          return -EBADF;
      }
    });
  }

  /** write(fd, buf, len) — and writev: `gather` copies the caller's bytes in (or -EFAULT). */
  write(run: TaskRun, fd: number, len: number, gather: (n: number) => Uint8Array | number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind === FileKind.PipeRead || (i32[fb + FILE.flags]! & O_ACCMODE) === O_RDONLY) return -EBADF;
      const data = gather(Math.min(len, MAX_RW));
      if (typeof data === 'number') return data;
      switch (kind) {
        case FileKind.Console:
          this.k.machine.console(this.decoder.decode(data), i32[fb + FILE.stream]!);
          return data.length;
        case FileKind.Regular:
          return this.files.writeRegular(fb, data);
        default:
          return this.pipes.writePipe(run, fb, data);
      }
    });
  }

  /**
   * pread64(fd, buf, len, pos): read at `pos` without moving the file position. A negative
   * position is -EINVAL (before the descriptor is looked at, as ksys_pread64 checks); files
   * without positions (pipes, the console) are -ESPIPE.
   */
  pread(run: TaskRun, fd: number, len: number, pos: number, deliver: (data: Uint8Array) => number): number {
    if (pos < 0) return -EINVAL;
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind !== FileKind.Regular && kind !== FileKind.Directory) return -ESPIPE;
      if ((i32[fb + FILE.flags]! & O_ACCMODE) === O_WRONLY) return -EBADF;
      if (kind === FileKind.Directory) return -EISDIR;
      const data = this.files.readAt(i32[fb + FILE.inode]!, pos, Math.min(len, MAX_RW));
      return this.delivered(deliver(data), data.length);
    });
  }

  /** pwrite64(fd, buf, len, pos): write at `pos` without moving the file position. */
  pwrite(run: TaskRun, fd: number, len: number, pos: number, gather: (n: number) => Uint8Array | number): number {
    if (pos < 0) return -EINVAL;
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind !== FileKind.Regular && kind !== FileKind.Directory) return -ESPIPE;
      if ((i32[fb + FILE.flags]! & O_ACCMODE) === O_RDONLY) return -EBADF;
      const data = gather(Math.min(len, MAX_RW));
      if (typeof data === 'number') return data;
      return this.files.writeAt(fb, pos, data);
    });
  }

  private delivered(r: number, n: number): number {
    return r < 0 ? r : n;
  }
}
