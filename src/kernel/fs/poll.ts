/**
 * Poll (the revents half of Linux's fs/select.c): what a descriptor is ready for, and the
 * sequence word a ppoll sleeper waits on. The ppoll system call itself — copying the pollfd
 * array in and out, the deadline, the sleep — is Syscalls.sysPpoll in ../syscalls.ts, which
 * calls these through the FileSystem façade.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import type { KernelContext } from '../context.js';
import { EBADF } from '../../uapi/errno.js';
import { FILE, FileKind, INODE, KGLOBALS } from '../layout.js';
import type { TaskRun } from '../sched.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM } from '../../uapi/poll.js';
import type { FdTables } from './fdtable.js';
import { PIPE_BUF } from './pipe.js';

/** What a file without its own poll reports: always readable and writable (DEFAULT_POLLMASK). */
const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

export class Poll {
  constructor(
    private readonly k: KernelContext,
    private readonly fdt: FdTables,
  ) {}

  /** The ppoll sequence word: bumped on every pipe change (pipeChanged). */
  get pollSeqWord(): number {
    return this.k.layout.kglobals + KGLOBALS.pollSeq;
  }

  /** What `fd` is ready for, masked to `events` (POLLERR, POLLHUP and POLLNVAL always count). */
  pollRevents(run: TaskRun, fd: number, events: number): number {
    const r = this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32, layout } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind !== FileKind.PipeRead && kind !== FileKind.PipeWrite) return DEFAULT_POLLMASK;
      const ib = layout.inodeBase(i32[fb + FILE.inode]!);
      // ORDERING: a snapshot; pairs with the pipe's updates under its lock and the pollSeq bump
      // after them (a change after this read moves pollSeq, which the sleeper rechecks).
      const used = (Atomics.load(i32, ib + INODE.pipeHead) - Atomics.load(i32, ib + INODE.pipeTail)) | 0;
      if (kind === FileKind.PipeRead) {
        return (used > 0 ? POLLIN | POLLRDNORM : 0) | (Atomics.load(i32, ib + INODE.writers) === 0 ? POLLHUP : 0);
      }
      return (used < PIPE_BUF ? POLLOUT | POLLWRNORM : 0) | (Atomics.load(i32, ib + INODE.readers) === 0 ? POLLERR : 0);
    });
    return r === -EBADF ? POLLNVAL : r & (events | POLLERR | POLLHUP);
  }
}
