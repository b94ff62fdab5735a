/* Unit tests for the tree (tree.c) and the folder scan that fills it
 * (scan.c): path rules, the order and merging rules of tree_finish
 * (later inputs win, a non-directory hides what an earlier directory
 * held, even once a directory comes back, missing parents), hard-link
 * groups (across folders, demoted when one member is left), and the
 * limits the scan enforces; opening content beneath a held folder
 * (tree_open_beneath, with openat2 and with the openat walk), and scans
 * that hold their folders so that a rename cannot lead them outside
 * (issue #10, 2). Folders are made under $TMPDIR. */
#include "base/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ramdisk/scan.h"
#include "ramdisk/tree.h"
#include "unit.h"

/* ---- helpers ---- */

static void add(struct tree *t, const char *path, enum tree_type type)
{
	struct tree_entry e;
	struct ek_error err;

	memset(&e, 0, sizeof(e));
	e.path = strdup(path);
	e.type = type;
	e.mode = type == TREE_DIR ? 0700 : 0600;
	if (type == TREE_LNK)
		e.link = strdup("target");
	CHECK(tree_add(t, &e, &err) == 0);
}

static void add_linked(struct tree *t, const char *path, uint32_t group)
{
	add(t, path, TREE_REG);
	t->e[t->n - 1].link_group = group;
}

/* "a b c" of the finished tree's paths. */
static const char *paths(const struct tree *t)
{
	static char buf[4096];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n && o < sizeof(buf) - 1; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
				      i ? " " : "", t->e[i].path);
	return buf;
}

static char tmpl[64];

static const char *mktemp_dir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(tmpl, sizeof(tmpl), "%.40s/eifkit-tree-XXXXXX", base);
	return mkdtemp(tmpl);
}

static void put_file(const char *dir, const char *name, const char *data)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(data, f);
		fclose(f);
	}
}

static void rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* ---- tree_path_normalise ---- */

