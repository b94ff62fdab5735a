#include "base/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "ramdisk/scan.h"

struct hl {
	dev_t dev;
	ino_t ino;
	size_t idx;
};

struct scan_inode {
	dev_t dev;
	ino_t ino;
	uint32_t group;
};

struct scan {
	struct tree *t;
	struct scan_opts *o;
	struct hl *hl;
	size_t nhl, hl_alloc;
	struct strbuf host; /* host path of the current entry, for messages */
	size_t root_len;    /* bytes of host that are the root folder + '/' */
	int root;           /* the root folder, held by the tree */
	bool proc;          /* /proc/self/fd/N/NAME names NAME below fd N */
};

static int remember_link(struct scan *s, const struct stat *st, size_t idx)
{
	struct hl *n = ek_grow(s->hl, s->nhl, &s->hl_alloc, sizeof(*n), 64);

	if (!n)
		return -1;
	s->hl = n;
	s->hl[s->nhl].dev = st->st_dev;
	s->hl[s->nhl].ino = st->st_ino;
	s->hl[s->nhl].idx = idx;
	s->nhl++;
	return 0;
}

static int read_link(struct scan *s, int dir, const char *name,
		     const struct stat *st, char **ret, struct ek_error *err)
{
	size_t cap = st->st_size > 0 && st->st_size < TREE_PATH_MAX
			     ? (size_t)st->st_size + 1 : TREE_PATH_MAX + 1;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	n = readlinkat(dir, name, buf, cap);
	if (n < 0) {
		int e = errno;

		free(buf);
		if (e == EINVAL)
			return ek_fail(err, EK_EIO, "'%s': changed while being "
				       "scanned (not a symlink any more)",
				       s->host.buf);
		return ek_fail_errno(err, EK_EIO, e, "'%s'", s->host.buf);
	}
	if ((size_t)n >= cap) {
		free(buf);
		return ek_fail(err, EK_EFORMAT, "'%s': symlink target longer "
			       "than %d bytes", s->host.buf, TREE_PATH_MAX);
	}
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

static int set_type(struct tree_entry *e, const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		e->type = TREE_REG;
	else if (S_ISDIR(st->st_mode))
		e->type = TREE_DIR;
	else if (S_ISLNK(st->st_mode))
		e->type = TREE_LNK;
	else if (S_ISCHR(st->st_mode))
		e->type = TREE_CHR;
	else if (S_ISBLK(st->st_mode))
		e->type = TREE_BLK;
	else if (S_ISFIFO(st->st_mode))
		e->type = TREE_FIFO;
	else
		return -1; /* socket */
	return 0;
}

/* Fill e from st, the entry name in the folder dir (host path in
 * s->host). A regular file's content is found again by its path below
 * the root, from the root folder the tree holds. */
static int fill_entry(struct scan *s, int dir, const char *name,
		      struct tree_entry *e, const struct stat *st,
		      struct ek_error *err)
{
	const char *host = s->host.buf;

	e->mode = st->st_mode & 07777;
	e->uid = s->o->keep_owners ? st->st_uid : 0;
	e->gid = s->o->keep_owners ? st->st_gid : 0;
	e->mtime = s->o->keep_mtimes ? st->st_mtime : s->o->mtime;
	if (!s->o->mtime_any &&
	    (e->mtime < 0 || e->mtime > (int64_t)TREE_MTIME_MAX))
		return ek_fail(err, EK_EFORMAT, "'%s': mtime %lld is outside "
			       "what newc holds (0 to %llu)", host,
			       (long long)e->mtime,
			       (unsigned long long)TREE_MTIME_MAX);
	if (e->type == TREE_CHR || e->type == TREE_BLK) {
		e->rdev_major = major(st->st_rdev);
		e->rdev_minor = minor(st->st_rdev);
	}
	if (e->type == TREE_LNK)
		return read_link(s, dir, name, st, &e->link, err);
	if (e->type != TREE_REG)
		return 0;
	if ((uint64_t)st->st_size > TREE_FILE_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': 4 GiB or larger, which a "
			       "newc archive cannot hold", host);
	e->size = (uint64_t)st->st_size;
	e->src = strdup(host);
	e->src_dir = s->root;
	e->src_rel = (uint32_t)s->root_len;
	e->src_dev = (uint64_t)st->st_dev;
	e->src_ino = (uint64_t)st->st_ino;
	return e->src ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");
}

/* Only counted, for a warning, and only for what is not a regular file
 * (the cpio writer counts those on the descriptor it reads). Through /proc/self/fd, the name is looked
 * up in the folder the scan holds, not by a path a rename could redirect;
 * without /proc, by the host path (a race can then only make the count
 * wrong). */
static void count_xattrs(struct scan *s, int dir, const char *name)
{
	char proc[sizeof("/proc/self/fd//") + 3 * sizeof(int) + NAME_MAX];
	const char *path = s->host.buf;
	ssize_t n;

	if (s->proc && strlen(name) <= NAME_MAX) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dir, name);
		path = proc;
	}
	n = llistxattr(path, NULL, 0);
	if (n > 0 && s->o->xattr_files < ARRAY_SIZE(s->o->xattr_first))
		snprintf(s->o->xattr_first[s->o->xattr_files],
			 sizeof(s->o->xattr_first[0]), "/%s", s->host.buf +
			 s->root_len + strspn(s->host.buf + s->root_len, "/"));
	if (n > 0)
		s->o->xattr_files++;
}

