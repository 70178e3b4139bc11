/* printf to stdout, fprintf to stderr, exit status 3. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	printf("hello from musl on riscv32\n");
	printf("argc=%d argv[0] ends with hello: %s\n", argc,
	       argv[0] && argv[0][0] ? "yes" : "no");
	fprintf(stderr, "this line goes to stderr\n");
	printf("int %d, unsigned %u, long long %lld, hex %#x, string '%s', char %c\n",
	       -42, 4000000000u, -1234567890123LL, 0xbeef, "str", 'z');
	fflush(stdout);
	exit(3);
}
