/**
 * The exception-table fixup of copy_to_user / copy_from_user: a user access inside `access`
 * that faults beyond repair (GuestSegfault) makes the system call return -EFAULT instead of
 * killing the task. Runs on the calling task's vCPU.
 */
import { GuestSegfault } from '../errors.js';
import { EFAULT } from './errno.js';

/** `access()`'s result, or -EFAULT if one of its user accesses faulted. */
export function uaccess(access: () => number): number {
  try {
    return access();
  } catch (e) {
    if (e instanceof GuestSegfault) return -EFAULT;
    throw e;
  }
}