static int add_entry(struct scan *s, int dir, const char *name,
		     const struct stat *st, struct ek_error *err)
{
	struct tree_entry e;
	int r;

	memset(&e, 0, sizeof(e));
	if (set_type(&e, st) < 0) {
		if (s->o->sockets++ == 0)
			snprintf(s->o->first_socket, sizeof(s->o->first_socket),
				 "%s", s->host.buf);
		return 0;
	}
	if (e.type != TREE_REG) /* a regular file's: by the cpio writer */
		count_xattrs(s, dir, name);
	r = tree_path_normalise(s->host.buf + s->root_len, &e.path, err);
	if (r == 0)
		r = fill_entry(s, dir, name, &e, st, err);
	if (r == 0 && e.type == TREE_REG && st->st_nlink > 1 &&
	    remember_link(s, st, s->t->n))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	if (r == 0)
		r = tree_add(s->t, &e, err);
	if (r) {
		free(e.path);
		free(e.link);
		free(e.src);
	}
	return r;
}

/* A failed open of a folder the scan is in, named by the host path. */
static int open_failed(struct scan *s, int errnum, struct ek_error *err)
{
	if (errnum == ENOTDIR || errnum == ELOOP)
		return ek_fail(err, EK_EIO, "'%s': changed while being scanned "
			       "(a symlink or a non-folder is there now)",
			       s->host.buf);
	if (errnum == EMFILE)
		return ek_fail(err, EK_ELIMIT, "'%s': folders nested deeper "
			       "than the limit of open files allows (ulimit -n)",
			       s->host.buf);
	return ek_fail_errno(err, EK_EIO, errnum, "'%s'", s->host.buf);
}

static int walk(struct scan *s, int dir, int depth, struct ek_error *err);

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_name(char ***names, size_t *n, size_t *alloc, const char *name)
{
	char **nn = ek_grow(*names, *n, alloc, sizeof(*nn), 16);

	if (!nn)
		return -1;
	*names = nn;
	(*names)[*n] = strdup(name);
	return (*names)[(*n)++] ? 0 : -1;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Read the names in the folder dir, "." and ".." left out, sorted by
 * bytes so that the walk order is fixed too. */
static int list_dir(struct scan *s, int dir, char ***names_ret, size_t *n_ret,
		    struct ek_error *err)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	int r = 0, e;

	if (!d) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return open_failed(s, e, err);
	}
	for (errno = 0; r == 0 && (de = readdir(d)); errno = 0) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    push_name(&names, &n, &alloc, de->d_name))
			r = ek_fail(err, EK_ENOMEM, "out of memory");
	}
	if (r == 0 && errno)
		r = ek_fail_errno(err, EK_EIO, errno, "'%s'", s->host.buf);
	closedir(d);
	if (r) {
		free_names(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), by_bytes);
	*names_ret = names;
	*n_ret = n;
	return 0;
}

/* Go into the folder name of dir, which the scan saw as st: by a new
 * handle that cannot be a symlink, checked to be that very folder. */
static int descend(struct scan *s, int dir, const char *name,
		   const struct stat *st, int depth, struct ek_error *err)
{
	int fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	int r;

	if (fd < 0)
		return open_failed(s, errno, err);
	if (fstat(fd, &now) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "'%s'", s->host.buf);
	else if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		r = ek_fail(err, EK_EIO, "'%s': changed while being scanned "
			    "(another folder is there now)", s->host.buf);
	else
		r = walk(s, fd, depth + 1, err);
	close(fd);
	return r;
}

static int visit(struct scan *s, int dir, const char *name, int depth,
		 struct ek_error *err)
{
	size_t keep = s->host.len;
	struct stat st;
	int r;

