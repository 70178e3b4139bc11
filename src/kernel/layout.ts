/**
 * The guest kernel's data in guest RAM: every shared kernel structure at a fixed physical
 * address, declared once here. Each vCPU worker computes the same `KernelLayout` from the RAM
 * size, the way a real kernel's .data and .bss sit at link-time addresses.
 *
 *   phys 0x00000000  frame 0: never allocated (a NULL guard)
 *        0x00001000  KGLOBALS     locks, counters, the free-frame stack top, live tasks
 *        ...         PERCPU[64]   per-CPU kernel state (loaded mm, lazy flag, queues)
 *        ...         CSD[64][64]  call_single_data, one per (initiator, target) pair
 *        ...         TASK[256]    task_struct table
 *        ...         MM[64]       mm_struct table, each followed by its VMA array
 *        ...         SHMEM[64]    shared-memory objects (MAP_SHARED|MAP_ANONYMOUS)
 *        ...         FUTEX[256]   futex hash buckets
 *        ...         INODE[128], FILE[512], FDTABLE[256]   the in-memory file system (fs/)
 *        ...         vmalloc bitmap, one bit per vmalloc-area page
 *        ...         free stack   one word per RAM frame (the zone's free list)
 *        ...         page refs    one word per RAM frame (page->_refcount)
 *        ...         frame gens   one word per RAM frame: bumped each time the frame is freed
 *        ...         swapper_pg_dir, vmalloc page tables
 *        firstFree   ... allocatable frames up to the end of RAM
 *
 * Kernel virtual layout: user space below USER_TOP; RAM direct-mapped at PAGE_OFFSET with 4 MiB
 * global pages; vmalloc area at VMALLOC_START with 4 KiB global pages in shared page tables.
 * The kernel reaches its own data through the direct map, i.e. by physical address (RAM words).
 */
import { defineStruct } from '../hw/struct.js';
import { LARGE_PAGE_SIZE, PAGE_SHIFT, PAGE_SIZE } from '../hw/paging.js';
import { MAX_CPUS, MAX_MMS, MAX_TASKS } from '../lib/limits.js';

export const VMALLOC_START = 0xf0000000;
/** 128 MiB of vmalloc space: 32 page tables, preallocated and shared by every page directory. */
export const VMALLOC_END = 0xf8000000;
/** Lowest address mmap hands out without MAP_FIXED (and the floor for MAP_FIXED). */
export const MMAP_MIN_ADDR = 0x00010000;
export const MMAP_BASE = 0x10000000;

/** VMAs per address space. */
export const MAX_VMAS = 256;
export const MAX_SHMEM = 128;
/**
 * Direct index frames per shared-memory object: 64 frames × 1024 pages × 4 KiB = the first
 * 256 MiB. Pages past that go through the object's far index (SHMEM.far, shmem.ts).
 */
export const SHMEM_INDEX_FRAMES = 64;
export const FUTEX_BUCKETS = 256;
/** In-memory file system: inodes (files and pipes), open files, and fd tables (files_struct). */
export const MAX_INODES = 128;
export const MAX_FILES = 512;
export const MAX_FDTABLES = MAX_TASKS;
/** File descriptors per table: fs.nr_open, the most RLIMIT_NOFILE may be raised to. */
export const NR_OPEN = 64;
/** Longest name of one directory entry (NAME_MAX, include/uapi/linux/limits.h). */
export const NAME_MAX = 255;
/** Resources a process has limits for (RLIM_NLIMITS, include/uapi/asm-generic/resource.h). */
export const RLIM_NLIMITS = 16;

