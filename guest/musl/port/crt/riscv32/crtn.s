.section .init
	lw ra, 12(sp)
	addi sp, sp, 16
	ret

.section .fini
	lw ra, 12(sp)
	addi sp, sp, 16
	ret