TEST(normalise_accepts)
{
	static const char *const cases[][2] = {
		{ "a", "a" }, { "/a", "a" }, { "./a", "a" }, { "a/", "a" },
		{ "//a//b//", "a/b" }, { "././a", "a" }, { "/./a/b", "a/b" },
		{ "...", "..." }, { ".a/..b/b..", ".a/..b/b.." },
		{ "a\nb/\xff\xfe", "a\nb/\xff\xfe" }, { "TRAILER!!!", "TRAILER!!!" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = NULL;
		struct ek_error err;

		CHECK(tree_path_normalise(cases[i][0], &out, &err) == 0);
		CHECK_STR(out, cases[i][1]);
		free(out);
	}
}

TEST(normalise_refuses)
{
	static const char *const cases[] = {
		"", "/", "//", ".", "./", "..", "a/..", "../a", "a/../b",
		"a/./b", "a/.", "/a/b/./",
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = NULL;
		struct ek_error err;

		CHECK(tree_path_normalise(cases[i], &out, &err) < 0);
		CHECK(out == NULL);
		CHECK(strchr(err.msg, '\'') != NULL); /* names the input */
	}
}

TEST(normalise_length_limit)
{
	char *in = malloc(TREE_PATH_MAX + 3), *out = NULL;
	struct ek_error err;

	memset(in, 'x', TREE_PATH_MAX);
	in[TREE_PATH_MAX] = '\0';
	CHECK(tree_path_normalise(in, &out, &err) == 0);
	CHECK(out && strlen(out) == TREE_PATH_MAX);
	free(out);
	out = NULL;
	in[0] = '/'; /* a leading slash does not count */
	in[TREE_PATH_MAX] = 'x';
	in[TREE_PATH_MAX + 1] = '\0';
	CHECK(tree_path_normalise(in, &out, &err) == 0);
	free(out);
	out = NULL;
	in[0] = 'x';
	CHECK(tree_path_normalise(in, &out, &err) == EK_EFORMAT);
	CHECK(strstr(err.msg, "longer than 4095") != NULL);
	CHECK(strlen(err.msg) < 200); /* the name is shortened */
	free(in);
}

/* ---- tree_finish ---- */

TEST(sorted_by_bytes_later_wins)
{
	struct tree t;
	struct ek_error err;

	tree_init(&t);
	add(&t, "b", TREE_REG);
	add(&t, "a-b", TREE_REG);
	add(&t, "a", TREE_DIR);
	add(&t, "a/b", TREE_REG);
	add(&t, "a0", TREE_REG);
	add(&t, "\xc3\xa9", TREE_REG);
	add(&t, "B", TREE_REG);
	add(&t, "b", TREE_LNK); /* replaces the file */
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK_STR(paths(&t), "B a a-b a/b a0 b \xc3\xa9");
	CHECK(tree_find(&t, "b")->type == TREE_LNK);
	CHECK(tree_find(&t, "a/b") != NULL && tree_find(&t, "a/c") == NULL);
	tree_release(&t);
}

TEST(directory_replaced_by_a_file_hides_its_children)
{
	struct tree t;
	struct ek_error err;

	tree_init(&t);
	add(&t, "d", TREE_DIR);
	add(&t, "d/x", TREE_REG);
	add(&t, "d/s", TREE_DIR);
	add(&t, "d/s/y", TREE_REG);
	add(&t, "e", TREE_DIR);
	add(&t, "e/keep", TREE_REG);
	add(&t, "d", TREE_REG);
	add(&t, "e", TREE_DIR); /* a later directory merges */
	add(&t, "e/new", TREE_REG);
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK_STR(paths(&t), "d e e/keep e/new");
	tree_release(&t);
}

TEST(hidden_children_stay_hidden)
{
	struct tree t;
	struct ek_error err;

	tree_init(&t);
	add(&t, "d", TREE_DIR);
	add(&t, "d/old", TREE_REG);
	add(&t, "d/sub", TREE_DIR);
	add(&t, "d/sub/deep", TREE_REG);
	add(&t, "d", TREE_LNK);   /* hides d/old, d/sub, d/sub/deep */
	add(&t, "d", TREE_DIR);   /* a new directory: empty */
	add(&t, "d/new", TREE_REG);
	add(&t, "d/sub/deeper", TREE_REG); /* under a missing parent */
	CHECK(tree_finish(&t, 7, &err) == 0);
	CHECK_STR(paths(&t), "d d/new d/sub d/sub/deeper");
	CHECK(tree_find(&t, "d/sub")->mtime == 7);
	CHECK(tree_find(&t, "d/sub")->mode == 0755);
	tree_release(&t);
}

TEST(entry_below_an_earlier_file_refused)
{
	struct tree t;
	struct ek_error err;

	tree_init(&t);
	add(&t, "etc", TREE_LNK);
	add(&t, "etc/passwd", TREE_REG);
	CHECK(tree_finish(&t, 0, &err) == EK_EFORMAT);
	CHECK_STR(err.msg, "'etc/passwd': 'etc' is not a directory");
	tree_release(&t);
}

TEST(missing_parents_added)
{
	struct tree t;
	struct ek_error err;

	tree_init(&t);
	add(&t, "a/b/c/file", TREE_REG);
	add(&t, "a/b/d", TREE_REG);
	add(&t, "a/b!", TREE_REG); /* sorts between a/b and its children */
	add(&t, "x/y", TREE_FIFO);
	add(&t, "a", TREE_DIR);
	CHECK(tree_finish(&t, 42, &err) == 0);
	CHECK_STR(paths(&t), "a a/b a/b! a/b/c a/b/c/file a/b/d x x/y");
	CHECK(tree_find(&t, "a")->mode == 0700);  /* given, kept */
	CHECK(tree_find(&t, "a/b/c")->mode == 0755);
	CHECK(tree_find(&t, "x")->mtime == 42);
	CHECK(tree_find(&t, "x")->uid == 0 && tree_find(&t, "x")->type == TREE_DIR);
	tree_release(&t);
}

/* tree_remove's callback: drop the paths in the NULL-terminated list
 * ctx, counting the calls (descendants of a dropped entry are not asked). */
static int remove_calls;

static bool drop_listed(const struct tree_entry *e, void *ctx)
{
	remove_calls++;
	for (const char *const *p = ctx; *p; p++)
		if (!strcmp(*p, e->path))
			return true;
	return false;
}

TEST(remove_takes_subtrees_and_keeps_the_tree_finished)
{
	static const char *const drop[] = { "a/b", "x", "l2", "zz", NULL };
	struct tree t;
	struct ek_error err;
	uint32_t g;

	tree_init(&t);
	g = tree_new_group(&t);
	add(&t, "a/b/c/d", TREE_REG);
	add(&t, "a/b/e", TREE_LNK);
	add(&t, "a/b-c", TREE_REG);  /* sorts between a/b and a/b/... */
	add(&t, "a/bb", TREE_REG);
	add(&t, "x", TREE_REG);
	add_linked(&t, "l1", g);
	add_linked(&t, "l2", g);
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK_STR(paths(&t), "a a/b a/b-c a/b/c a/b/c/d a/b/e a/bb l1 l2 x");
	remove_calls = 0;
	CHECK(tree_remove(&t, drop_listed, (void *)drop) == 3);
	CHECK_STR(paths(&t), "a a/b-c a/bb l1");
	CHECK(remove_calls == 7); /* a/b/c, a/b/c/d, a/b/e not asked */
	CHECK(tree_find(&t, "l1")->link_group == 0);
	CHECK(tree_find(&t, "a/bb") != NULL && tree_find(&t, "a/b") == NULL);
	CHECK(tree_remove(&t, drop_listed, (void *)drop) == 0);
	CHECK_STR(paths(&t), "a a/b-c a/bb l1");
	tree_release(&t);
}

TEST(link_groups_left_with_one_member_are_plain)
{
	struct tree t;
	struct ek_error err;
	uint32_t g1, g2, g3;

	tree_init(&t);
	g1 = tree_new_group(&t);
	g2 = tree_new_group(&t);
	g3 = tree_new_group(&t);
	add_linked(&t, "a1", g1);
	add_linked(&t, "a2", g1);
	add_linked(&t, "a3", g1);
	add_linked(&t, "b1", g2);
	add_linked(&t, "b2", g2);
	add_linked(&t, "lonely", g3);
	add(&t, "a1", TREE_REG);  /* a later input replaces one name */
	add(&t, "b2", TREE_REG);
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK(tree_find(&t, "a1")->link_group == 0);
	CHECK(tree_find(&t, "a2")->link_group == g1);
	CHECK(tree_find(&t, "a3")->link_group == g1);
	CHECK(tree_find(&t, "b1")->link_group == 0);
	CHECK(tree_find(&t, "b2")->link_group == 0);
	CHECK(tree_find(&t, "lonely")->link_group == 0);
	tree_release(&t);
}

TEST(empty_tree)
{
	struct tree t;
	struct ek_error err;

	tree_init(&t);
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK(t.n == 0 && tree_find(&t, "a") == NULL);
	tree_release(&t);
}

/* ---- scan ---- */

TEST(scan_two_folders_share_link_groups)
{
	const char *dir = mktemp_dir();
	char a[128], b[128], p[256], q[256];
	struct tree t;
	struct scan_opts o;
	struct ek_error err;

	CHECK(dir != NULL);
	if (!dir)
		return;
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	CHECK(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0);
	put_file(a, "one", "1");
	put_file(a, "solo", "s");
	snprintf(p, sizeof(p), "%s/one", a);
	snprintf(q, sizeof(q), "%s/one-too", b);
	CHECK(link(p, q) == 0);
	snprintf(q, sizeof(q), "%s/outside", dir);
	snprintf(p, sizeof(p), "%s/solo", a);
	CHECK(link(p, q) == 0);
	tree_init(&t);
	memset(&o, 0, sizeof(o));
	CHECK(scan_dir(&t, a, &o, &err) == 0);
	CHECK(scan_dir(&t, b, &o, &err) == 0);
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK_STR(paths(&t), "one one-too solo");
	CHECK(tree_find(&t, "one")->link_group != 0);
	CHECK(tree_find(&t, "one")->link_group ==
	      tree_find(&t, "one-too")->link_group);
	CHECK(tree_find(&t, "solo")->link_group == 0); /* other name outside */
	tree_release(&t);
	scan_opts_release(&o);
	rm_rf(dir);
}

TEST(scan_limits)
{
	const char *dir = mktemp_dir();
	char p[256];
	struct tree t;
	struct scan_opts o;
	struct ek_error err;
	struct timespec ts[2] = { { .tv_sec = -1 }, { .tv_sec = -1 } };
	int fd;

	CHECK(dir != NULL);
	if (!dir)
		return;
	/* the largest file newc holds (sparse): fine; one byte more: not */
	snprintf(p, sizeof(p), "%s/big", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)TREE_FILE_MAX) == 0);
	close(fd);
	tree_init(&t);
	memset(&o, 0, sizeof(o));
	CHECK(scan_dir(&t, dir, &o, &err) == 0);
	CHECK(t.n == 1 && t.e[0].size == TREE_FILE_MAX);
	tree_release(&t);
	CHECK(truncate(p, (off_t)TREE_FILE_MAX + 1) == 0);
	tree_init(&t);
	CHECK(scan_dir(&t, dir, &o, &err) == EK_ELIMIT);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "4 GiB"));
	tree_release(&t);
	CHECK(truncate(p, 1) == 0);
	/* an mtime newc cannot hold: only an error when it is kept */
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	tree_init(&t);
	CHECK(scan_dir(&t, dir, &o, &err) == 0);
	tree_release(&t);
	o.keep_mtimes = true;
	tree_init(&t);
	CHECK(scan_dir(&t, dir, &o, &err) == EK_EFORMAT);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "mtime -1"));
	tree_release(&t);
	scan_opts_release(&o);
	rm_rf(dir);
}