export const KGLOBALS = defineStruct(
  'kernel_globals',
  {
    /** zone->lock: protects the free stack. */
    zoneLock: 1,
    /** Frames on the free stack. */
    freeCount: 1,
    /** Allocatable frames in all. */
    managedFrames: 1,
    /** Next thread id to hand out. */
    nextTid: 1,
    /** Protects task-slot and mm-slot allocation. */
    tableLock: 1,
    /** Tasks that exist and have not exited. */
    liveTasks: 1,
    /** Protects the vmalloc area allocator. */
    vmallocLock: 1,
    /** Page tables allocated for user address spaces (for conservation checks). */
    pageTables: 1,
    /** Physical address of swapper_pg_dir (init_mm's page directory). */
    swapperPgDir: 1,
    /** exit_group status of the init process (tgid 1): the machine's exit status. */
    initExit: 1,
    /** The shared zero page (ZERO_PAGE): read faults on private memory map it read-only. */
    zeroPage: 1,
    /** Placement cursor: the next CPU a new task goes to (round robin). */
    nextCpu: 1,
    /** cpu_online_mask (two words). */
    onlineMask: 2,
    /** Kernel-mapping flush generation (init_mm's tlb_gen), bumped by flush_tlb_kernel_range. */
    kernelTlbGen: 1,
    /**
     * The highest kernelTlbGen whose flush_tlb_kernel_range has completed: every CPU has dropped
     * kernel translations older than it (the --check coherence checker reads it).
     */
    kernelCompletedGen: 1,
    /** Protects inode, file and fd-table slot allocation and the file system's namespace. */
    fsLock: 1,
    /** Bumped on every pipe state change: ppoll sleepers wait for it to move (fs/inode.ts, fs/poll.ts). */
    pollSeq: 1,
    /**
     * Nonzero once every task is being killed (the run's stop request: a program's --seconds
     * limit, or the run interrupted): the status they die with, | 0x100. Written and read under
     * tableLock, so a clone finishing then starts its child killed too.
     */
    killAll: 1,
    /**
     * siglock for every process (one lock: signals are rare): dispositions, pending sets and
     * their siginfo, blocked masks, TIF_SIGPENDING, interval timers.
     */
    sigLock: 1,
    /** Processes with ITIMER_REAL armed: the boot CPU looks for expired ones while nonzero. */
    itimersArmed: 1,
  },
  16,
);

/** Per-CPU kernel state (Linux's cpu_tlbstate and friends). */
export const PERCPU = defineStruct(
  'percpu',
  {
    /** mm_struct address loaded in CR3 (0: init_mm). Written by the owner only. */
    loadedMm: 1,
    /** The loaded mm's tlb_gen this CPU's TLB is known to reflect (cpu_tlbstate.ctxs[].tlb_gen). */
    loadedTlbGen: 1,
    /** 1 while running the idle task with a user mm still loaded (cpu_tlbstate_shared.is_lazy). */
    isLazy: 1,
    /** Head of this CPU's call-function queue (llist of CSD indices + 1). */
    callQueue: 1,
    /** Head of this CPU's wake list (llist of task slot + 1): remote wakeups to run here. */
    wakeList: 1,
    /** Number of tasks assigned to this CPU (placement). */
    nrTasks: 1,
    /** Kernel-mapping flush generation this CPU has applied. */
    kernelTlbGen: 1,
  },
  16,
);

/** call_single_data: one remote function call request. */
export const CSD = defineStruct(
  'call_single_data',
  {
    /** llist link: next CSD index + 1, or 0. */
    next: 1,
    /** CSD_FLAG_LOCK while the request is in flight. */
    flags: 1,
    /** CallFunc. */
    func: 1,
    /** Initiating CPU. */
    src: 1,
    // flush_tlb_info, for the flush functions
    mm: 1,
    start: 1,
    end: 1,
    newTlbGen: 1,
    freedTables: 1,
    /** Modelled cycles the target spent on the request (measurement), written before the ack. */
    cost: 1,
  },
  16,
);
export const CSD_FLAG_LOCK = 1;

export const enum CallFunc {
  /** flush_tlb_func: flush a user address space range (FlushInfo in the CSD). */
  FlushTlb = 1,
  /** do_flush_tlb_all for kernel mappings: flush the range including global entries. */
  FlushTlbKernel = 2,
  /** leave_mm: switch a CPU still holding the mm (lazily) to init_mm. */
  LeaveMm = 3,
  /** ipi_mb: membarrier's function, a full barrier on the target. */
  Membarrier = 4,
}