	strbuf_addch(&s->host, '/');
	strbuf_addstr(&s->host, name);
	if (!strbuf_ok(&s->host))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "'%s'", s->host.buf);
	else
		r = add_entry(s, dir, name, &st, err);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = descend(s, dir, name, &st, depth, err);
	s->host.len = keep;
	s->host.buf[keep] = '\0';
	return r;
}

/* The folder dir (host path in s->host), below the root by depth. Every
 * name is looked up in the folder this scan opened, never by a path from
 * the root, so a folder renamed meanwhile cannot take the scan out of the
 * tree. One handle per level is open, until its subtree is done. */
static int walk(struct scan *s, int dir, int depth, struct ek_error *err)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	if (depth > TREE_PATH_MAX / 2)
		return ek_fail(err, EK_ELIMIT, "'%s': folders nested too deep",
			       s->host.buf);
	r = list_dir(s, dir, &names, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = visit(s, dir, names[i], depth, err);
	free_names(names, n);
	return r;
}

static int cmp_hl(const void *a, const void *b)
{
	const struct hl *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct scan_inode *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The group of (dev, ino): the one an earlier scan gave it, or a new one.
 * o->inodes[0..sorted) is sorted; new ones go after it. */
static int inode_group(struct scan *s, const struct hl *h, size_t sorted,
		       uint32_t *group)
{
	struct scan_opts *o = s->o;
	struct scan_inode key = { .dev = h->dev, .ino = h->ino }, *found;

	found = sorted ? bsearch(&key, o->inodes, sorted, sizeof(key),
				 cmp_inode) : NULL;
	if (found) {
		*group = found->group;
		return 0;
	}
	{
		struct scan_inode *n = ek_grow(o->inodes, o->ninodes,
					       &o->inodes_alloc, sizeof(*n), 64);

		if (!n)
			return -1;
		o->inodes = n;
	}
	key.group = tree_new_group(s->t);
	o->inodes[o->ninodes++] = key;
	*group = key.group;
	return 0;
}

/* Runs of the same (dev, ino) become one hard-link group, shared with the
 * names earlier scans found (a file with one name in this folder may have
 * another in an earlier one). tree_finish undoes groups left with a
 * single member. */
static int group_links(struct scan *s, struct ek_error *err)
{
	size_t sorted = s->o->ninodes;

	if (s->nhl == 0)
		return 0; /* no hard links (and hl is NULL) */
	qsort(s->hl, s->nhl, sizeof(*s->hl), cmp_hl);
	for (size_t i = 0; i < s->nhl;) {
		size_t j = i + 1;
		uint32_t g;

		while (j < s->nhl && s->hl[j].dev == s->hl[i].dev &&
		       s->hl[j].ino == s->hl[i].ino)
			j++;
		if (inode_group(s, &s->hl[i], sorted, &g))
			return ek_fail(err, EK_ENOMEM, "out of memory");
		for (size_t k = i; k < j; k++)
			s->t->e[s->hl[k].idx].link_group = g;
		i = j;
	}
	qsort(s->o->inodes, s->o->ninodes, sizeof(*s->o->inodes), cmp_inode);
	return 0;
}

void scan_opts_release(struct scan_opts *o)
{
	free(o->inodes);
	o->inodes = NULL;
	o->ninodes = o->inodes_alloc = 0;
}

/* Whether /proc/self/fd/N leads to the folder fd N is (not so without a
 * mounted /proc, in some chroots). */
static bool proc_works(int fd)
{
	char p[sizeof("/proc/self/fd/") + 3 * sizeof(int)];
	struct stat a, b;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return stat(p, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int scan_dir(struct tree *t, const char *root, struct scan_opts *o,
	     struct ek_error *err)
{
	struct scan s = { .t = t, .o = o };
	int fd, r;

	/* the root itself may be a symlink: it is what the user named */
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOTDIR)
		return ek_fail(err, EK_EIO, "'%s': not a folder", root);
	if (fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", root);
	if ((r = tree_hold_dir(t, fd, &s.root, err)))
		return r;
	s.proc = proc_works(s.root);
	strbuf_init(&s.host);
	strbuf_addstr(&s.host, root);
	while (s.host.len > 1 && s.host.buf[s.host.len - 1] == '/')
		s.host.buf[--s.host.len] = '\0';
	s.root_len = s.host.len + 1;
	if (!strbuf_ok(&s.host))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	else if (s.root_len > UINT32_MAX - TREE_PATH_MAX)
		r = ek_fail(err, EK_ELIMIT, "'%.64s...': path too long", root);
	else
		r = walk(&s, s.root, 0, err);
	if (r == 0)
		r = group_links(&s, err);
	free(s.hl);
	strbuf_release(&s.host);
	return r;
}

int scan_host_file(struct tree *t, struct tree_entry *e, const char *path,
		   const struct stat *st, const char *label,
		   struct ek_error *err)
{
	char *real = realpath(path, NULL);
	char *base;
	struct stat now;
	int fd, dir, r;

	if (!real)
		return ek_fail_errno(err, EK_EIO, errno, "%s'%s'", label, path);
	base = strrchr(real, '/') + 1; /* realpath's result is absolute */
	if (base == real + 1) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		base[-1] = '\0';
		fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
		base[-1] = '/';
	}
	if (fd < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "%s'%s'", label, real);
	else
		r = tree_hold_dir(t, fd, &dir, err);
	if (r == 0 && fstatat(dir, base, &now, AT_SYMLINK_NOFOLLOW) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "%s'%s'", label, real);
	else if (r == 0 && (!S_ISREG(now.st_mode) || now.st_dev != st->st_dev ||
			    now.st_ino != st->st_ino))
		r = ek_fail(err, EK_EIO, "%s'%s': changed while being scanned",
			    label, path);
	if (r) {
		free(real);
		return r;
	}
	e->src = real;
	e->src_dir = dir;
	e->src_rel = (uint32_t)(base - real);
	e->src_dev = (uint64_t)st->st_dev;
	e->src_ino = (uint64_t)st->st_ino;
	return 0;
}

/* SRC:DEST[:MODE]: SRC up to the first ':', MODE after the last ':' when
 * that is octal digits. */
static int split_spec(const char *spec, char **src, char **dest,
		      long *mode, struct ek_error *err)
{
	const char *c1 = strchr(spec, ':'), *c2;
	char *end;

	*mode = -1;
	if (!c1 || c1 == spec || !c1[1])
		return ek_fail(err, EK_EINVAL, "--file '%s': not SRC:DEST[:MODE]",
			       spec);
	c2 = strrchr(c1 + 1, ':');
	if (c2 && c2[1] && strspn(c2 + 1, "01234567") == strlen(c2 + 1)) {
		*mode = strtol(c2 + 1, &end, 8);
		if (*mode > 07777)
			return ek_fail(err, EK_EINVAL, "--file '%s': mode %s is "
				       "not a permission", spec, c2 + 1);
	} else {
		c2 = c1 + strlen(c1);
	}
	*src = strndup(spec, (size_t)(c1 - spec));
	*dest = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	if (!*src || !*dest) {
		free(*src);
		free(*dest);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	return 0;
}

int scan_file_spec(struct tree *t, const char *spec, struct scan_opts *o,
		   struct ek_error *err)
{
	struct tree_entry e;
	struct stat st;
	char *src = NULL, *dest = NULL;
	long mode;
	int r = split_spec(spec, &src, &dest, &mode, err);

	if (r)
		return r;
	memset(&e, 0, sizeof(e));
	if (stat(src, &st) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "--file '%s'", src);
	else if (!S_ISREG(st.st_mode))
		r = ek_fail(err, EK_EIO, "--file '%s': not a regular file", src);
	else if ((uint64_t)st.st_size > TREE_FILE_MAX)
		r = ek_fail(err, EK_ELIMIT, "--file '%s': 4 GiB or larger, which "
			    "a newc archive cannot hold", src);
	else if (o->keep_mtimes && !o->mtime_any && (st.st_mtime < 0 ||
				    st.st_mtime > (int64_t)TREE_MTIME_MAX))
		r = ek_fail(err, EK_EFORMAT, "--file '%s': mtime %lld is outside "
			    "what newc holds (0 to %llu)", src,
			    (long long)st.st_mtime,
			    (unsigned long long)TREE_MTIME_MAX);
	if (r == 0)
		r = tree_path_normalise(dest, &e.path, err);
	if (r == 0) {
		e.type = TREE_REG;
		e.mode = mode >= 0 ? (uint32_t)mode : st.st_mode & 07777;
		e.uid = o->keep_owners ? st.st_uid : 0;
		e.gid = o->keep_owners ? st.st_gid : 0;
		e.mtime = o->keep_mtimes ? st.st_mtime : o->mtime;
		e.size = (uint64_t)st.st_size;
		r = scan_host_file(t, &e, src, &st, "--file ", err);
		if (r == 0)
			r = tree_add(t, &e, err);
	}
	if (r) {
		free(e.path);
		free(e.src);
	}
	free(src);
	free(dest);
	return r;
}
