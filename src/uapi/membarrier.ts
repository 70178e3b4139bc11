/**
 * membarrier commands (include/uapi/linux/membarrier.h). Any thread.
 */

// membarrier commands (include/uapi/linux/membarrier.h).
export const MEMBARRIER_CMD_QUERY = 0;
export const MEMBARRIER_CMD_PRIVATE_EXPEDITED = 1 << 3;
export const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4;