TEST(scan_file_spec_rules)
{
	const char *dir = mktemp_dir();
	char spec[512];
	struct tree t;
	struct scan_opts o;
	struct ek_error err;

	CHECK(dir != NULL);
	if (!dir)
		return;
	put_file(dir, "src", "data");
	memset(&o, 0, sizeof(o));
	tree_init(&t);
	snprintf(spec, sizeof(spec), "%s/src:/usr/bin/x:4755", dir);
	CHECK(scan_file_spec(&t, spec, &o, &err) == 0);
	snprintf(spec, sizeof(spec), "%s/src:/a:b", dir);
	CHECK(scan_file_spec(&t, spec, &o, &err) == 0);
	CHECK(t.n == 2 && t.e[0].mode == 04755 && t.e[0].size == 4);
	CHECK_STR(t.e[0].path, "usr/bin/x");
	CHECK_STR(t.e[1].path, "a:b");
	snprintf(spec, sizeof(spec), "%s/src:/x/../y", dir);
	CHECK(scan_file_spec(&t, spec, &o, &err) == EK_EUNSAFE);
	snprintf(spec, sizeof(spec), "%s/src:/x:10000", dir);
	CHECK(scan_file_spec(&t, spec, &o, &err) == EK_EINVAL);
	snprintf(spec, sizeof(spec), "%s:/x", dir);
	CHECK(scan_file_spec(&t, spec, &o, &err) == EK_EIO);
	CHECK(strstr(err.msg, "not a regular file") != NULL);
	CHECK(scan_file_spec(&t, "nocolon", &o, &err) == EK_EINVAL);
	CHECK(t.n == 2);
	CHECK(tree_finish(&t, 0, &err) == 0);
	CHECK_STR(paths(&t), "a:b usr usr/bin usr/bin/x");
	tree_release(&t);
	scan_opts_release(&o);
	rm_rf(dir);
}

