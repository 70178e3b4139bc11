/* MAP_PRIVATE file mappings: a page read maps the file's own page (read-only) and only a
 * write copies it, so storing into, MADV_DONTNEED-ing and reading back every page of a
 * 40 MiB private mapping needs the file's memory once, not twice (the test machine has
 * 64 MiB); after MADV_DONTNEED a page reads the file again; a store to the private mapping
 * never reaches the file; a change to the file shows through a page not yet written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES (40 * 256)

int main(void)
{
	char path[] = "/tmp/private-map-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)PAGES * PAGE)) { perror("file"); return 1; }
	unsigned *shared = mmap(0, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED) { perror("mmap shared"); return 1; }
	for (unsigned p = 0; p < PAGES; p++) shared[p * (PAGE / 4)] = p * 7 + 1;

	unsigned *priv = mmap(0, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (priv == MAP_FAILED) { perror("mmap private"); return 1; }
	unsigned bad_first = 0, bad_reload = 0;
	for (unsigned p = 0; p < PAGES; p++) {
		unsigned *w = &priv[p * (PAGE / 4)];
		bad_first += *w != p * 7 + 1;
		*w = 0xdeadbeef;
		if (madvise(w, PAGE, MADV_DONTNEED)) { perror("madvise"); return 1; }
		bad_reload += *w != p * 7 + 1;
	}
	printf("every page read the file first: %s\n", bad_first == 0 ? "yes" : "no");
	printf("after a store and MADV_DONTNEED every page reads the file again: %s\n", bad_reload == 0 ? "yes" : "no");

	priv[5] = 42;
	printf("a store to the private mapping reaches the file: %s\n", shared[5] == 42 ? "yes" : "no");
	shared[PAGE / 4 * 3] = 99;
	printf("a change to the file shows through a page not yet written: %s\n", priv[PAGE / 4 * 3] == 99 ? "yes" : "no");
	unlink(path);
	return 0;
}
