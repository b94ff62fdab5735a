#include "base/internal.h"

#include <sys/stat.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "ramdisk/layout.h"
#include "ramdisk/scan.h"

static int push_member(struct ramdisk *rd, const char *prefix,
		       const struct tree_entry *e, size_t cap)
{
	if (rd->n == cap)
		return -1;
	rd->members[rd->n].prefix = prefix;
	rd->members[rd->n].e = e;
	rd->n++;
	return 0;
}

static int alloc_members(struct ramdisk *rd, size_t cap, struct ek_error *err)
{
	rd->members = calloc(cap ? cap : 1, sizeof(*rd->members));
	rd->n = 0;
	return rd->members ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");
}

/* Add an entry the layout itself owns. */
static int own_add(struct ramdisk *rd, const char *path, enum tree_type type,
		   uint32_t mode, int64_t mtime, struct tree_entry **ret,
		   struct ek_error *err)
{
	struct tree_entry e;
	int r;

	memset(&e, 0, sizeof(e));
	e.path = strdup(path);
	if (!e.path)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	e.type = type;
	e.mode = mode;
	e.mtime = mtime;
	r = tree_add(&rd->own, &e, err);
	if (r) {
		free(e.path);
		return r;
	}
	if (ret)
		*ret = &rd->own.e[rd->own.n - 1];
	return 0;
}

static int own_file(struct ramdisk *rd, const char *path, const char *src,
		    struct ek_error *err)
{
	struct tree_entry *e;
	struct stat st;
	int r;

