/**
 * wait4 options (include/uapi/linux/wait.h). Any thread.
 */

/** wait4 option: return 0 at once when no child has exited. */
export const WNOHANG = 1;
