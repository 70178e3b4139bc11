/**
 * The exception-table fixup of copy_to_user / copy_from_user: a user access inside `access`
 * that faults beyond repair (GuestSegfault) makes the system call return -EFAULT instead of
 * killing the task. Runs on the calling task's vCPU.
 */
import { GuestSegfault } from '../lib/errors.js';
import { EFAULT } from '../uapi/errno.js';

/** `access()`'s result, or -EFAULT if one of its user accesses faulted. */
export function uaccess(access: () => number): number {
  try {
    return access();
  } catch (e) {
    if (e instanceof GuestSegfault) return -EFAULT;
    throw e;
  }
}

/** Minimal user-memory interface the copies need (UserAccess satisfies it). */
interface ByteAccess {
  load8(va: number): number;
  store8(va: number, value: number): void;
}

/** copy_from_user: `len` bytes at user address `va`, or -EFAULT. */
export function copyFromUser(user: ByteAccess, va: number, len: number): Uint8Array | number {
  const bytes = new Uint8Array(len);
  const r = uaccess(() => {
    for (let i = 0; i < len; i++) bytes[i] = user.load8(va + i);
    return 0;
  });
  return r < 0 ? r : bytes;
}

/** copy_to_user: `bytes` to user address `va`; 0 or -EFAULT. */
export function copyToUser(user: ByteAccess, va: number, bytes: Uint8Array): number {
  return uaccess(() => {
    for (let i = 0; i < bytes.length; i++) user.store8(va + i, bytes[i]!);
    return 0;
  });
}
