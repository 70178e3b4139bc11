/**
 * Descriptor tables and open files (Linux's fs/file.c and fs/file_table.c): a process's
 * files_struct (FDTABLE slots: init's, copied or shared by clone, dropped at exit with every
 * descriptor closed), the struct file slots (FILE) with their references (fget/fput; the last
 * fput closes a pipe end and drops the inode), fd_install and close, and the console's three
 * open files set up at boot. The table also carries the process's working directory, umask
 * and resource limits (layout.ts FDTABLE says why): copied with it, dropped with it.
 *
 * Runs on the vCPU worker of the calling task, on its behalf; bootInit and init's initFiles run
 * on CPU 0's worker at boot.
 */
import type { KernelContext } from '../context.js';
import { EBADF, EINVAL, EMFILE } from '../../uapi/errno.js';
import { FDTABLE, FILE, FileKind, INODE, KGLOBALS, MAX_FDTABLES, MAX_FILES, NR_OPEN, RLIM_NLIMITS, TASK } from '../layout.js';
import { MAX_TASKS } from '../../lib/limits.js';
import type { TaskRun } from '../sched.js';
import { spinLock, spinUnlock } from '../sync.js';
import { O_CLOEXEC, O_RDONLY, O_WRONLY } from '../../uapi/fcntl.js';
import type { Inodes } from './inode.js';

// Resources (include/uapi/asm-generic/resource.h).
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_SIGPENDING = 11;
export const RLIMIT_MSGQUEUE = 12;
export const RLIMIT_NICE = 13;
export const RLIMIT_RTPRIO = 14;
/** RLIM_INFINITY: ~0ULL. */
export const RLIM_INFINITY = 2 ** 64 - 1;
/** A limit as two 32-bit halves; RLIM_INFINITY is both halves all ones. */
export interface Rlimit64 {
  curLo: number;
  curHi: number;
  maxLo: number;
  maxHi: number;
}
const INFINITE: Rlimit64 = { curLo: -1, curHi: -1, maxLo: -1, maxHi: -1 };
const finite = (cur: number, max: number): Rlimit64 => ({ curLo: cur, curHi: 0, maxLo: max, maxHi: 0 });
/**
 * init's limits: INIT_RLIMITS (include/asm-generic/resource.h), with fork_init's NPROC and
 * SIGPENDING (max_threads / 2) and NOFILE at this kernel's nr_open, NR_OPEN, the size of a table.
 */
function initRlimit(resource: number): Rlimit64 {
  switch (resource) {
    case RLIMIT_STACK: return { curLo: 8 * 1024 * 1024, curHi: 0, maxLo: -1, maxHi: -1 }; // _STK_LIM
    case RLIMIT_CORE: return { curLo: 0, curHi: 0, maxLo: -1, maxHi: -1 };
    case RLIMIT_NPROC:
    case RLIMIT_SIGPENDING:
      return finite(MAX_TASKS / 2, MAX_TASKS / 2);
    case RLIMIT_NOFILE: return finite(NR_OPEN, NR_OPEN);
    case RLIMIT_MEMLOCK: return finite(8 * 1024 * 1024, 8 * 1024 * 1024); // MLOCK_LIMIT
    case RLIMIT_MSGQUEUE: return finite(819200, 819200); // MQ_BYTES_MAX
    case RLIMIT_NICE:
    case RLIMIT_RTPRIO:
      return finite(0, 0);
    default: return INFINITE;
  }
}
/** The umask init starts with (init_fs's 0022). */
const INIT_UMASK = 0o022;

export class FdTables {
  constructor(
    private readonly k: KernelContext,
    private readonly inodes: Inodes,
  ) {}

  /** Boot: the console's three open files, FILE slots 0-2, each holding one reference for good. */
  bootInit(): void {
    const { i32, layout } = this.k;
    for (let stream = 0; stream < 3; stream++) {
      const fb = layout.fileBase(stream);
      i32[fb + FILE.kind] = FileKind.Console;
      i32[fb + FILE.flags] = stream === 0 ? O_RDONLY : O_WRONLY;
      i32[fb + FILE.stream] = stream;
      i32[fb + FILE.refs] = 1;
    }
  }

  /** init's table: the console on fds 0, 1 and 2. Returns TASK.files (index + 1), or 0. */
  initFiles(): number {
    const t = this.allocTable();
    if (t < 0) return 0;
    const { i32, layout } = this.k;
    const b = layout.fdtableBase(t);
    for (let fd = 0; fd < 3; fd++) {
      Atomics.add(i32, layout.fileBase(fd) + FILE.refs, 1);
      i32[b + FDTABLE.fd + fd] = fd + 1;
    }
    i32[b + FDTABLE.umask] = INIT_UMASK;
    for (let r = 0; r < RLIM_NLIMITS; r++) this.storeRlimit(b, r, initRlimit(r));
    return t + 1;
  }

