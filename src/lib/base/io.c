#include "base/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/io.h"

ssize_t io_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t io_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int io_write_full(int fd, const void *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

int io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int io_open_input(const char *path, uint64_t *size_ret, struct ek_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return ek_fail_errno(err, EK_EIO, e, "'%s'", path);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return ek_fail(err, EK_EIO, "'%s': is a directory", path);
	}
	if (size_ret)
		*size_ret = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
	return fd;
}

int io_read_small_file(const char *path, size_t max, uint8_t **buf_ret,
		       size_t *len_ret, struct ek_error *err)
{
	uint8_t *buf;
	ssize_t n;
	int fd = io_open_input(path, NULL, err);

	if (fd < 0)
		return fd;
	buf = malloc(max + 2);
	if (!buf) {
		close(fd);
		return ek_fail(err, EK_ENOMEM, "'%s': out of memory", path);
	}
	n = io_read_full(fd, buf, max + 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		free(buf);
		return ek_fail_errno(err, EK_EIO, e, "'%s'", path);
	}
	close(fd);
	if ((size_t)n > max) {
		free(buf);
		return ek_fail(err, EK_ELIMIT, "'%s': larger than %zu bytes",
			       path, max);
	}
	buf[n] = '\0';
	*buf_ret = buf;
	*len_ret = (size_t)n;
	return 0;
}

/*
 * Temporary output files still to be removed if a signal ends the
 * process. A fixed table, so the handler only reads memory that is
 * already set up (unlink is async-signal-safe).
 */
#define MAX_PENDING 8
static char *volatile pending[MAX_PENDING];
static int handlers_installed;

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i])
			unlink(pending[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void pending_add(char *tmp)
{
	if (!handlers_installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		handlers_installed = 1;
	}
	for (int i = 0; i < MAX_PENDING; i++)
		if (!pending[i]) {
			pending[i] = tmp;
			return;
		}
}

static void pending_del(const char *tmp)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i] == tmp)
			pending[i] = NULL;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int check_dir(const char *dir, struct ek_error *err)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return ek_fail(err, EK_EIO,
				       "output folder '%s' does not exist", dir);
		return ek_fail_errno(err, EK_EIO, errno, "output folder '%s'",
				     dir);
	}
	if (!S_ISDIR(st.st_mode))
		return ek_fail(err, EK_EIO, "output folder '%s' is not a folder",
			       dir);
	return 0;
}

int io_outfile_open(struct io_outfile *out, const char *path,
		    struct ek_error *err)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *dir;
	mode_t mask;
	int ret;

	out->fd = -1;
	out->tmp = NULL;
	out->path = NULL;
	if (!*base)
		return ek_fail(err, EK_EINVAL, "'%s': not a file name", path);
	dir = dir_of(path);
	if (!dir)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	ret = check_dir(dir, err);
	if (ret == 0 && (asprintf(&out->tmp, "%s/.%s.XXXXXX", dir, base) < 0 ||
			 !(out->path = strdup(path)))) {
		out->tmp = NULL;
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
	}
	free(dir);
	if (ret)
		goto fail;
	out->fd = mkostemp(out->tmp, O_CLOEXEC);
	if (out->fd < 0) {
		ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
		goto fail;
	}
	pending_add(out->tmp);
	/* mkostemp makes 0600; give the file the mode open(2) would. */
	mask = umask(0);
	umask(mask);
	fchmod(out->fd, 0666 & ~mask);
	return 0;
fail:
	free(out->tmp);
	free(out->path);
	out->tmp = out->path = NULL;
	return ret;
}

int io_outfile_commit(struct io_outfile *out, struct ek_error *err)
{
	int fd = out->fd;

	out->fd = -1;
	if (close(fd) < 0) {
		int e = errno;

		io_outfile_abort(out);
		return ek_fail_errno(err, EK_EIO, e, "'%s'", out->path);
	}
	if (rename(out->tmp, out->path) < 0) {
		int e = errno;

		io_outfile_abort(out);
		return ek_fail_errno(err, EK_EIO, e, "'%s'", out->path);
	}
	pending_del(out->tmp);
	free(out->tmp);
	free(out->path);
	out->tmp = out->path = NULL;
	return 0;
}

void io_outfile_abort(struct io_outfile *out)
{
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	if (out->tmp) {
		unlink(out->tmp);
		pending_del(out->tmp);
	}
	free(out->tmp);
	free(out->path);
	out->tmp = out->path = NULL;
}
