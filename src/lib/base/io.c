#include "base/internal.h"

#include <fcntl.h>
#include <limits.h>
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

int io_open_input(const char *path, unsigned flags, uint64_t *size_ret,
		  struct ek_error *err)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return ek_fail_errno(err, EK_EIO, e, "'%s'", path);
	}
	if (S_ISREG(st.st_mode) ||
	    (S_ISFIFO(st.st_mode) && (flags & IO_INPUT_PIPE))) {
		/* back to blocking reads */
		if (fcntl(fd, F_SETFL, 0) < 0) {
			int e = errno;

			close(fd);
			return ek_fail_errno(err, EK_EIO, e, "'%s'", path);
		}
		if (size_ret)
			*size_ret = S_ISREG(st.st_mode) ? (uint64_t)st.st_size
							: UINT64_MAX;
		return fd;
	}
	close(fd);
	if (S_ISDIR(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': is a directory", path);
	if (S_ISFIFO(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': is a pipe; this input must "
			       "be a regular file", path);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': is a device; this input must "
			       "be a regular file", path);
	return ek_fail(err, EK_EIO, "'%s': not a regular file", path);
}

int io_tmpfile(const char *dir, struct ek_error *err)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		char *path;

		if (asprintf(&path, "%s/.eifkit-tmp-XXXXXX", dir) < 0)
			return ek_fail(err, EK_ENOMEM, "out of memory");
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	if (fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "temporary file in '%s'",
				     dir);
	return fd;
}

int io_read_small_file(const char *path, size_t max, uint8_t **buf_ret,
		       size_t *len_ret, struct ek_error *err)
{
	uint8_t *buf;
	ssize_t n;
	int fd = io_open_input(path, 0, NULL, err);

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
 * Outputs. The file is created unnamed (O_TMPFILE) in the target folder
 * and linked in only when complete, so no state of a failed or killed run
 * is ever visible. Where the filesystem has no O_TMPFILE, a named
 * temporary ".NAME.XXXXXX" stands in; those are listed here so that the
 * CLI's signal handlers can remove them (io_outfile_cleanup_all). The
 * table is fixed so that the handler only reads memory already set up;
 * a full table is an error, never a silently forgotten file.
 */
#define MAX_PENDING 16
static char *volatile pending[MAX_PENDING];

void io_outfile_cleanup_all(void)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		char *p = pending[i];

		if (p)
			unlink(p);
	}
}

static int pending_add(char *tmp)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (__sync_bool_compare_and_swap(&pending[i], NULL, tmp))
			return 0;
	return -1;
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

int io_check_output(const char *path, struct ek_error *err)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct stat st;
	char *dir;
	int ret;

	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return ek_fail(err, EK_EINVAL, "'%s': not a file name", path);
	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return ek_fail(err, EK_EINVAL, "'%s': is a directory",
				       path);
		if (S_ISLNK(st.st_mode))
			return ek_fail(err, EK_EINVAL, "'%s': is a symbolic "
				       "link; eifkit writes only regular files "
				       "it creates (name the target instead)",
				       path);
		if (!S_ISREG(st.st_mode))
			return ek_fail(err, EK_EINVAL, "'%s': not a regular "
				       "file; eifkit writes only regular files "
				       "it creates", path);
	} else if (errno != ENOENT) {
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	}
	dir = dir_of(path);
	if (!dir)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	ret = check_dir(dir, err);
	free(dir);
	return ret;
}

/* path with its folder resolved (symlinks, "..", "."), or NULL. */
static char *resolve(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *dir = dir_of(path), *rdir = dir ? realpath(dir, NULL) : NULL;
	char *r = NULL;

	if (rdir && asprintf(&r, "%s/%s", rdir, base) < 0)
		r = NULL;
	free(dir);
	free(rdir);
	return r;
}

bool io_same_path(const char *a, const char *b)
{
	char *ra = resolve(a), *rb = resolve(b);
	bool same = ra && rb && !strcmp(ra, rb);

	free(ra);
	free(rb);
	return same;
}

/* Is the folder of path at or below the folder in? */
static bool inside(const char *path, const char *in)
{
	char *dir = dir_of(path), *rdir = NULL, *rin = NULL;
	bool yes = false;

	if (dir && (rdir = realpath(dir, NULL)) && (rin = realpath(in, NULL))) {
		size_t n = strlen(rin);

		yes = !strncmp(rdir, rin, n) &&
		      (rdir[n] == '\0' || rdir[n] == '/' || !strcmp(rin, "/"));
	}
	free(dir);
	free(rdir);
	free(rin);
	return yes;
}