export const TASK = defineStruct(
  'task_struct',
  {
    /** TaskState. */
    state: 1,
    /** The CPU this task runs on (tasks do not migrate). */
    cpu: 1,
    tid: 1,
    /** Thread-group id (the pid of the process). */
    tgid: 1,
    /** mm_struct address. */
    mm: 1,
    /**
     * User stack pointer the task starts with (clone's newsp). A program's start-up code finds
     * its entry and argument there, as musl's __clone leaves fn and arg on the child's stack.
     */
    userSp: 1,
    /** Nanosleep / futex-timeout deadline in guest ns (schedClock), 0 = none. */
    wakeAt: 1,
    exitCode: 1,
    /** CLONE_CHILD_CLEARTID address: zeroed and futex-woken at exit. */
    clearChildTid: 1,
    /** Futex wait key (mm, uaddr) and the bucket chain link (slot + 1). */
    futexMm: 1,
    futexAddr: 1,
    futexNext: 1,
    /** Result to hand the task when it is woken from a blocking system call. */
    wakeResult: 1,
    /** Wake-list link (slot + 1). */
    wakeNext: 1,
    /** 1 when exit_group asked this thread to die. */
    killed: 1,
    /** vmalloc'd kernel stack (virtual address). */
    kernelStack: 1,
    /** Exit status shared by the thread group (exit_group), on the group leader. */
    groupExit: 1,
    /** The process that forked this one: its slot + 1 and tid (0: none; threads are not waited for). */
    parent: 1,
    parentTid: 1,
    /** 1 while the task sleeps in wait4 for a child to exit. */
    waitChild: 1,
    /** Its file-descriptor table (files_struct): FDTABLE index + 1, 0 for none. */
    files: 1,
    /**
     * CPU time, in timer ticks the task was running at (tick-based accounting, as Linux without
     * VIRT_CPU_ACCOUNTING): its own; on a process's leader also its exited threads' and its
     * reaped children's (getrusage's RUSAGE_CHILDREN).
     */
    cpuTicks: 1,
    deadThreadTicks: 1,
    childTicks: 1,
    /**
     * On a process's leader, its signal dispositions (threads share them): a 64-bit mask each of
     * the signals it ignores and of those it handles, and each signal's handler address
     * (index signal - 1), what rt_sigaction's oldact reports.
     */
    sigIgnored: 2,
    sigHandled: 2,
    sigHandlers: 64,
    /** On the leader: each signal's sa_flags and sa_mask (two words), index signal - 1. */
    sigActFlags: 64,
    sigActMask: 128,
    /**
     * On the leader: signals sent to the process (shared_pending), and each one's siginfo as
     * three words (si_code, the word at offset 12: si_pid or si_addr, the word at offset 20:
     * si_value or si_status), index (signal - 1) * 3. Under KGLOBALS.sigLock.
     */
    sigSharedPending: 2,
    sigSharedInfo: 192,
    /**
     * TIF_SIGPENDING: 1 while a signal this thread does not block is pending for it or its
     * process. Set by senders and recomputed by the thread, under KGLOBALS.sigLock; read
     * without the lock at every return to user mode and before sleeping.
     */
    sigFlag: 1,
    /** The thread's blocked mask; written by the thread itself under sigLock, read by senders. */
    sigBlocked: 2,
    /** Signals sent to this thread (pending), and their siginfo as sigSharedInfo. */
    sigPending: 2,
    sigInfo: 192,
    /** sigaltstack: base, size and flags (SS_DISABLE when none, SS_AUTODISARM). The thread's own. */
    altSp: 1,
    altSize: 1,
    altFlags: 1,
    /**
     * On the leader: ITIMER_REAL, its next expiry (schedClock ns) and its interval (ns), each as
     * low and high words; 0 when disarmed. Under sigLock.
     */
    itRealAt: 2,
    itRealInterval: 2,
    /** set_robust_list's head (user address), walked at exit; 0: none. */
    robustList: 1,
    /**
     * A CLONE_VFORK child's release word: 0 until it exits, when it is bumped and its parent
     * woken (futex wakeKernel); -1 for every other task.
     */
    vforkDone: 1,
    /** sched_setaffinity's mask (two words); both 0: never set, every online CPU. */
    affinity: 2,
  },
  16,
);