/* ---- content opened beneath a held folder ---- */

/* The lowest free fd: the same before and after, when nothing leaked. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

static void mkpath(const char *dir, const char *name, char *buf, size_t cap)
{
	CHECK((size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap);
}

/* The first bytes of the file rel beneath d ("" if it cannot be opened,
 * errno kept). */
static const char *read_beneath(int d, const char *rel, bool *walk)
{
	static char buf[64];
	int fd = tree_open_beneath(d, rel, O_RDONLY | O_CLOEXEC, walk);
	ssize_t n;
	int e;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	e = errno;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = e;
	return buf;
}

TEST(open_beneath)
{
	static const char *const refused[] = {
		"", "/", "/etc/passwd", "../x", "a/../a/b/f", "a//b/f", "a/./b/f",
		"./a/b/f", "a/b/f/", "..",
	};
	const char *dir = mktemp_dir();
	char p[256], q[256];
	int d, free_fd = lowest_free_fd();

	CHECK(dir != NULL);
	if (!dir)
		return;
	mkpath(dir, "a", p, sizeof(p));
	CHECK(mkdir(p, 0755) == 0);
	mkpath(dir, "a/b", p, sizeof(p));
	CHECK(mkdir(p, 0755) == 0);
	put_file(dir, "a/b/f", "inside");
	put_file(dir, "a/file", "plain");
	mkpath(dir, "a/l", p, sizeof(p));
	CHECK(symlink("b", p) == 0);       /* stays inside, still refused */
	mkpath(dir, "a/lf", p, sizeof(p));
	CHECK(symlink("b/f", p) == 0);
	mkpath(dir, "a/etc", p, sizeof(p));
	CHECK(symlink("/etc", p) == 0);
	mkpath(dir, "a", p, sizeof(p));
	d = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(d >= 0);
	mkpath(dir, "a/b", q, sizeof(q));
	/* every case once with openat2 (where the kernel has it), once with
	 * the walk */
	for (int mode = 0; mode < 2; mode++) {
		bool walk = mode == 1;

		CHECK_STR(read_beneath(d, "b/f", &walk), "inside");
		CHECK_STR(read_beneath(d, "file", &walk), "plain");
		CHECK(walk == (mode == 1) || walk); /* only ever set */
		errno = 0;
		CHECK_STR(read_beneath(d, "l/f", &walk), "");
		CHECK(errno == ELOOP || errno == ENOTDIR);
		errno = 0;
		CHECK_STR(read_beneath(d, "lf", &walk), "");
		CHECK(errno == ELOOP);
		errno = 0;
		CHECK_STR(read_beneath(d, "etc/hostname", &walk), "");
		CHECK(errno == ELOOP || errno == ENOTDIR);
		errno = 0;
		CHECK_STR(read_beneath(d, "file/x", &walk), "");
		CHECK(errno == ENOTDIR);
		errno = 0;
		CHECK_STR(read_beneath(d, "b/none", &walk), "");
		CHECK(errno == ENOENT);
		for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
			errno = 0;
			CHECK(tree_open_beneath(d, refused[i], O_RDONLY, &walk) < 0);
			if (errno != EXDEV)
				fprintf(stderr, "  '%s' (mode %d): %s\n", refused[i],
					mode, strerror(errno));
			CHECK(errno == EXDEV);
		}
	}
	close(d);
	CHECK(lowest_free_fd() == free_fd); /* the walk closed what it opened */
	rm_rf(dir);
}

