/*
 * Process entry and the clone trampoline, riscv32 (ilp32).
 *
 * At _start the kernel has left sp pointing at argc, with argv[], NULL, envp[], NULL and the
 * auxiliary vector above it (the Linux ELF ABI; sp is 16-byte aligned). a0 is not an
 * argument here (it may carry an rtld_fini pointer from a dynamic loader; a static program
 * ignores it).
 */
	.file "crt0.S"		/* else the symbol table names a random temporary object */

	.section .text.start, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	mv a0, sp
	andi sp, sp, -16
	call __rt_start
	unimp
	.size _start, . - _start

/*
 * long rt_clone(flags, stack, ptid, tls, ctid, fn, arg)
 *               a0     a1     a2    a3   a4    a5  a6
 *
 * clone(2) on riscv takes (flags, newsp, parent_tidptr, tls, child_tidptr): the
 * CLONE_BACKWARDS order, tls before the child tid pointer. The child starts on `stack` with
 * every register the parent had except a0 = 0 and sp = newsp, so fn and arg travel on the new
 * stack, as musl's __clone does. The child never returns from here: fn's return value is its
 * exit(2) status (exit, not exit_group: only this thread ends).
 */
	.text
	.globl rt_clone
	.type rt_clone, @function
rt_clone:
	andi a1, a1, -16
	addi a1, a1, -16
	sw a5, 0(a1)
	sw a6, 4(a1)
	li a7, 220		/* SYS_clone */
	ecall
	beqz a0, 1f
	ret			/* parent: the child's tid, or -errno */
1:
	lw a1, 0(sp)
	lw a0, 4(sp)
	jalr a1
	li a7, 93		/* SYS_exit */
	ecall
	unimp
	.size rt_clone, . - rt_clone

	.section .note.GNU-stack, "", @progbits