int io_check_not_input(const char *out, const char *in, const char *what,
		       struct ek_error *err)
{
	struct stat so, si;

	if (!in || stat(in, &si) < 0)
		return 0; /* reading it will say what is wrong */
	if (S_ISDIR(si.st_mode)) {
		if (inside(out, in))
			return ek_fail(err, EK_EINVAL, "'%s': inside the input "
				       "folder '%s' (%s)", out, in, what);
		return 0;
	}
	if (stat(out, &so) == 0 && so.st_dev == si.st_dev &&
	    so.st_ino == si.st_ino)
		return ek_fail(err, EK_EINVAL, "'%s': the same file as the "
			       "input '%s' (%s); writing it would destroy the "
			       "input", out, in, what);
	return 0;
}

/* Replace the last six characters of name ("XXXXXX") with random ones. */
static int randomise(char *name)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char *x = name + strlen(name) - 6;
	uint8_t rnd[6];

	if (getentropy(rnd, sizeof(rnd)) < 0)
		return -1;
	for (int i = 0; i < 6; i++)
		x[i] = az[rnd[i] % (sizeof(az) - 1)];
	return 0;
}

/* A named temporary beside path, mode 0666 less the umask (as open(2)
 * makes files), for filesystems without O_TMPFILE. */
static int open_named(struct io_outfile *out, const char *dir,
		      const char *base, struct ek_error *err)
{
	if (asprintf(&out->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		out->tmp = NULL;
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (int tries = 0; tries < 100; tries++) {
		if (randomise(out->tmp) < 0)
			break;
		out->fd = open(out->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			       O_NOFOLLOW, 0666);
		if (out->fd >= 0 || errno != EEXIST)
			break;
	}
	if (out->fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", out->path);
	if (pending_add(out->tmp) < 0) {
		close(out->fd);
		unlink(out->tmp);
		out->fd = -1;
		return ek_fail(err, EK_ELIMIT, "'%s': more than %d outputs open",
			       out->path, MAX_PENDING);
	}
	return 0;
}

int io_outfile_open(struct io_outfile *out, const char *path,
		    struct ek_error *err)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *dir = NULL;
	int ret;

	out->fd = -1;
	out->tmp = NULL;
	out->path = NULL;
	if ((ret = io_check_output(path, err)))
		return ret;
	if (!(dir = dir_of(path)) || !(out->path = strdup(path))) {
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
		goto out;
	}
	out->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (out->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
			    errno == EINVAL || errno == ENOENT))
		ret = open_named(out, dir, base, err);
	else if (out->fd < 0)
		ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
out:
	free(dir);
	if (ret) {
		free(out->tmp);
		free(out->path);
		out->tmp = out->path = NULL;
	}
	return ret;
}

/* Give the unnamed file its name: link it in under a fresh temporary
 * name (linkat cannot replace), then rename that over the path. */
static int link_in(struct io_outfile *out)
{
	char proc[64], *dir = dir_of(out->path), *tmp = NULL;
	const char *base = strrchr(out->path, '/') ? strrchr(out->path, '/') + 1
						    : out->path;
	int ret = -1;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", out->fd);
	if (!dir || asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		free(dir);
		errno = ENOMEM;
		return -1;
	}
	for (int tries = 0; tries < 100; tries++) {
		if (randomise(tmp) < 0)
			break;
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux
		 * 6.10; /proc/self/fd works for everyone where /proc is */
		ret = linkat(out->fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH);
		if (ret < 0 && errno != EEXIST)
			ret = linkat(AT_FDCWD, proc, AT_FDCWD, tmp,
				     AT_SYMLINK_FOLLOW);
		if (ret == 0 || errno != EEXIST)
			break;
	}
	if (ret == 0 && (ret = rename(tmp, out->path)) < 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
	}
	free(tmp);
	free(dir);
	return ret;
}

int io_outfile_commit(struct io_outfile *out, struct ek_error *err)
{
	int e = 0;

	if (out->tmp) {
		if (close(out->fd) < 0 || rename(out->tmp, out->path) < 0)
			e = errno;
	} else if (link_in(out) < 0) {
		e = errno;
	} else if (close(out->fd) < 0) {
		e = errno; /* the data may not all be there: take it back */
		unlink(out->path);
	}
	out->fd = -1;
	if (e) {
		ek_fail_errno(err, EK_EIO, e, "'%s'", out->path);
		io_outfile_abort(out);
		return err->code;
	}
	if (out->tmp)
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