/* A scanned folder renamed away and replaced by a symlink: the tree holds
 * the root it scanned, its content is still what is read. */
TEST(scan_holds_its_root)
{
	const char *dir = mktemp_dir();
	char root[128], p[256], q[256];
	struct tree t;
	struct scan_opts o;
	struct ek_error err;
	struct tree_entry *e;
	bool walk = false;
	int free_fd = lowest_free_fd();

	CHECK(dir != NULL);
	if (!dir)
		return;
	mkpath(dir, "r", root, sizeof(root));
	CHECK(mkdir(root, 0755) == 0);
	mkpath(root, "zz", p, sizeof(p));
	CHECK(mkdir(p, 0755) == 0);
	put_file(root, "zz/f", "scanned");
	mkpath(dir, "out", p, sizeof(p));
	CHECK(mkdir(p, 0755) == 0);
	put_file(p, "f", "outside");
	tree_init(&t);
	memset(&o, 0, sizeof(o));
	CHECK(scan_dir(&t, root, &o, &err) == 0);
	CHECK(tree_finish(&t, 0, &err) == 0);
	e = tree_find(&t, "zz/f");
	CHECK(e != NULL && t.ndirs == 1);
	if (e) {
		mkpath(root, "zz/f", p, sizeof(p));
		CHECK_STR(e->src, p);            /* the host path, for messages */
		CHECK_STR(e->src + e->src_rel, "zz/f");
		CHECK(e->src_dir == t.dirs[0].fd);
		/* the root renamed, a symlink to outside in its place */
		mkpath(dir, "r.old", q, sizeof(q));
		CHECK(rename(root, q) == 0);
		mkpath(dir, "out", q, sizeof(q));
		CHECK(symlink(q, root) == 0);
		CHECK_STR(read_beneath(e->src_dir, e->src + e->src_rel, &walk),
			  "scanned");
		/* a folder below it: refused */
		mkpath(dir, "r.old/zz", p, sizeof(p));
		mkpath(dir, "r.old/zz.old", q, sizeof(q));
		CHECK(rename(p, q) == 0);
		mkpath(dir, "out", q, sizeof(q));
		CHECK(symlink(q, p) == 0);
		for (int mode = 0; mode < 2; mode++) {
			walk = mode == 1;
			errno = 0;
			CHECK_STR(read_beneath(e->src_dir, e->src + e->src_rel,
					       &walk), "");
			CHECK(errno == ELOOP || errno == ENOTDIR);
		}
	}
	tree_release(&t);
	scan_opts_release(&o);
	CHECK(lowest_free_fd() == free_fd); /* tree_release closed the root */
	rm_rf(dir);
}

