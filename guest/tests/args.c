/*
 * The initial process stack as the ELF loader builds it (Linux riscv32 ABI): argc, argv[],
 * NULL, envp[], NULL, then the auxiliary vector; sp 16-byte aligned at _start. Prints argv
 * (argv[0] by its last path component, since callers name the file differently) and envp, and
 * checks the auxiliary vector against the program's own headers. Run as
 * `args.elf one two` with the environment `GREETING=hello LANG=C` only (expected/cases.tsv).
 */
#include "rt.h"

/* The ELF header, mapped at the start of the text segment (GNU ld defines the symbol). */
extern const unsigned char __ehdr_start[];
extern void _start(void);
extern uint32_t *rt_initial_sp;

static const char *basename(const char *s)
{
	const char *b = s;
	for (; *s; s++) {
		if (*s == '/')
			b = s + 1;
	}
	return b;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t rd16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

int main(int argc, char **argv, char **envp)
{
	rt_printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		rt_printf("argv[%d]=%s\n", i, i == 0 ? basename(argv[i]) : argv[i]);
	RT_CHECK(argv[argc] == 0, "argv[argc] is %p, not NULL", argv[argc]);
	/*
	 * The environment in sorted order: its order is whatever the runner's environment had
	 * (env(1) may reverse it), which is not the loader's business.
	 */
	int envc = 0;
	while (envp[envc])
		envc++;
	rt_printf("envc=%d\n", envc);
	static const char *sorted[64];
	int shown = envc < 64 ? envc : 64;
	for (int i = 0; i < shown; i++) {
		int j = i;
		for (; j > 0 && strcmp(sorted[j - 1], envp[i]) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = envp[i];
	}
	for (int i = 0; i < shown; i++)
		rt_printf("env: %s\n", sorted[i]);

	uint32_t *sp = rt_initial_sp;
	RT_CHECK(((uintptr_t)sp & 15) == 0, "sp %p at _start is not 16-byte aligned", sp);
	RT_CHECK(sp[0] == (uint32_t)argc, "argc word %u", (unsigned)sp[0]);
	RT_CHECK((char **)(sp + 1) == argv, "argv at %p, expected sp+4 = %p", argv, sp + 1);
	RT_CHECK(envp == argv + argc + 1, "envp at %p, expected %p", envp, argv + argc + 1);
	RT_CHECK(rt_auxv == (const uint32_t *)(envp + envc + 1), "auxv at %p", rt_auxv);

	int found;
	uint32_t v = rt_getauxval(AT_PAGESZ, &found);
	RT_CHECK(found && v == 4096, "AT_PAGESZ %u (found %d)", (unsigned)v, found);
	v = rt_getauxval(AT_ENTRY, &found);
	RT_CHECK(found && v == (uintptr_t)_start, "AT_ENTRY 0x%x, _start is %p", (unsigned)v, _start);

	uint32_t phoff = rd32(__ehdr_start + 28);
	uint32_t phentsize = rd16(__ehdr_start + 42);
	uint32_t phnum = rd16(__ehdr_start + 44);
	v = rt_getauxval(AT_PHDR, &found);
	RT_CHECK(found && v == (uintptr_t)__ehdr_start + phoff, "AT_PHDR 0x%x, expected 0x%x",
		 (unsigned)v, (unsigned)((uintptr_t)__ehdr_start + phoff));
	v = rt_getauxval(AT_PHENT, &found);
	RT_CHECK(found && v == phentsize && v == 32, "AT_PHENT %u, e_phentsize %u", (unsigned)v,
		 (unsigned)phentsize);
	v = rt_getauxval(AT_PHNUM, &found);
	RT_CHECK(found && v == phnum, "AT_PHNUM %u, e_phnum %u", (unsigned)v, (unsigned)phnum);

	/* AT_HWCAP: one bit per single-letter extension ('a' is bit 0); I, M and A must be there. */
	v = rt_getauxval(AT_HWCAP, &found);
	uint32_t ima = 1u << ('i' - 'a') | 1u << ('m' - 'a') | 1u << ('a' - 'a');
	RT_CHECK(found && (v & ima) == ima, "AT_HWCAP 0x%x lacks I, M or A", (unsigned)v);

	/* AT_RANDOM: 16 bytes on the stack, above the pointer arrays. */
	v = rt_getauxval(AT_RANDOM, &found);
	RT_CHECK(found && v > (uintptr_t)rt_auxv, "AT_RANDOM 0x%x not above auxv %p", (unsigned)v,
		 rt_auxv);
	if (found && v) {
		const volatile unsigned char *r = (const unsigned char *)v;
		unsigned sum = 0;
		for (int i = 0; i < 16; i++)
			sum |= r[i];
		RT_CHECK(sum != 0, "AT_RANDOM's 16 bytes are all zero");
	}

	/* Argument and environment strings sit above the auxiliary vector too. */
	for (int i = 0; i < argc; i++)
		RT_CHECK((uintptr_t)argv[i] > (uintptr_t)rt_auxv, "argv[%d] at %p below auxv", i, argv[i]);
	for (int i = 0; i < envc; i++)
		RT_CHECK((uintptr_t)envp[i] > (uintptr_t)rt_auxv, "envp[%d] at %p below auxv", i, envp[i]);
	return rt_report("args");
}