	if (stat(src, &st) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", src);
	if (!S_ISREG(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': not a regular file", src);
	if ((uint64_t)st.st_size > TREE_FILE_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': 4 GiB or larger", src);
	r = own_add(rd, path, TREE_REG, 0755, LAYOUT_SYSTEM_MTIME, &e, err);
	if (r)
		return r;
	e->size = (uint64_t)st.st_size;
	/* resolved (nitro-cli's sample blob folders are symlinks), and read
	 * later from the folder it is in, as the rootfs files are */
	return scan_host_file(&rd->own, e, src, &st, "", err);
}

int ramdisk_system(struct ramdisk *rd, const char *init_path,
		   const char *nsm_path, struct ek_error *err)
{
	int r;

	memset(rd, 0, sizeof(*rd));
	tree_init(&rd->own);
	if ((r = own_add(rd, "dev", TREE_DIR, 0755, LAYOUT_SYSTEM_MTIME, NULL,
			 err)) ||
	    (r = own_file(rd, "init", init_path, err)) ||
	    (nsm_path && (r = own_file(rd, "nsm.ko", nsm_path, err))) ||
	    (r = alloc_members(rd, rd->own.n, err)))
		return r;
	for (size_t i = 0; i < rd->own.n; i++)
		push_member(rd, "", &rd->own.e[i], rd->own.n);
	rd->groups = 0;
	return 0;
}

int layout_lines(const char *what, const char *const *items, size_t n,
		 int need_eq, uint8_t **ret, size_t *len_ret,
		 struct ek_error *err)
{
	struct strbuf sb;

	strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(items[i], '=');

		if (strchr(items[i], '\n')) {
			strbuf_release(&sb);
			return ek_fail(err, EK_EINVAL, "%s '%s': a newline cannot "
				       "be written to %s", what, items[i], what);
		}
		if (need_eq && (!eq || eq == items[i])) {
			strbuf_release(&sb);
			return ek_fail(err, EK_EINVAL, "%s '%s': not KEY=VALUE",
				       what, items[i]);
		}
		strbuf_addstr(&sb, items[i]);
		strbuf_addch(&sb, '\n');
	}
	if (!strbuf_ok(&sb))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	*ret = (uint8_t *)strbuf_detach(&sb, len_ret);
	return *ret ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");
}

static int own_data(struct ramdisk *rd, const char *name, const char *what,
		    const char *const *items, size_t n, int need_eq,
		    int64_t mtime, struct ek_error *err)
{
	struct tree_entry *e;
	uint8_t *data;
	size_t len;
	int r = layout_lines(what, items, n, need_eq, &data, &len, err);

	if (r)
		return r;
	r = own_add(rd, name, TREE_REG, 0644, mtime, &e, err);
	if (r) {
		free(data);
		return r;
	}
	e->data = data;
	e->size = len;
	return 0;
}

static const char *const required_dirs[] = {
	"dev", "proc", "run", "sys", "tmp", "var",
};

/* The layout's own entries: rootfs, the missing required dirs, and the
 * files at the top. Added first so that pointers into own stay valid. */
static int user_own(struct ramdisk *rd, const struct tree *t,
		    const struct app_config *app, int64_t mtime,
		    struct ek_error *err)
{
	int r = own_add(rd, "rootfs", TREE_DIR, 0755, mtime, NULL, err);

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(required_dirs); i++) {
		const struct tree_entry *e = tree_find(t, required_dirs[i]);

		if (e && e->type != TREE_DIR)
			return ek_fail(err, EK_EFORMAT, "'/%s': must be a "
				       "directory in the root filesystem (the "
				       "enclave's init mounts on it)",
				       required_dirs[i]);
		if (!e)
			r = own_add(rd, required_dirs[i], TREE_DIR, 0755, mtime,
				    NULL, err);
	}
	if (r == 0)
		r = own_data(rd, "cmd", "cmd", app->argv, app->argc, 0, mtime, err);
	if (r == 0)
		r = own_data(rd, "env", "env", app->env, app->envc, 1, mtime, err);
	if (r == 0 && app->workdir)
		r = own_data(rd, "workdir", "workdir", &app->workdir, 1, 0,
			     mtime, err);
	return r;
}

int ramdisk_user(struct ramdisk *rd, const struct tree *t,
		 const struct app_config *app, int64_t mtime,
		 struct ek_error *err)
{
	size_t nreq, i = 0, j = 1, cap;
	int r;

	memset(rd, 0, sizeof(*rd));
	tree_init(&rd->own);
	if (app->argc == 0)
		return ek_fail(err, EK_EINVAL, "no command to run: give "
			       "--entrypoint or a command after --");
	if ((r = user_own(rd, t, app, mtime, err)))
		return r;
	/* own: rootfs, the added required dirs (sorted), cmd, env[, workdir] */
	nreq = rd->own.n - 3 - (app->workdir ? 1 : 0);
	cap = t->n + rd->own.n;
	if ((r = alloc_members(rd, cap, err)))
		return r;
	push_member(rd, "", &rd->own.e[0], cap);
	while (i < t->n || j <= nreq) { /* merge two sorted lists */
		if (j > nreq || (i < t->n &&
				 strcmp(t->e[i].path, rd->own.e[j].path) < 0))
			push_member(rd, "rootfs/", &t->e[i++], cap);
		else
			push_member(rd, "rootfs/", &rd->own.e[j++], cap);
	}
	for (j = nreq + 1; j < rd->own.n; j++)
		push_member(rd, "", &rd->own.e[j], cap);
	rd->groups = t->next_group;
	return 0;
}

int ramdisk_plain(struct ramdisk *rd, const struct tree *t,
		  struct ek_error *err)
{
	int r;

	memset(rd, 0, sizeof(*rd));
	tree_init(&rd->own);
	if ((r = alloc_members(rd, t->n, err)))
		return r;
	for (size_t i = 0; i < t->n; i++)
		push_member(rd, "", &t->e[i], t->n);
	rd->groups = t->next_group;
	return 0;
}

int ramdisk_open(struct ramdisk *rd, struct ek_error *err)
{
	return cpio_writer_new(rd->members, rd->n, rd->groups, &rd->w, err);
}

void ramdisk_release(struct ramdisk *rd)
{
	cpio_writer_free(rd->w);
	free(rd->members);
	tree_release(&rd->own);
	memset(rd, 0, sizeof(*rd));
}
