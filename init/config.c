/* config.c: the files the user ramdisk puts beside rootfs/ (AWS-BUILD-
 * AND-INIT.md section 4): /cmd, one argv element per line; /env, one
 * KEY=VALUE per line; and eifkit's optional /workdir, one path line.
 * Only the final "\n" of a line is stripped; an empty line is an empty
 * element. Each file is read whole, up to CONFIG_MAX bytes, then removed
 * (its pages are memory the app can use). */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

struct file_buf {
	char *data;  /* NUL-terminated; NULL when the file does not exist */
	size_t len;
};

static void read_all(int fd, const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno(errno, "read %s", path);
		if (n == 0)
			die("read %s: the file shrank while it was read", path);
		got += (size_t)n;
	}
}

/* Read path whole; a missing file gives data == NULL. */
static struct file_buf slurp(const char *path)
{
	struct file_buf f = { NULL, 0 };
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return f;
	if (fd < 0)
		die_errno(errno, "open %s", path);
	if (fstat(fd, &st) < 0)
		die_errno(errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		die("%s is not a regular file", path);
	if ((unsigned long long)st.st_size > CONFIG_MAX)
		die("%s holds %lld bytes, more than init's cap of %u", path,
		    (long long)st.st_size, CONFIG_MAX);
	f.len = (size_t)st.st_size;
	f.data = malloc(f.len + 1);
	if (!f.data)
		die_errno(ENOMEM, "read %s", path);
	read_all(fd, path, f.data, f.len);
	f.data[f.len] = '\0';
	if (close(fd) < 0)
		die_errno(errno, "close %s", path);
	if (memchr(f.data, '\0', f.len))
		die("%s holds a NUL byte, which no argument or variable can", path);
	return f;
}

/* Split into a NULL-terminated array of lines, in place. */
static char **split_lines(struct file_buf *f, const char *path)
{
	size_t n = 0, i = 0;
	char **v, *p = f->data, *end = f->data + f->len, *nl;

	for (char *q = p; q < end; n++) {
		nl = memchr(q, '\n', (size_t)(end - q));
		q = nl ? nl + 1 : end;
	}
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		die_errno(ENOMEM, "read %s", path);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl)
			*nl = '\0';
		v[i++] = p;
		p = nl ? nl + 1 : end;
	}
	v[i] = NULL;
	return v;
}

static void remove_file(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		warn_errno(errno, "unlink %s", path);
}

static char *workdir_line(struct file_buf *f)
{
	if (f->len > 0 && f->data[f->len - 1] == '\n')
		f->data[--f->len] = '\0';
	if (f->len == 0)
		die("/workdir is empty: it should name a folder");
	if (memchr(f->data, '\n', f->len))
		die("/workdir holds more than one line");
	return f->data;
}

void config_load(struct config *c)
{
	static char *default_env[] = { "PATH=" DEFAULT_PATH, NULL };
	struct file_buf cmd = slurp("/cmd");
	struct file_buf env = slurp("/env");
	struct file_buf wd = slurp("/workdir");

	if (!cmd.data)
		die("/cmd is missing: the user ramdisk names no command to run");
	if (cmd.len == 0)
		die("/cmd is empty: the user ramdisk names no command to run");
	if (!env.data)
		die("/env is missing: the user ramdisk has no environment "
		    "(an empty /env gives PATH=" DEFAULT_PATH ")");
	c->argv = split_lines(&cmd, "/cmd");
	if (!c->argv[0][0])
		die("/cmd: the first line, the program to run, is empty");
	c->envp = env.len ? split_lines(&env, "/env") : default_env;
	c->workdir = wd.data ? workdir_line(&wd) : NULL;
	remove_file("/cmd");
	remove_file("/env");
	remove_file("/workdir");
}
