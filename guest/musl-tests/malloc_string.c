/* malloc/calloc/realloc/free across small and mmap-sized blocks, and the
 * string and memory functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>
#include <ctype.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	/* many small blocks of varying sizes, freed in a different order */
	enum { N = 2000 };
	static unsigned char *p[N];
	unsigned long sum = 0;
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (i * 37) % 700;
		p[i] = malloc(n);
		if (!p[i]) { printf("malloc failed at %d\n", i); return 1; }
		memset(p[i], i & 0xff, n);
		if (((uintptr_t)p[i] & 7) != 0) { printf("misaligned block\n"); return 1; }
	}
	for (int i = 0; i < N; i += 2) free(p[i]);
	for (int i = 1; i < N; i += 2) {
		size_t n = 1 + (i * 37) % 700;
		for (size_t j = 0; j < n; j++) sum += p[i][j];
		free(p[i]);
	}
	printf("small blocks checksum %lu\n", sum);

	/* large (mmap) block, realloc growth and shrink */
	size_t big = 3 << 20;
	unsigned char *b = malloc(big);
	memset(b, 0x5a, big);
	b = realloc(b, big * 2);
	int ok = 1;
	for (size_t i = 0; i < big; i += 4096) ok &= b[i] == 0x5a;
	b = realloc(b, 100);
	ok &= b[99] == 0x5a;
	free(b);
	printf("large block and realloc: %s\n", ok ? "ok" : "BAD");

	int *z = calloc(1000, sizeof *z);
	int zero = 1;
	for (int i = 0; i < 1000; i++) zero &= z[i] == 0;
	free(z);
	printf("calloc zeroed: %s\n", zero ? "yes" : "no");

	char buf[64];
	strcpy(buf, "Hello");
	strcat(buf, ", riscv32");
	printf("strcpy/strcat: '%s' len %zu\n", buf, strlen(buf));
	printf("strcmp: %d %d %d\n", strcmp("abc", "abd") < 0, strcmp("b", "a") > 0, strcmp("x", "x"));
	printf("strncmp/strcasecmp: %d %d\n", strncmp("abcdef", "abcxyz", 3), strcasecmp("MiXeD", "mixed"));
	printf("strchr/strrchr: %s %s\n", strchr("a/b/c", '/'), strrchr("a/b/c", '/'));
	printf("strstr: %s\n", strstr("the quick brown fox", "brown"));
	char m[32] = "0123456789abcdef";
	memmove(m + 2, m, 10);
	printf("memmove overlap: %s\n", m);
	memcpy(m, "XYZ", 3);
	printf("memcpy: %.16s memcmp %d\n", m, memcmp("aaa", "aab", 3) < 0);
	char *d = strdup("duplicate me");
	printf("strdup: %s\n", d);
	free(d);
	char tok[] = "one,two,,three";
	char *save, *t;
	printf("strtok_r:");
	for (t = strtok_r(tok, ",", &save); t; t = strtok_r(0, ",", &save)) printf(" [%s]", t);
	printf("\n");
	char sn[8];
	int w = snprintf(sn, sizeof sn, "%s", "truncated string");
	printf("snprintf: '%s' wanted %d\n", sn, w);
	int arr[10] = { 5, 3, 9, 1, 7, 0, 8, 2, 6, 4 };
	qsort(arr, 10, sizeof arr[0], cmp_int);
	printf("qsort:");
	for (int i = 0; i < 10; i++) printf(" %d", arr[i]);
	printf("\n");
	printf("strtol: %ld %ld %lu\n", strtol("-12345", 0, 10), strtol("0x7f", 0, 16), strtoul("4294967295", 0, 10));
	printf("strtoll: %lld atoi: %d toupper: %c\n", strtoll("-9223372036854775807", 0, 10), atoi("77"), toupper('q'));
	return 0;
}