  /**
   * clone's copy_files: the parent's table shared (CLONE_FILES), or a copy whose descriptors
   * name the same open files. Returns the child's TASK.files, or 0 when no table is free.
   */
  cloneFiles(parent: TaskRun, share: boolean): number {
    const { i32, layout, cpu, spinner } = this.k;
    const files = i32[layout.taskBase(parent.slot) + TASK.files]!;
    if (files === 0) return 0;
    const pb = layout.fdtableBase(files - 1);
    if (share) {
      Atomics.add(i32, pb + FDTABLE.refs, 1);
      return files;
    }
    const t = this.allocTable();
    if (t < 0) return 0;
    const cb = layout.fdtableBase(t);
    spinLock(i32, pb + FDTABLE.lock, cpu, spinner);
    for (let fd = 0; fd < NR_OPEN; fd++) {
      const f = i32[pb + FDTABLE.fd + fd]!;
      if (f !== 0) Atomics.add(i32, layout.fileBase(f - 1) + FILE.refs, 1);
      i32[cb + FDTABLE.fd + fd] = f;
    }
    spinUnlock(i32, pb + FDTABLE.lock);
    this.copyProcessState(pb, cb);
    return t + 1;
  }

  /** exit_files: the task lets go of its table. */
  exitFiles(run: TaskRun): void {
    const { i32, layout } = this.k;
    const tb = layout.taskBase(run.slot);
    const files = i32[tb + TASK.files]!;
    i32[tb + TASK.files] = 0;
    if (files !== 0) this.dropFiles(files);
  }

  /** put_files_struct: drop a reference on table `files` (index + 1); the last closes every descriptor. */
  dropFiles(files: number): void {
    const { i32, layout } = this.k;
    const b = layout.fdtableBase(files - 1);
    // The last user owns the table (only its users can share it, so no reference can appear)
    // and keeps refs at 1 while it closes, so the slot is not handed out before it is empty.
    for (;;) {
      const refs = Atomics.load(i32, b + FDTABLE.refs);
      if (refs === 1) break;
      // ORDERING: pairs with the other users' decrements and cloneFiles' increment.
      if (Atomics.compareExchange(i32, b + FDTABLE.refs, refs, refs - 1) === refs) return;
    }
    for (let fd = 0; fd < NR_OPEN; fd++) {
      const f = i32[b + FDTABLE.fd + fd]!;
      i32[b + FDTABLE.fd + fd] = 0;
      if (f !== 0) this.fput(f - 1);
    }
    const cwd = i32[b + FDTABLE.cwd]!;
    i32[b + FDTABLE.cwd] = 0;
    if (cwd !== 0) this.inodes.iput(cwd - 1);
    // ORDERING: frees the slot last; pairs with allocTable's load under fsLock.
    Atomics.store(i32, b + FDTABLE.refs, 0);
  }

  private allocTable(): number {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    let t = -1;
    for (let s = 0; s < MAX_FDTABLES; s++) {
      if (Atomics.load(i32, layout.fdtableBase(s) + FDTABLE.refs) === 0) { t = s; break; }
    }
    if (t >= 0) {
      const b = layout.fdtableBase(t);
      for (let w = 0; w < FDTABLE.WORDS; w++) i32[b + w] = 0;
      i32[b + FDTABLE.refs] = 1;
    }
    spinUnlock(i32, lock);
    return t;
  }

  /**
   * fork's copy_fs_struct and copy_signal's limits: the child's table gets the parent's working
   * directory (a reference of its own), umask and limits. The working directory is read under
   * fsLock, which chdir holds to change it.
   */
  private copyProcessState(pb: number, cb: number): void {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    const cwd = i32[pb + FDTABLE.cwd]!;
    if (cwd !== 0) this.inodes.iget(cwd - 1);
    i32[cb + FDTABLE.cwd] = cwd;
    i32[cb + FDTABLE.umask] = i32[pb + FDTABLE.umask]!;
    for (let w = 0; w < RLIM_NLIMITS * 4; w++) i32[cb + FDTABLE.rlim + w] = i32[pb + FDTABLE.rlim + w]!;
    spinUnlock(i32, lock);
  }

  /**
   * The working directory's inode slot, or -1 for the root (or a task without a table).
   * Caller holds fsLock (chdir changes it under fsLock, so the slot stays valid meanwhile).
   */
  cwd(run: TaskRun): number {
    const tb = this.tableBase(run);
    return tb < 0 ? -1 : this.k.i32[tb + FDTABLE.cwd]! - 1;
  }