export const enum TaskState {
  Free = 0,
  Running = 1,
  /** TASK_INTERRUPTIBLE: sleeping until woken. */
  Sleeping = 2,
  /** Exited; a process's slot stays until its parent reaps it with wait4 (a zombie). */
  Dead = 3,
  /** Slot claimed, task not yet started. */
  New = 4,
}

/** A task that exists and has not exited (it may run or sleep): what senders, waiters and scans look for. */
export function taskLive(state: number): boolean {
  return state === TaskState.Running || state === TaskState.Sleeping;
}

export const MM = defineStruct(
  'mm_struct',
  {
    /** mm_users: tasks using the address space. */
    users: 1,
    /** mm_count: 1 while the struct exists (from mm_alloc until exit_mmap is done); 0 = free slot. */
    count: 1,
    /** Page directory physical address (mm->pgd). */
    pgd: 1,
    /** mm_cpumask: CPUs that may hold translations of this mm (two words). */
    cpumask: 2,
    /** mm->context.tlb_gen. */
    tlbGen: 1,
    /** mmap_lock (rwsem word, src/kernel/sync.ts). */
    mmapLock: 1,
    /** page_table_lock. */
    pageTableLock: 1,
    vmaCount: 1,
    brkStart: 1,
    brk: 1,
    /** Frames mapped (rss). */
    rss: 1,
    /** Page-table pages allocated. */
    ptPages: 1,
    /** Identifier for reports: slot index + 1. */
    id: 1,
  },
  16,
);

export const VMA = defineStruct('vm_area_struct', {
  start: 1,
  end: 1,
  /** PROT_* bits. */
  prot: 1,
  /** MAP_SHARED / MAP_PRIVATE | MAP_ANONYMOUS. */
  flags: 1,
  /** Shared-memory object index + 1, or 0 for private anonymous memory. */
  shmem: 1,
  /** Page offset into the shared-memory object of `start`. */
  pgoff: 1,
  pad: 2,
});

export const SHMEM = defineStruct(
  'shmem_object',
  {
    /** References: one per VMA mapping it. 0 = free slot. */
    refs: 1,
    /** Size in pages. */
    pages: 1,
    /** Protects the page index. */
    lock: 1,
    /** Frames of the page index (each holds 1024 frame numbers, 0 = not yet allocated). */
    index: SHMEM_INDEX_FRAMES,
    /**
     * Pages from 256 MiB on (a sparse file's far end): a frame of 1024 middle-frame numbers,
     * each middle frame 1024 leaf-frame numbers, each leaf 1024 page frames; 0 = none yet.
     */
    far: 1,
  },
  16,
);

export const enum InodeType {
  Free = 0,
  Regular = 1,
  Fifo = 2,
  Directory = 3,
  Symlink = 4,
}

/**
 * An inode of the in-memory file system — a regular file or a symlink (its bytes in a shmem
 * object), a directory — or a pipe. Every name is one inode's: the file system has no hard
 * links, so an inode carries its own directory entry (parent and name), as a dentry would.
 */
