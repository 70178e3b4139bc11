/* 64-bit file offsets: a sparse file past 4 GiB exercises the 64-bit
 * system call arguments split into register pairs (llseek, pread64,
 * pwrite64, ftruncate64, fallocate, fadvise64_64, sync_file_range). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

int main(void)
{
	char path[] = "/tmp/musl-large-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) { perror("mkstemp"); return 1; }
	unlink(path);
	const off_t big = 0x100000000LL + 0x1234; /* 4 GiB + 0x1234 */
	printf("sizeof(off_t) %zu\n", sizeof(off_t));
	printf("lseek to 4GiB+0x1234: %s\n", lseek(fd, big, SEEK_SET) == big ? "ok" : "BAD");
	printf("write: %zd\n", write(fd, "far", 3));
	struct stat st;
	fstat(fd, &st);
	printf("size %#llx\n", (unsigned long long)st.st_size);
	char b[4] = { 0 };
	printf("pread at 4GiB+0x1234: %zd '%s'\n", pread(fd, b, 3, big), b);
	printf("pwrite at 5GiB: %zd\n", pwrite(fd, "five", 4, 0x140000000LL));
	memset(b, 0, sizeof b);
	pread(fd, b, 3, 0x140000001LL);
	printf("pread at 5GiB+1: '%s'\n", b);
	printf("lseek SEEK_END: %#llx\n", (unsigned long long)lseek(fd, 0, SEEK_END));
	printf("ftruncate to 6GiB+1: %d\n", ftruncate(fd, 0x180000001LL));
	fstat(fd, &st);
	printf("size %#llx\n", (unsigned long long)st.st_size);
	printf("posix_fadvise: %d\n", posix_fadvise(fd, 0x100000000LL, 0x1000, POSIX_FADV_WILLNEED));
	printf("sync_file_range: %d\n", sync_file_range(fd, 0x100000000LL, 4096, SYNC_FILE_RANGE_WRITE));
	printf("ftruncate to 1: %d\n", ftruncate(fd, 1));
	printf("lseek SEEK_END: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	close(fd);
	return 0;
}
