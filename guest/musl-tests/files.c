/* stdio and fd file I/O on /tmp: fopen/fwrite/fread/fseek/ftell, fstat,
 * stat, lstat, rename, unlink, open/lseek/pread/pwrite, ftruncate, dirs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <dirent.h>
#include <sys/stat.h>

int main(void)
{
	char dir[] = "/tmp/musl-files-XXXXXX";
	if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
	char path[128], path2[128];
	snprintf(path, sizeof path, "%s/data.bin", dir);
	snprintf(path2, sizeof path2, "%s/renamed.bin", dir);

	FILE *f = fopen(path, "w+");
	if (!f) { perror("fopen"); return 1; }
	unsigned char block[1000];
	for (int i = 0; i < 1000; i++) block[i] = (unsigned char)(i * 7);
	size_t total = 0;
	for (int i = 0; i < 10; i++) total += fwrite(block, 1, sizeof block, f);
	fprintf(f, "tail line %d\n", 99);
	printf("fwrite wrote %zu bytes, ftell %ld\n", total, ftell(f));
	fseek(f, 2500, SEEK_SET);
	unsigned char back[10];
	size_t n = fread(back, 1, 10, f);
	printf("fread after fseek(2500): %zu bytes, match %s\n", n, memcmp(back, block + 500, 10) == 0 ? "yes" : "no");
	fseek(f, -13, SEEK_END);
	char line[32];
	fgets(line, sizeof line, f);
	printf("fgets at SEEK_END-13: %s", line);
	rewind(f);
	printf("after rewind ftell %ld\n", ftell(f));

	struct stat st;
	fflush(f);
	fstat(fileno(f), &st);
	printf("fstat: size %lld, regular %s, mode %o\n", (long long)st.st_size, S_ISREG(st.st_mode) ? "yes" : "no",
	       st.st_mode & 0777 & ~0022);
	printf("fstat nlink %lu, blksize > 0 %s, mtime set %s\n", (unsigned long)st.st_nlink,
	       st.st_blksize > 0 ? "yes" : "no", st.st_mtim.tv_sec > 1577836800 ? "yes" : "no");
	fclose(f);

	struct stat st2;
	stat(path, &st2);
	printf("stat matches fstat: %s\n", st2.st_ino == st.st_ino && st2.st_size == st.st_size ? "yes" : "no");

	int fd = open(path, O_RDWR);
	printf("lseek SEEK_END: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	pwrite(fd, "PWRITE", 6, 100);
	char pb[7] = { 0 };
	pread(fd, pb, 6, 100);
	printf("pread after pwrite: %s, offset unchanged %lld\n", pb, (long long)lseek(fd, 0, SEEK_CUR));
	ftruncate(fd, 123);
	fstat(fd, &st);
	printf("ftruncate(123): size %lld\n", (long long)st.st_size);
	int fl = fcntl(fd, F_GETFL);
	printf("fcntl F_GETFL O_RDWR: %s\n", (fl & O_ACCMODE) == O_RDWR ? "yes" : "no");
	int fd2 = dup(fd);
	printf("dup shares offset: %s\n", lseek(fd2, 10, SEEK_SET) == 10 && lseek(fd, 0, SEEK_CUR) == 10 ? "yes" : "no");
	close(fd2);
	close(fd);

	if (symlink(path, path2) == 0) {
		struct stat ls;
		lstat(path2, &ls);
		printf("lstat on symlink: link %s\n", S_ISLNK(ls.st_mode) ? "yes" : "no");
		char target[128] = { 0 };
		readlink(path2, target, sizeof target - 1);
		printf("readlink matches: %s\n", strcmp(target, path) == 0 ? "yes" : "no");
		unlink(path2);
	}

	printf("rename: %d\n", rename(path, path2));
	errno = 0;
	printf("stat old name: %d ENOENT %s\n", stat(path, &st), errno == ENOENT ? "yes" : "no");

	char sub[160];
	snprintf(sub, sizeof sub, "%s/subdir", dir);
	mkdir(sub, 0755);
	DIR *d = opendir(dir);
	int entries = 0, saw_sub = 0, saw_file = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		entries++;
		if (!strcmp(e->d_name, "subdir")) saw_sub = 1;
		if (!strcmp(e->d_name, "renamed.bin")) saw_file = 1;
	}
	closedir(d);
	printf("readdir: %d entries, subdir %s, file %s\n", entries, saw_sub ? "yes" : "no", saw_file ? "yes" : "no");

	printf("access(R_OK): %d\n", access(path2, R_OK));
	printf("unlink: %d, rmdir: %d\n", unlink(path2), rmdir(sub));
	errno = 0;
	printf("fopen after unlink: %s ENOENT %s\n", fopen(path2, "r") ? "opened" : "NULL", errno == ENOENT ? "yes" : "no");
	printf("rmdir tmp dir: %d\n", rmdir(dir));
	return 0;
}