export const INODE = defineStruct(
  'inode',
  {
    /** References: open files, working directories, plus one while it has a name. 0 = free slot. */
    refs: 1,
    /** InodeType. */
    type: 1,
    /** Protects size, data and the pipe's buffer indices (i_rwsem's role). */
    lock: 1,
    /** Links: a file 1 while named; a directory 2 plus its subdirectories; 0 once removed. */
    nlink: 1,
    /** Permission bits (the mode given at creation, less the umask). */
    mode: 1,
    /** Regular file or symlink: size in bytes, 64 bits (low word, high word). */
    size: 1,
    sizeHi: 1,
    /** Regular file or symlink: the shmem object (id) holding its pages. */
    shmem: 1,
    /** Pipe: the buffer frame, and the free-running byte counts written (head) and read (tail). */
    pipeFrame: 1,
    pipeHead: 1,
    pipeTail: 1,
    /** Pipe: open read ends and write ends. */
    readers: 1,
    writers: 1,
    /** Bumped on every change a sleeper may wait for (pipe data, space, an end closing). */
    seq: 1,
    /** Last access, modification, status change: seconds (low, high) and nanoseconds each. */
    atime: 3,
    mtime: 3,
    ctime: 3,
    /** The directory entry: the parent directory (slot + 1; the root is its own) and the name. */
    parent: 1,
    nameLen: 1,
    name: (NAME_MAX + 1) / 4,
  },
  16,
);

export const enum FileKind {
  Free = 0,
  /** The machine console: fd 0 (reads end-of-file), 1 and 2. */
  Console = 1,
  Regular = 2,
  PipeRead = 3,
  PipeWrite = 4,
  /** A directory opened for getdents64 (or as a *at call's dirfd, or fchdir). */
  Directory = 5,
}

/** struct file: an open file description, shared by the descriptors that name it. */
export const FILE = defineStruct('file', {
  /** References: descriptors naming it and calls in progress on it. 0 = free slot. */
  refs: 1,
  /** FileKind. */
  kind: 1,
  /** INODE index (Regular, pipes). */
  inode: 1,
  /** open flags: the access mode, O_APPEND, O_NONBLOCK. */
  flags: 1,
  /** File position (f_pos), 64 bits: low word, high word. A directory's is getdents' cursor. */
  pos: 1,
  posHi: 1,
  /** Console: the stream it writes (1 stdout, 2 stderr; 0 stdin). */
  stream: 1,
  pad: 1,
});

/**
 * files_struct: a descriptor table, shared by threads (CLONE_FILES), copied by fork. It also
 * carries what Linux keeps in fs_struct (the working directory, the umask) and in
 * signal_struct (the resource limits): pvemu's clone shares or copies all three together, which
 * is what every clone musl makes does (threads pass CLONE_FS | CLONE_FILES | CLONE_THREAD,
 * fork none of them), so one slot serves for each process.
 */
export const FDTABLE = defineStruct('files_struct', {
  /** Tasks using the table. 0 = free slot. */
  refs: 1,
  lock: 1,
  /** Descriptor n: FILE index + 1, or 0. */
  fd: NR_OPEN,
  /** fs_struct's pwd: the working directory's INODE slot + 1 (holding a reference); 0 = the root. */
  cwd: 1,
  /** fs_struct's umask. */
  umask: 1,
  /** rlim[RLIM_NLIMITS]: rlim_cur then rlim_max, each 64 bits (low, high). */
  rlim: RLIM_NLIMITS * 4,
});

export const FUTEX_BUCKET = defineStruct('futex_hash_bucket', {
  lock: 1,
  /** Chain of waiting tasks: slot + 1. */
  head: 1,
});

/** Word-addressed positions of everything above, for one RAM size. */
export class KernelLayout {
  readonly kglobals: number;
  readonly percpu: number;
  readonly csd: number;
  readonly tasks: number;
  readonly mms: number;
  /** Words per mm slot: the mm_struct then its VMA array. */
  readonly mmStride: number;
  readonly shmem: number;
  readonly futex: number;
  readonly inodes: number;
  readonly files: number;
  readonly fdtables: number;
  /** One bit per vmalloc-area page: allocated (1) or free (0). */
  readonly vmallocBitmap: number;
  readonly freeStack: number;
  readonly pageRefs: number;
  /**
   * Per frame, how many times it was freed: a decoded-code cache (src/riscv/decode-cache.ts)
   * that saw one value knows the frame has held nothing else since.
   */
  readonly frameGens: number;
  /** Physical address of swapper_pg_dir. */
  readonly swapperPgDir: number;
  /** First frame of the vmalloc page tables. */
  readonly vmallocPtFrame: number;
  readonly vmallocPtFrames: number;
  /** First allocatable frame. */
  readonly firstFreeFrame: number;
  readonly totalFrames: number;

