#ifndef __riscv_flen
#include "../fenv.c"
#endif
