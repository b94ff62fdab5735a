#include "base/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(SYS_openat2) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif
#endif

#include "base/io.h"
#include "ramdisk/tree.h"

void tree_init(struct tree *t)
{
	memset(t, 0, sizeof(*t));
	t->next_group = 1;
}

void tree_entry_release(struct tree_entry *e)
{
	free(e->path);
	free(e->link);
	free(e->src);
	free(e->data);
}

void tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		tree_entry_release(&t->e[i]);
	free(t->e);
	for (size_t i = 0; i < t->ndirs; i++)
		close(t->dirs[i].fd);
	free(t->dirs);
	tree_init(t);
}

int tree_hold_dir(struct tree *t, int fd, int *ret, struct ek_error *err)
{
	struct tree_dir *nd;
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return ek_fail_errno(err, EK_EIO, e, "a folder");
	}
	for (size_t i = 0; i < t->ndirs; i++) {
		if (t->dirs[i].dev == (uint64_t)st.st_dev &&
		    t->dirs[i].ino == (uint64_t)st.st_ino) {
			close(fd);
			*ret = t->dirs[i].fd;
			return 0;
		}
	}
	nd = ek_grow(t->dirs, t->ndirs, &t->dirs_alloc, sizeof(*nd), 8);
	if (!nd) {
		close(fd);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	t->dirs = nd;
	t->dirs[t->ndirs].fd = fd;
	t->dirs[t->ndirs].dev = (uint64_t)st.st_dev;
	t->dirs[t->ndirs].ino = (uint64_t)st.st_ino;
	t->ndirs++;
	*ret = fd;
	return 0;
}

/* Components that are empty, "." or ".." (or a name too long to be one)
 * never come from a scan: refused, whichever way the path is opened. */
static bool beneath_ok(const char *rel)
{
	const char *p = rel;

	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

/* One openat per component; every folder on the way with O_NOFOLLOW and
 * O_DIRECTORY (a symlink gives ENOTDIR), the last one with O_NOFOLLOW
 * (ELOOP). */
static int open_walk(int dir, const char *rel, int flags)
{
	char name[NAME_MAX + 1];
	const char *p = rel;
	int cur = dir;

	for (;;) {
		size_t n = strcspn(p, "/");
		int next, e;

		memcpy(name, p, n);
		name[n] = '\0';
		if (!p[n]) {
			next = openat(cur, name, flags | O_NOFOLLOW);
		} else {
			next = openat(cur, name, O_PATH | O_DIRECTORY |
				      O_NOFOLLOW | O_CLOEXEC);
		}
		e = errno;
		if (cur != dir)
			close(cur);
		errno = e;
		if (next < 0 || !p[n])
			return next;
		cur = next;
		p += n + 1;
	}
}

int tree_open_beneath(int dir, const char *rel, int flags, bool *walk)
{
	if (!beneath_ok(rel)) {
		errno = EXDEV;
		return -1;
	}
#ifdef HAVE_OPENAT2
	if (!*walk) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_NOFOLLOW),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
				   RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, dir, rel, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		/* missing (before Linux 5.6) or refused by a seccomp filter,
		 * as container runtimes did: the walk from now on. EAGAIN (a
		 * rename raced with the lookup): the walk, this time. */
		if (errno == ENOSYS || errno == EPERM)
			*walk = true;
		else if (errno != EAGAIN)
			return -1;
	}
#else
	*walk = true;
#endif
	return open_walk(dir, rel, flags);
}