/* --file: the folder of the resolved file is held, once per folder. */
TEST(file_spec_holds_its_folder)
{
	const char *dir = mktemp_dir();
	char spec[512], p[256], real[256];
	struct tree t;
	struct scan_opts o;
	struct ek_error err;
	bool walk = false;
	int free_fd = lowest_free_fd();

	CHECK(dir != NULL);
	if (!dir)
		return;
	put_file(dir, "one", "1");
	put_file(dir, "two", "2");
	mkpath(dir, "link", p, sizeof(p));
	CHECK(symlink("two", p) == 0);
	CHECK(realpath(dir, real) != NULL);
	memset(&o, 0, sizeof(o));
	tree_init(&t);
	snprintf(spec, sizeof(spec), "%s/one:/a", dir);
	CHECK(scan_file_spec(&t, spec, &o, &err) == 0);
	snprintf(spec, sizeof(spec), "%s/link:/b", dir); /* followed */
	CHECK(scan_file_spec(&t, spec, &o, &err) == 0);
	CHECK(t.n == 2 && t.ndirs == 1);
	if (t.n == 2) {
		mkpath(real, "two", p, sizeof(p));
		CHECK_STR(t.e[1].src, p);
		CHECK_STR(t.e[1].src + t.e[1].src_rel, "two");
		CHECK(t.e[0].src_dir == t.e[1].src_dir);
		CHECK_STR(read_beneath(t.e[0].src_dir, t.e[0].src +
				       t.e[0].src_rel, &walk), "1");
		CHECK_STR(read_beneath(t.e[1].src_dir, t.e[1].src +
				       t.e[1].src_rel, &walk), "2");
	}
	tree_release(&t);
	scan_opts_release(&o);
	CHECK(lowest_free_fd() == free_fd);
	rm_rf(dir);
}

/* One handle per level is open during a scan: folders nested deeper than
 * the limit of open files are a clean error, and nothing leaks. */
TEST(scan_deeper_than_the_fd_limit)
{
	const char *dir = mktemp_dir();
	struct rlimit old, low;
	struct tree t;
	struct scan_opts o;
	struct ek_error err;
	int free_fd = lowest_free_fd(), fd, r;

	CHECK(dir != NULL && getrlimit(RLIMIT_NOFILE, &old) == 0);
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < 60 && fd >= 0; i++) {
		int next;

		CHECK(mkdirat(fd, "d", 0755) == 0);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = next;
	}
	CHECK(fd >= 0);
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)free_fd + 40;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	tree_init(&t);
	memset(&o, 0, sizeof(o));
	r = scan_dir(&t, dir, &o, &err);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CHECK(r == EK_ELIMIT);
	CHECK(strstr(err.msg, "/d/d/d") && strstr(err.msg, "nested deeper than "
						 "the limit of open files"));
	tree_release(&t);
	CHECK(lowest_free_fd() == free_fd);
	/* with the limit back, the same tree is fine */
	tree_init(&t);
	CHECK(scan_dir(&t, dir, &o, &err) == 0);
	CHECK(t.n == 60);
	tree_release(&t);
	scan_opts_release(&o);
	rm_rf(dir);
}

int main(void)
{
	RUN(normalise_accepts);
	RUN(normalise_refuses);
	RUN(normalise_length_limit);
	RUN(sorted_by_bytes_later_wins);
	RUN(directory_replaced_by_a_file_hides_its_children);
	RUN(hidden_children_stay_hidden);
	RUN(entry_below_an_earlier_file_refused);
	RUN(missing_parents_added);
	RUN(link_groups_left_with_one_member_are_plain);
	RUN(remove_takes_subtrees_and_keeps_the_tree_finished);
	RUN(empty_tree);
	RUN(scan_two_folders_share_link_groups);
	RUN(scan_limits);
	RUN(scan_file_spec_rules);
	RUN(open_beneath);
	RUN(scan_holds_its_root);
	RUN(file_spec_holds_its_folder);
	RUN(scan_deeper_than_the_fd_limit);
	return unit_done();
}