  /**
   * set_fs_pwd: make `ino` (a directory, referenced for the table by the caller) the working
   * directory; returns the old one's slot (-1: the root) for the caller to iput after fsLock,
   * which it holds.
   */
  setCwd(run: TaskRun, ino: number): number {
    const tb = this.tableBase(run);
    if (tb < 0) return ino;
    const old = this.k.i32[tb + FDTABLE.cwd]! - 1;
    this.k.i32[tb + FDTABLE.cwd] = ino + 1;
    return old;
  }

  /** umask(mask): set the process's umask, returning the old one. */
  umask(run: TaskRun, mask: number): number {
    const tb = this.tableBase(run);
    if (tb < 0) return INIT_UMASK;
    // ORDERING: none: only this process's own calls read it (creations see the old or the new).
    const old = this.k.i32[tb + FDTABLE.umask]!;
    this.k.i32[tb + FDTABLE.umask] = mask & 0o777;
    return old;
  }

  currentUmask(run: TaskRun): number {
    const tb = this.tableBase(run);
    return tb < 0 ? INIT_UMASK : this.k.i32[tb + FDTABLE.umask]!;
  }

  /** The process's limit for `resource` (< RLIM_NLIMITS). */
  rlimit(run: TaskRun, resource: number): Rlimit64 {
    const tb = this.tableBase(run);
    if (tb < 0) return initRlimit(resource);
    const { i32 } = this.k;
    const at = tb + FDTABLE.rlim + resource * 4;
    return { curLo: i32[at]!, curHi: i32[at + 1]!, maxLo: i32[at + 2]!, maxHi: i32[at + 3]! };
  }

  /**
   * Replace the limit (do_prlimit's update, under the table's lock as Linux holds task_lock);
   * returns the old one. The caller checked it.
   */
  setRlimit(run: TaskRun, resource: number, lim: Rlimit64): Rlimit64 {
    const { i32, cpu, spinner } = this.k;
    const tb = this.tableBase(run);
    if (tb < 0) return initRlimit(resource);
    spinLock(i32, tb + FDTABLE.lock, cpu, spinner);
    const old = this.rlimit(run, resource);
    this.storeRlimit(tb, resource, lim);
    spinUnlock(i32, tb + FDTABLE.lock);
    return old;
  }

  private storeRlimit(tb: number, resource: number, lim: Rlimit64): void {
    const { i32 } = this.k;
    const at = tb + FDTABLE.rlim + resource * 4;
    i32[at] = lim.curLo;
    i32[at + 1] = lim.curHi;
    i32[at + 2] = lim.maxLo;
    i32[at + 3] = lim.maxHi;
  }

  /** rlimit(RLIMIT_NOFILE) as a descriptor bound: the lowest descriptor that may not be used. */
  private nofile(tb: number): number {
    const { i32 } = this.k;
    const at = tb + FDTABLE.rlim + RLIMIT_NOFILE * 4;
    return i32[at + 1] !== 0 ? NR_OPEN : Math.min(NR_OPEN, i32[at]! >>> 0);
  }

  private tableBase(run: TaskRun): number {
    const files = this.k.i32[this.k.layout.taskBase(run.slot) + TASK.files]!;
    return files === 0 ? -1 : this.k.layout.fdtableBase(files - 1);
  }

  /** fget: the open file `fd` names, with a reference for the call, or -1. */
  private fget(run: TaskRun, fd: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    const tb = this.tableBase(run);
    if (tb < 0 || fd < 0 || fd >= NR_OPEN) return -1;
    spinLock(i32, tb + FDTABLE.lock, cpu, spinner);
    const f = i32[tb + FDTABLE.fd + fd]! - 1;
    if (f >= 0) Atomics.add(i32, layout.fileBase(f) + FILE.refs, 1);
    spinUnlock(i32, tb + FDTABLE.lock);
    return f;
  }

  /** fput: drop a reference; the last closes the file (a pipe end, the inode's reference). */
  fput(f: number): void {
    const { i32, layout } = this.k;
    const fb = layout.fileBase(f);
    if (Atomics.sub(i32, fb + FILE.refs, 1) !== 1) return;
    const kind = i32[fb + FILE.kind]!;
    const ino = i32[fb + FILE.inode]!;
    if (kind === FileKind.PipeRead || kind === FileKind.PipeWrite) {
      const ib = layout.inodeBase(ino);
      this.inodes.lockInode(ino);
      i32[ib + (kind === FileKind.PipeRead ? INODE.readers : INODE.writers)]!--;
      this.inodes.unlockInode(ino);
      this.inodes.pipeChanged(ino);
    }
    if (kind !== FileKind.Console) this.inodes.iput(ino);
    // ORDERING: frees the slot last; pairs with allocFile's load under fsLock.
    Atomics.store(i32, fb + FILE.kind, FileKind.Free);
  }