int tree_path_normalise(const char *in, char **ret, struct ek_error *err)
{
	size_t len = strlen(in), o = 0;
	char *out = malloc(len + 1);
	const char *p = in;

	if (!out)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	while (*p) {
		const char *s = p;
		size_t n;

		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (*p)
			p++;
		if (n == 0 || (n == 1 && s[0] == '.' && o == 0))
			continue; /* "//", leading "/" or "./" */
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
			free(out);
			return ek_fail(err, EK_EUNSAFE, "'%s': '%.*s' is not allowed "
				       "in a path", in, (int)n, s);
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	if (o == 0 || o > TREE_PATH_MAX) {
		free(out);
		return ek_fail(err, EK_EFORMAT, o ? "'%.64s...': path longer "
			       "than %d bytes" : "'%s': empty path", in,
			       TREE_PATH_MAX);
	}
	*ret = out;
	return 0;
}

int tree_add(struct tree *t, struct tree_entry *e, struct ek_error *err)
{
	struct tree_entry *ne = ek_grow(t->e, t->n, &t->alloc, sizeof(*ne), 256);

	if (!ne)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	t->e = ne;
	e->seq = t->next_seq++;
	t->e[t->n++] = *e;
	return 0;
}

uint32_t tree_new_group(struct tree *t)
{
	return t->next_group++;
}

/* Byte order of paths, then insertion order. */
static int cmp_entry(const void *a, const void *b)
{
	const struct tree_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Keep the last entry of each path. It records when that path last held
 * a non-directory: what was below it before then stays hidden. */
static void dedupe(struct tree *t)
{
	size_t o = 0;
	uint64_t hide = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];

		if (e->hide_seq > hide)
			hide = e->hide_seq;
		if (e->type != TREE_DIR && e->seq + 1 > hide)
			hide = e->seq + 1;
		if (i + 1 < t->n && !strcmp(e->path, t->e[i + 1].path)) {
			tree_entry_release(&t->e[i]);
			continue;
		}
		t->e[o] = t->e[i];
		t->e[o++].hide_seq = hide;
		hide = 0;
	}
	t->n = o;
}

/* Walk the listed ancestors of e[i] (every one comes earlier in the
 * sorted list). One that held a non-directory after e[i] was added
 * replaced the directory e[i] was in: e[i] is hidden (return 1). A
 * non-directory added before e[i] means e[i] was put below a file (or a
 * symlink, which the kernel would follow): an error. */
static int hidden(const struct tree *t, size_t i, struct ek_error *err)
{
	/* a copy: cutting e[i].path itself would let the search find e[i] */
	char *path = strdup(t->e[i].path);
	int r = 0;

	if (!path)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	for (char *s = strchr(path, '/'); s && r == 0; s = strchr(s + 1, '/')) {
		struct tree_entry *a;

		*s = '\0';
		a = tree_find(t, path);
		if (a && a->hide_seq > t->e[i].seq)
			r = 1;
		else if (a && a->type != TREE_DIR)
			r = ek_fail(err, EK_EFORMAT, "'%s': '%s' is not a "
				    "directory", t->e[i].path, a->path);
		*s = '/';
	}
	free(path);
	return r;
}

/* Release the entries marked in gone and close the gaps, in order. */
static void compact(struct tree *t, const bool *gone)
{
	size_t o = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (gone[i])
			tree_entry_release(&t->e[i]);
		else
			t->e[o++] = t->e[i];
	}
	t->n = o;
}

static int drop_hidden(struct tree *t, struct ek_error *err)
{
	bool *gone = calloc(t->n ? t->n : 1, sizeof(*gone));

	if (!gone)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->n; i++) {
		int h = hidden(t, i, err);

		if (h < 0) {
			free(gone);
			return h;
		}
		gone[i] = h != 0;
	}
	compact(t, gone);
	free(gone);
	return 0;
}

struct tree_entry *tree_find(const struct tree *t, const char *path)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->e[mid].path, path);

		if (c == 0)
			return &t->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Length of the common directory prefix of a and b ("x/y/" of x/y/a, x/y/b). */
static size_t common_dir(const char *a, const char *b)
{
	size_t n = 0, i = 0;

	while (a[i] && a[i] == b[i]) {
		if (a[i] == '/')
			n = i + 1;
		i++;
	}
	if (!a[i] && b[i] == '/')
		n = i + 1; /* a is a parent of b */
	return n;
}

struct pathlist {
	char **p;
	size_t n, alloc;
};

static int pathlist_push(struct pathlist *l, const char *s, size_t len)
{
	char *c;

	char **np = ek_grow(l->p, l->n, &l->alloc, sizeof(*np), 16);

	if (!np)
		return -1;
	l->p = np;
	c = strndup(s, len);
	if (!c)
		return -1;
	l->p[l->n++] = c;
	return 0;
}

/* Collect the parents no entry describes; ancestors shared with the
 * previous path were handled with it. */
static int missing_parents(const struct tree *t, struct pathlist *miss)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *path = t->e[i].path;
		size_t from = i ? common_dir(t->e[i - 1].path, path) : 0;

		for (const char *s = strchr(path + from, '/'); s;
		     s = strchr(s + 1, '/')) {
			char *pre = strndup(path, (size_t)(s - path));
			int found;

			if (!pre)
				return -1;
			found = tree_find(t, pre) != NULL;
			free(pre);
			if (!found && pathlist_push(miss, path, (size_t)(s - path)))
				return -1;
		}
	}
	return 0;
}

