/* s0-s11, sp, ra (14 words), then fs0-fs11 as 8-byte slots at offset 56,
 * saved only when the libc is built with an FPU (__riscv_flen). */
typedef unsigned long long __jmp_buf[19];
