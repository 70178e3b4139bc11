/**
 * The directory tree (the dentry side of Linux's fs/dcache.c and fs/libfs.c's simple_* helpers):
 * each inode of the in-memory file system carries its one directory entry — its parent
 * directory and its name — since the file system has no hard links. A directory's entries are
 * the live inodes naming it as their parent; looking a name up scans the inode table, which is
 * small (MAX_INODES). Names are byte strings held in JavaScript strings one char per byte
 * (latin1), so any byte but '/' and NUL may be in a name, as on Linux.
 *
 * Everything here runs under KGLOBALS.fsLock, on the vCPU worker of the calling task.
 */
import type { KernelContext } from '../context.js';
import { INODE, InodeType, MAX_INODES, NAME_MAX } from '../layout.js';

/** The root directory's slot: the first inode bootInit makes, its own parent. */
export const ROOT_INO = 0;

export class Dcache {
  constructor(private readonly k: KernelContext) {}

  type(ino: number): InodeType {
    return this.k.i32[this.k.layout.inodeBase(ino) + INODE.type]!;
  }

  isDir(ino: number): boolean {
    return this.type(ino) === InodeType.Directory;
  }

  nlink(ino: number): number {
    return this.k.i32[this.k.layout.inodeBase(ino) + INODE.nlink]!;
  }

  /** Adjust a directory's link count (a subdirectory's ".." came or went). */
  addLinks(ino: number, delta: number): void {
    this.k.i32[this.k.layout.inodeBase(ino) + INODE.nlink]! += delta;
  }

  /** The directory `dir`'s parent (the root's is the root): what ".." names; -1 once removed. */
  parent(dir: number): number {
    return this.k.i32[this.k.layout.inodeBase(dir) + INODE.parent]! - 1;
  }

  /** The name of `ino`'s entry, as a byte string. */
  name(ino: number): string {
    const ib = this.k.layout.inodeBase(ino);
    const len = this.k.i32[ib + INODE.nameLen]!;
    const at = (ib + INODE.name) * 4;
    return String.fromCharCode(...this.k.ram.bytes.subarray(at, at + len));
  }

  /** d_lookup: the live inode named `name` in `dir`, or -1. A removed directory has no entries. */
  lookup(dir: number, name: string): number {
    const { i32, layout } = this.k;
    if (this.nlink(dir) === 0) return -1;
    for (let s = 0; s < MAX_INODES; s++) {
      const ib = layout.inodeBase(s);
      if (i32[ib + INODE.parent] !== dir + 1 || i32[ib + INODE.nlink] === 0 || s === dir) continue;
      if (i32[ib + INODE.type] === InodeType.Free || i32[ib + INODE.nameLen] !== name.length) continue;
      if (this.name(s) === name) return s;
    }
    return -1;
  }

  /** d_add: give `ino` the entry `name` in `dir` (the name is at most NAME_MAX bytes). */
  link(ino: number, dir: number, name: string): void {
    const { i32, layout, ram } = this.k;
    const ib = layout.inodeBase(ino);
    i32[ib + INODE.parent] = dir + 1;
    i32[ib + INODE.nameLen] = Math.min(name.length, NAME_MAX);
    const at = (ib + INODE.name) * 4;
    for (let i = 0; i < name.length && i < NAME_MAX; i++) ram.bytes[at + i] = name.charCodeAt(i);
  }

  /** d_delete: `ino` loses its entry (unlink, rmdir, or replaced by a rename). */
  unlink(ino: number): void {
    const ib = this.k.layout.inodeBase(ino);
    this.k.i32[ib + INODE.parent] = 0;
    this.k.i32[ib + INODE.nameLen] = 0;
    this.k.i32[ib + INODE.nlink] = 0;
  }

  /**
   * The entries of `dir` from slot `from` on, in slot order: [slot, name, type] triples as
   * getdents64 lists them, at most `max` of them.
   */
  children(dir: number, from: number, max: number): { ino: number; name: string; type: InodeType }[] {
    const { i32, layout } = this.k;
    const out: { ino: number; name: string; type: InodeType }[] = [];
    if (this.nlink(dir) === 0) return out;
    for (let s = Math.max(0, from); s < MAX_INODES && out.length < max; s++) {
      const ib = layout.inodeBase(s);
      if (i32[ib + INODE.parent] !== dir + 1 || i32[ib + INODE.nlink] === 0 || s === dir) continue;
      if (i32[ib + INODE.type] === InodeType.Free) continue;
      out.push({ ino: s, name: this.name(s), type: i32[ib + INODE.type]! });
    }
    return out;
  }

  /** simple_empty: the directory has no entries. */
  isEmpty(dir: number): boolean {
    return this.children(dir, 0, 1).length === 0;
  }

  /** Whether `ancestor` is `ino` or one of the directories above it (rename's loop check). */
  isAncestor(ancestor: number, ino: number): boolean {
    for (let d = ino, hops = 0; hops <= MAX_INODES; hops++) {
      if (d === ancestor) return true;
      if (d === ROOT_INO || d < 0) return false;
      d = this.parent(d);
    }
    return false;
  }
}
