#include "base/internal.h"

#include <dirent.h>
#include <fcntl.h>
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
	struct strbuf host; /* host path of the current entry */
	size_t root_len;    /* bytes of host that are the root folder + '/' */
};

static int remember_link(struct scan *s, const struct stat *st, size_t idx)
{
	if (s->nhl == s->hl_alloc) {
		size_t na = s->hl_alloc ? 2 * s->hl_alloc : 64;
		struct hl *n = realloc(s->hl, na * sizeof(*n));

		if (!n)
			return -1;
		s->hl = n;
		s->hl_alloc = na;
	}
	s->hl[s->nhl].dev = st->st_dev;
	s->hl[s->nhl].ino = st->st_ino;
	s->hl[s->nhl].idx = idx;
	s->nhl++;
	return 0;
}

static int read_link(const char *path, const struct stat *st, char **ret,
		     struct ek_error *err)
{
	size_t cap = st->st_size > 0 && st->st_size < TREE_PATH_MAX
			     ? (size_t)st->st_size + 1 : TREE_PATH_MAX + 1;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	n = readlink(path, buf, cap);
	if (n < 0) {
		free(buf);
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	}
	if ((size_t)n >= cap) {
		free(buf);
		return ek_fail(err, EK_EFORMAT, "'%s': symlink target longer "
			       "than %d bytes", path, TREE_PATH_MAX);
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

/* Fill e from st (host path in s->host). */
static int fill_entry(struct scan *s, struct tree_entry *e,
		      const struct stat *st, struct ek_error *err)
{
	const char *host = s->host.buf;

	e->mode = st->st_mode & 07777;
	e->uid = s->o->keep_owners ? st->st_uid : 0;
	e->gid = s->o->keep_owners ? st->st_gid : 0;
	e->mtime = s->o->keep_mtimes ? st->st_mtime : s->o->mtime;
	if (e->mtime < 0 || e->mtime > (int64_t)TREE_MTIME_MAX)
		return ek_fail(err, EK_EFORMAT, "'%s': mtime %lld is outside "
			       "what newc holds (0 to %llu)", host,
			       (long long)e->mtime,
			       (unsigned long long)TREE_MTIME_MAX);
	if (e->type == TREE_CHR || e->type == TREE_BLK) {
		e->rdev_major = major(st->st_rdev);
		e->rdev_minor = minor(st->st_rdev);
	}
	if (e->type == TREE_LNK)
		return read_link(host, st, &e->link, err);
	if (e->type != TREE_REG)
		return 0;
	if ((uint64_t)st->st_size > TREE_FILE_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': 4 GiB or larger, which a "
			       "newc archive cannot hold", host);
	e->size = (uint64_t)st->st_size;
	e->src = strdup(host);
	return e->src ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");
}

static void count_xattrs(struct scan *s)
{
	char buf[1];
	ssize_t n = llistxattr(s->host.buf, buf, 0);

	if (n > 0)
		s->o->xattr_files++;
}

static int add_entry(struct scan *s, const struct stat *st,
		     struct ek_error *err)
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
	count_xattrs(s);
	r = tree_path_normalise(s->host.buf + s->root_len, &e.path, err);
	if (r == 0)
		r = fill_entry(s, &e, st, err);
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

static int walk(struct scan *s, int depth, struct ek_error *err);

static int by_bytes(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Read one directory's names (sorted, so the walk order is fixed too). */
static int list_dir(const char *path, char ***names_ret, size_t *n_ret,
		    struct ek_error *err)
{
	struct dirent **list;
	int n = scandir(path, &list, NULL, by_bytes);

	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	*names_ret = calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		if (*names_ret)
			(*names_ret)[i] = strdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	*n_ret = (size_t)n;
	return *names_ret ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");
}

static int visit(struct scan *s, const char *name, int depth,
		 struct ek_error *err)
{
	size_t keep = s->host.len;
	struct stat st;
	int r;

	strbuf_addch(&s->host, '/');
	strbuf_addstr(&s->host, name);
	if (!strbuf_ok(&s->host))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (lstat(s->host.buf, &st) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "'%s'", s->host.buf);
	else
		r = add_entry(s, &st, err);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = walk(s, depth + 1, err);
	s->host.len = keep;
	s->host.buf[keep] = '\0';
	return r;
}

static int walk(struct scan *s, int depth, struct ek_error *err)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	if (depth > TREE_PATH_MAX / 2)
		return ek_fail(err, EK_ELIMIT, "'%s': folders nested too deep",
			       s->host.buf);
	r = list_dir(s->host.buf, &names, &n, err);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (r == 0 && names[i] && strcmp(names[i], ".") &&
		    strcmp(names[i], ".."))
			r = visit(s, names[i], depth, err);
		else if (r == 0 && !names[i])
			r = ek_fail(err, EK_ENOMEM, "out of memory");
		free(names[i]);
	}
	free(names);
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
	if (o->ninodes == o->inodes_alloc) {
		size_t na = o->inodes_alloc ? 2 * o->inodes_alloc : 64;
		struct scan_inode *n = realloc(o->inodes, na * sizeof(*n));

		if (!n)
			return -1;
		o->inodes = n;
		o->inodes_alloc = na;
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

int scan_dir(struct tree *t, const char *root, struct scan_opts *o,
	     struct ek_error *err)
{
	struct scan s = { .t = t, .o = o };
	struct stat st;
	int r;

	if (stat(root, &st) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", root);
	if (!S_ISDIR(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': not a folder", root);
	strbuf_init(&s.host);
	strbuf_addstr(&s.host, root);
	while (s.host.len > 1 && s.host.buf[s.host.len - 1] == '/')
		s.host.buf[--s.host.len] = '\0';
	s.root_len = s.host.len + 1;
	r = strbuf_ok(&s.host) ? walk(&s, 0, err)
			       : ek_fail(err, EK_ENOMEM, "out of memory");
	if (r == 0)
		r = group_links(&s, err);
	free(s.hl);
	strbuf_release(&s.host);
	return r;
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
	else if (o->keep_mtimes && (st.st_mtime < 0 ||
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
		/* resolved, since the content is opened with O_NOFOLLOW */
		e.src = realpath(src, NULL);
		r = e.src ? tree_add(t, &e, err)
			  : ek_fail_errno(err, EK_EIO, errno, "--file '%s'", src);
	}
	if (r) {
		free(e.path);
		free(e.src);
	}
	free(src);
	free(dest);
	return r;
}
