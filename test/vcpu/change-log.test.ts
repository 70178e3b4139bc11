/**
 * The coherence checker's change log (src/vcpu/change-log.ts), one thread: which change made an
 * entry stale, when it counts as stored, and which completed flush covers it. The verdict's
 * argument is docs/coherence.md.
 */
import { describe, expect, it } from 'vitest';
import { ChangeLog, FLUSH_LOG_ENTRIES, changeLogBytes } from '../../src/vcpu/change-log.js';
import { TLB_FLUSH_ALL } from '../../src/pv/ops.js';

const SLOT = 3;
const VA = 0x1000_4000;
const OTHER = 0x1000_9000;

function log(): ChangeLog {
  return new ChangeLog(new SharedArrayBuffer(changeLogBytes()), 1);
}

/** One change of VA's PTE outside lazy mode: announced, stored, committed. */
function change(l: ChangeLog, va = VA): void {
  l.announce(SLOT, va);
  l.changeStored();
}

describe('the change log', () => {
  it('finds the flush covering the first change after an entry\'s fill once it has completed, and names it', () => {
    const l = log();
    const fill = l.fillMark();
    change(l);
    const first = l.firstChangeAfter(SLOT, VA, fill);
    expect(first).toBeGreaterThan(fill);
    const token = l.flushBegin(SLOT, VA, VA + 0x1000);
    expect(l.coveringFlush(SLOT, VA, first)).toBeNull(); // begun, not done: still legal
    expect(l.maxDone(SLOT)).toBe(0);
    l.flushDone(SLOT, token);
    expect(l.maxDone(SLOT)).toBe(token);
    expect(l.coveringFlush(SLOT, VA, first)).toEqual({ seq: token, start: VA, end: VA + 0x1000, cpu: 1 });
  });

  it('does not count a flush of another range, or of another mm, as covering', () => {
    const l = log();
    const fill = l.fillMark();
    change(l);
    l.flushDone(SLOT, l.flushBegin(SLOT, OTHER, OTHER + 0x1000));
    l.flushDone(SLOT + 1, l.flushBegin(SLOT + 1, TLB_FLUSH_ALL, TLB_FLUSH_ALL));
    expect(l.coveringFlush(SLOT, VA, l.firstChangeAfter(SLOT, VA, fill))).toBeNull();
    l.flushDone(SLOT, l.flushBegin(SLOT, TLB_FLUSH_ALL, TLB_FLUSH_ALL));
    expect(l.coveringFlush(SLOT, VA, l.firstChangeAfter(SLOT, VA, fill))).toMatchObject({ start: TLB_FLUSH_ALL, end: TLB_FLUSH_ALL });
  });

  it('takes a change made before the fill as the entry\'s own: no change after it, no verdict', () => {
    const l = log();
    change(l);
    const fill = l.fillMark();
    expect(l.firstChangeAfter(SLOT, VA, fill)).toBe(-1);
    expect(l.firstChangeAfter(SLOT, OTHER, fill)).toBe(-1); // a page never changed
  });

  it('counts a change made in lazy MMU mode as stored only once the vCPU leaves it or begins a flush', () => {
    const l = log();
    const fill = l.fillMark();
    l.enterLazy();
    l.announce(SLOT, VA);
    l.changeStored(); // a batching backend may still hold the store back
    expect(l.firstChangeAfter(SLOT, VA, fill)).toBe(0);
    l.leaveLazy();
    expect(l.firstChangeAfter(SLOT, VA, fill)).toBeGreaterThan(0);
    l.enterLazy();
    l.announce(SLOT, OTHER);
    const token = l.flushBegin(SLOT, OTHER, OTHER + 0x1000); // the flush commits first
    l.flushDone(SLOT, token);
    expect(l.coveringFlush(SLOT, OTHER, l.firstChangeAfter(SLOT, OTHER, fill))).toMatchObject({ seq: token });
    l.leaveLazy();
  });

  it('does not let a flush that began before a change was stored cover it', () => {
    const sab = new SharedArrayBuffer(changeLogBytes());
    const l = new ChangeLog(sab, 1);
    const fill = l.fillMark();
    l.enterLazy();
    l.announce(SLOT, VA);
    const early = new ChangeLog(sab, 2);
    const token = early.flushBegin(SLOT, VA, VA + 0x1000); // another vCPU's flush, before our store
    early.flushDone(SLOT, token);
    l.leaveLazy();
    expect(l.coveringFlush(SLOT, VA, l.firstChangeAfter(SLOT, VA, fill))).toBeNull();
  });

  it('judges by the first change after the fill: a later change whose flush is pending does not hide it', () => {
    const l = log();
    const fill = l.fillMark();
    change(l); // made the entry stale...
    l.flushDone(SLOT, l.flushBegin(SLOT, VA, VA + 0x1000)); // ...and its flush completed
    change(l); // a newer change, its flush not begun
    expect(l.coveringFlush(SLOT, VA, l.firstChangeAfter(SLOT, VA, fill))).not.toBeNull();
  });

  it('remembers the last FLUSH_LOG_ENTRIES flushes of an mm: an older covering flush is forgotten', () => {
    const l = log();
    const fill = l.fillMark();
    change(l);
    l.flushDone(SLOT, l.flushBegin(SLOT, VA, VA + 0x1000));
    for (let i = 0; i < FLUSH_LOG_ENTRIES; i++) l.flushDone(SLOT, l.flushBegin(SLOT, OTHER, OTHER + 0x1000));
    expect(l.coveringFlush(SLOT, VA, l.firstChangeAfter(SLOT, VA, fill))).toBeNull();
  });
});