  constructor(readonly ramBytes: number) {
    this.totalFrames = ramBytes >>> PAGE_SHIFT;
    let w = PAGE_SIZE / 4; // frame 0 stays unused
    const take = (words: number): number => {
      const at = w;
      w += words;
      return at;
    };
    this.kglobals = take(KGLOBALS.WORDS);
    this.percpu = take(PERCPU.WORDS * MAX_CPUS);
    this.csd = take(CSD.WORDS * MAX_CPUS * MAX_CPUS);
    this.tasks = take(TASK.WORDS * MAX_TASKS);
    this.mmStride = MM.WORDS + VMA.WORDS * MAX_VMAS;
    this.mms = take(this.mmStride * MAX_MMS);
    this.shmem = take(SHMEM.WORDS * MAX_SHMEM);
    this.futex = take(FUTEX_BUCKET.WORDS * FUTEX_BUCKETS);
    this.inodes = take(INODE.WORDS * MAX_INODES);
    this.files = take(FILE.WORDS * MAX_FILES);
    this.fdtables = take(FDTABLE.WORDS * MAX_FDTABLES);
    this.vmallocBitmap = take((VMALLOC_END - VMALLOC_START) / PAGE_SIZE / 32);
    this.freeStack = take(this.totalFrames);
    this.pageRefs = take(this.totalFrames);
    this.frameGens = take(this.totalFrames);
    const wordsPerFrame = PAGE_SIZE / 4;
    w = Math.ceil(w / wordsPerFrame) * wordsPerFrame;
    this.swapperPgDir = take(wordsPerFrame) * 4;
    this.vmallocPtFrames = (VMALLOC_END - VMALLOC_START) / LARGE_PAGE_SIZE;
    this.vmallocPtFrame = (w * 4) >>> PAGE_SHIFT;
    take(wordsPerFrame * this.vmallocPtFrames);
    this.firstFreeFrame = (w * 4) >>> PAGE_SHIFT;
  }

  percpuBase(cpu: number): number {
    return this.percpu + cpu * PERCPU.WORDS;
  }

  csdIndex(src: number, dst: number): number {
    return src * MAX_CPUS + dst;
  }

  csdBase(index: number): number {
    return this.csd + index * CSD.WORDS;
  }

  taskBase(slot: number): number {
    return this.tasks + slot * TASK.WORDS;
  }

  /** Address of mm slot `slot` as an MmRef (its physical byte address). */
  mmAddr(slot: number): number {
    return (this.mms + slot * this.mmStride) * 4;
  }

  /** Word base of an mm from its MmRef. */
  mmBase(mm: number): number {
    return mm >>> 2;
  }

  mmSlot(mm: number): number {
    return ((mm >>> 2) - this.mms) / this.mmStride;
  }

  /** Word base of VMA `i` of the mm at word base `mmBase`. */
  vmaBase(mmBase: number, i: number): number {
    return mmBase + MM.WORDS + i * VMA.WORDS;
  }

  shmemBase(index: number): number {
    return this.shmem + index * SHMEM.WORDS;
  }

  futexBucketBase(i: number): number {
    return this.futex + i * FUTEX_BUCKET.WORDS;
  }

  inodeBase(index: number): number {
    return this.inodes + index * INODE.WORDS;
  }

  fileBase(index: number): number {
    return this.files + index * FILE.WORDS;
  }

  fdtableBase(index: number): number {
    return this.fdtables + index * FDTABLE.WORDS;
  }
}