  /** A new open file with one reference, or -1 when the table is full. */
  allocFile(kind: FileKind, ino: number, flags: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    let f = -1;
    for (let s = 3; s < MAX_FILES; s++) {
      if (Atomics.load(i32, layout.fileBase(s) + FILE.kind) === FileKind.Free) { f = s; break; }
    }
    if (f >= 0) {
      const fb = layout.fileBase(f);
      i32[fb + FILE.kind] = kind;
      i32[fb + FILE.inode] = ino;
      i32[fb + FILE.flags] = flags;
      i32[fb + FILE.pos] = 0;
      i32[fb + FILE.posHi] = 0;
      i32[fb + FILE.stream] = 0;
      i32[fb + FILE.refs] = 1;
    }
    spinUnlock(i32, lock);
    return f;
  }

  /**
   * fd_install at the lowest free descriptor from `min` up, below RLIMIT_NOFILE; -EMFILE (and
   * the file dropped) when none is.
   */
  install(run: TaskRun, f: number, min = 0): number {
    const { i32, cpu, spinner } = this.k;
    const tb = this.tableBase(run);
    let fd = -1;
    if (tb >= 0) {
      spinLock(i32, tb + FDTABLE.lock, cpu, spinner);
      for (let d = Math.max(0, min), end = this.nofile(tb); d < end; d++) {
        if (i32[tb + FDTABLE.fd + d] === 0) { fd = d; break; }
      }
      if (fd >= 0) i32[tb + FDTABLE.fd + fd] = f + 1;
      spinUnlock(i32, tb + FDTABLE.lock);
    }
    if (fd < 0) {
      this.fput(f);
      return -EMFILE;
    }
    return fd;
  }

  /**
   * dup3(oldfd, newfd, flags): `newfd` names the open file `oldfd` names, closing what it named
   * before; O_CLOEXEC is the only flag (accepted: there is no execve to honour it).
   */
  dup3(run: TaskRun, oldfd: number, newfd: number, flags: number): number {
    const { i32, cpu, spinner } = this.k;
    if ((flags & ~O_CLOEXEC) !== 0 || oldfd === newfd) return -EINVAL;
    const tb = this.tableBase(run);
    if (tb < 0 || newfd < 0 || newfd >= this.nofile(tb)) return -EBADF;
    const f = this.fget(run, oldfd);
    if (f < 0) return -EBADF;
    spinLock(i32, tb + FDTABLE.lock, cpu, spinner);
    const old = i32[tb + FDTABLE.fd + newfd]! - 1;
    // The reference fget took is the new descriptor's.
    i32[tb + FDTABLE.fd + newfd] = f + 1;
    spinUnlock(i32, tb + FDTABLE.lock);
    if (old >= 0) this.fput(old);
    return newfd;
  }

  /**
   * dup(fd), and fcntl's F_DUPFD (the lowest free descriptor from `min`): a new descriptor for
   * the same open file. -EINVAL for a `min` at or past RLIMIT_NOFILE, as f_dupfd says.
   */
  dup(run: TaskRun, fd: number, min = 0): number {
    const tb = this.tableBase(run);
    if (tb >= 0 && min !== 0 && (min < 0 || min >= this.nofile(tb))) return -EINVAL;
    const f = this.fget(run, fd);
    if (f < 0) return -EBADF;
    // The reference fget took is the new descriptor's (install drops it on -EMFILE).
    return this.install(run, f, min);
  }

  close(run: TaskRun, fd: number): number {
    const { i32, cpu, spinner } = this.k;
    const tb = this.tableBase(run);
    if (tb < 0 || fd < 0 || fd >= NR_OPEN) return -EBADF;
    spinLock(i32, tb + FDTABLE.lock, cpu, spinner);
    const f = i32[tb + FDTABLE.fd + fd]! - 1;
    i32[tb + FDTABLE.fd + fd] = 0;
    spinUnlock(i32, tb + FDTABLE.lock);
    if (f < 0) return -EBADF;
    this.fput(f);
    return 0;
  }

  /** Run `op` on the open file `fd` names, holding a reference for the call; -EBADF if none. */
  withFile(run: TaskRun, fd: number, op: (f: number, fb: number) => number): number {
    const f = this.fget(run, fd);
    if (f < 0) return -EBADF;
    try {
      return op(f, this.k.layout.fileBase(f));
    } finally {
      this.fput(f);
    }
  }
}