static int add_parents(struct tree *t, int64_t mtime, struct ek_error *err)
{
	struct pathlist miss = { 0 };
	int ret = 0;

	if (missing_parents(t, &miss))
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
	for (size_t i = 0; i < miss.n; i++) {
		struct tree_entry d;

		memset(&d, 0, sizeof(d));
		d.path = miss.p[i];
		miss.p[i] = NULL;
		d.type = TREE_DIR;
		d.mode = 0755;
		d.mtime = mtime;
		if (ret == 0 && (ret = tree_add(t, &d, err)) == 0)
			continue;
		free(d.path);
	}
	for (size_t i = 0; i < miss.n; i++)
		free(miss.p[i]);
	free(miss.p);
	if (ret == 0 && miss.n) {
		qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
		dedupe(t);
	}
	return ret;
}

/* A group whose other members were replaced is a plain file again. */
static void single_links(struct tree *t)
{
	uint32_t *count = calloc(t->next_group, sizeof(*count));

	if (!count)
		return; /* harmless: nlink then counts the members present */
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].link_group < t->next_group)
			count[t->e[i].link_group]++;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].link_group && t->e[i].link_group < t->next_group &&
		    count[t->e[i].link_group] < 2)
			t->e[i].link_group = 0;
	free(count);
}

/* The index of the entry whose path is the first len bytes of path, or
 * -1: a binary search in path order without copying the prefix. */
static long find_prefix(const struct tree *t, const char *path, size_t len)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = t->e[mid].path;
		int c = strncmp(p, path, len);

		if (c == 0 && p[len])
			c = 1; /* longer: after the prefix */
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Sorted by path, a parent comes before everything below it, so its mark
 * is set by the time its children are looked at. */
static bool below_gone(const struct tree *t, const bool *gone, const char *path)
{
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		long i = find_prefix(t, path, (size_t)(s - path));

		if (i >= 0 && gone[i])
			return true;
	}
	return false;
}

long tree_remove(struct tree *t,
		 bool (*drop)(const struct tree_entry *e, void *ctx),
		 void *ctx)
{
	bool *gone = calloc(t->n + 1, sizeof(*gone));
	long picked = 0;

	if (!gone)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		if (picked && below_gone(t, gone, t->e[i].path))
			gone[i] = true;
		else if (drop(&t->e[i], ctx))
			gone[i] = true, picked++;
	}
	compact(t, gone);
	free(gone);
	if (picked)
		single_links(t);
	return picked;
}

int tree_finish(struct tree *t, int64_t dir_mtime, struct ek_error *err)
{
	int ret;

	if (t->n) /* e is NULL in an empty tree */
		qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
	dedupe(t);
	ret = drop_hidden(t, err);
	if (ret == 0)
		ret = add_parents(t, dir_mtime, err);
	if (ret == 0)
		single_links(t);
	return ret;
}

ssize_t tree_entry_pread(const struct tree_entry *e, void *buf, size_t len,
			 uint64_t off, struct ek_error *err)
{
	const char *name = e->src ? e->src : e->path;
	bool walk = false;
	struct stat st;
	ssize_t n;
	int fd;

	if (e->type != TREE_REG || off >= e->size)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	if (e->data) {
		memcpy(buf, e->data + off, len);
		return (ssize_t)len;
	}
	if (e->stage_fd > 0) {
		n = io_pread_full(e->stage_fd, buf, len,
				  (off_t)(e->stage_off + off));
		return n < 0 ? ek_fail_errno(err, EK_EIO, errno, "'%s'", name) : n;
	}
	if (!e->src)
		return 0; /* an empty file of a layout's own */
	fd = tree_open_beneath(e->src_dir, e->src + e->src_rel,
			       O_RDONLY | O_CLOEXEC | O_NONBLOCK, &walk);
	if (fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_dev != e->src_dev || (uint64_t)st.st_ino != e->src_ino) {
		close(fd);
		return ek_fail(err, EK_EIO, "'%s': changed after it was scanned",
			       name);
	}
	n = io_pread_full(fd, buf, len, (off_t)off);
	if (n < 0)
		n = ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	close(fd);
	return n;
}
