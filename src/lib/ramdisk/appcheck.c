#include "base/internal.h"

#include <stdio.h>

#include "base/strbuf.h"
#include "ramdisk/appcheck.h"

#define MAX_LINKS 40     /* symlinks on one lookup: the kernel's limit */
#define MAX_SCRIPTS 4    /* nested #! interpreters: BINPRM_MAX_RECURSION */
#define HEAD 256         /* bytes of a #! line the kernel reads */
#define EM_X86_64 62
#define EM_AARCH64 183
#define PT_INTERP 3

struct ctx {
	const struct tree *t;
	const struct app_check *c;
	struct ek_error *err;
};

static const char *machine(unsigned m)
{
	return m == EM_X86_64 ? "x86_64" : m == EM_AARCH64 ? "aarch64" : NULL;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The entry at the app's path p (relative to the app's root, no leading
 * '/'), or NULL for the root folder itself. */
static const struct tree_entry *find(struct ctx *x, const char *p, bool *root)
{
	struct strbuf sb;
	const struct tree_entry *e;

	*root = !*p;
	if (*root && !*x->c->root)
		return NULL;
	strbuf_init(&sb);
	strbuf_addstr(&sb, x->c->root);
	if (*x->c->root && *p)
		strbuf_addch(&sb, '/');
	strbuf_addstr(&sb, p);
	e = strbuf_ok(&sb) ? tree_find(x->t, sb.buf) : NULL;
	strbuf_release(&sb);
	*root = false;
	return e;
}

/* Resolve the absolute path `path` in the image, following symlinks inside
 * it (also in the last component). *ret is the entry, or NULL for "/".
 * Returns 0; 1 with *why set when there is no such file ("not in the
 * image", ...); or a negative error. */
static int resolve(struct ctx *x, const char *path, const struct tree_entry **ret,
		   bool *is_root, const char **why)
{
	struct strbuf left, cur, cand;
	int links = 0, r = 0;

	strbuf_init(&left);
	strbuf_init(&cur);
	strbuf_init(&cand);
	strbuf_addstr(&left, path);
	*ret = NULL;
	*is_root = true;
	while (r == 0 && left.len) {
		size_t lead = strspn(left.buf, "/"), n;
		const struct tree_entry *e;
		bool root;
		char *rest;

		n = strcspn(left.buf + lead, "/");
		rest = left.buf + lead + n;
		if (n == 0)
			break;
		if (n == 1 && left.buf[lead] == '.') {
			memmove(left.buf, rest, strlen(rest) + 1);
			left.len = strlen(left.buf);
			continue;
		}
		if (n == 2 && !strncmp(left.buf + lead, "..", 2)) {
			char *slash = strrchr(cur.buf, '/');

			cur.len = slash ? (size_t)(slash - cur.buf) : 0;
			cur.buf[cur.len] = '\0';
			memmove(left.buf, rest, strlen(rest) + 1);
			left.len = strlen(left.buf);
			continue;
		}
		cand.len = 0;
		strbuf_add(&cand, cur.buf, cur.len);
		if (cur.len)
			strbuf_addch(&cand, '/');
		strbuf_add(&cand, left.buf + lead, n);
		if (!strbuf_ok(&cand) || !strbuf_ok(&left)) {
			r = ek_fail(x->err, EK_ENOMEM, "out of memory");
			break;
		}
		e = find(x, cand.buf, &root);
		if (!e) {
			*why = "not in the image";
			r = 1;
		} else if (e->type == TREE_LNK) {
			struct strbuf next;

			if (++links > MAX_LINKS) {
				*why = "too many levels of symbolic links";
				r = 1;
				break;
			}
			strbuf_init(&next);
			strbuf_addstr(&next, e->link);
			strbuf_addch(&next, '/');
			strbuf_addstr(&next, rest);
			if (e->link[0] == '/') {
				cur.len = 0;
				cur.buf[0] = '\0';
			}
			strbuf_release(&left);
			left = next;
		} else if (*rest && strspn(rest, "/") != strlen(rest) &&
			   e->type != TREE_DIR) {
			*why = "a file where a folder should be on the way";
			r = 1;
		} else {
			strbuf_release(&cur);
			strbuf_init(&cur);
			strbuf_addstr(&cur, cand.buf);
			memmove(left.buf, rest, strlen(rest) + 1);
			left.len = strlen(left.buf);
			*ret = e;
			*is_root = false;
		}
	}
	if (r == 0 && !strbuf_ok(&cur))
		r = ek_fail(x->err, EK_ENOMEM, "out of memory");
	strbuf_release(&left);
	strbuf_release(&cur);
	strbuf_release(&cand);
	return r;
}

/* path made absolute against the working folder */
static char *absolute(struct ctx *x, const char *p)
{
	const char *wd = x->c->workdir && *x->c->workdir ? x->c->workdir : "/";
	char *out;

	if (p[0] == '/')
		return strdup(p);
	return asprintf(&out, "%s/%s", wd, p) < 0 ? NULL : out;
}

static int check_file(struct ctx *x, const char *path, const char *what,
		      int depth);

static int check_elf(struct ctx *x, const struct tree_entry *e,
		     const char *path, const char *what, const uint8_t *h,
		     size_t n)
{
	const char *want = x->c->arm64 ? "aarch64" : "x86_64", *have;
	uint64_t phoff;
	uint16_t phentsize, phnum;

	if (n < 64 || h[4] != 2)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): a 32-bit ELF, the "
			       "image is %s", path, what, want);
	if (h[5] != 1)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): a big-endian ELF, "
			       "the image is %s", path, what, want);
	have = machine(rd16(h + 18));
	if (!have || strcmp(have, want))
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): ELF for %s, the "
			       "image is %s", path, what, have ? have :
			       "another CPU", want);
	phoff = rd64(h + 32);
	phentsize = rd16(h + 54);
	phnum = rd16(h + 56);
	if (phentsize < 56 || phnum > 1024)
		return 0; /* the kernel decides; nothing we can follow */
	for (uint16_t i = 0; i < phnum; i++) {
		uint8_t ph[56];
		char interp[4097];
		uint64_t off, size;
		ssize_t r = tree_entry_pread(e, ph, sizeof(ph),
					     phoff + (uint64_t)i * phentsize,
					     x->err);

		if (r < 0)
			return (int)r;
		if (r < (ssize_t)sizeof(ph) || (ph[0] | ph[1] << 8) != PT_INTERP)
			continue;
		off = rd64(ph + 8);
		size = rd64(ph + 32);
		if (size < 2 || size > sizeof(interp) - 1)
			return ek_fail(x->err, EK_EINVAL, "'%s' (%s): a PT_INTERP "
				       "of %llu bytes", path, what,
				       (unsigned long long)size);
		r = tree_entry_pread(e, interp, size, off, x->err);
		if (r < 0)
			return (int)r;
		interp[r] = '\0';
		if ((size_t)r != size || strlen(interp) != size - 1)
			return ek_fail(x->err, EK_EINVAL, "'%s' (%s): a broken "
				       "PT_INTERP", path, what);
		return check_file(x, interp, "its ELF interpreter", MAX_SCRIPTS);
	}
	return 0;
}

/* The #! line: the interpreter is its first word. */
static int check_script(struct ctx *x, const char *path, const char *what,
			const uint8_t *h, size_t n, int depth)
{
	char line[HEAD + 1], *p, *end, *abs;
	int r;

	memcpy(line, h + 2, n - 2);
	line[n - 2] = '\0';
	line[strcspn(line, "\n")] = '\0';
	p = line + strspn(line, " \t");
	end = p + strcspn(p, " \t");
	*end = '\0';
	if (!*p)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): a #! line with no "
			       "interpreter", path, what);
	if (depth + 1 >= MAX_SCRIPTS)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): #! interpreters "
			       "nested more than %d deep", path, what, MAX_SCRIPTS);
	abs = absolute(x, p);
	if (!abs)
		return ek_fail(x->err, EK_ENOMEM, "out of memory");
	{
		char whatbuf[300];

		snprintf(whatbuf, sizeof(whatbuf), "the #! interpreter of %s",
			 path);
		r = check_file(x, abs, whatbuf, depth + 1);
	}
	free(abs);
	return r;
}

/* path (absolute, in the image) must be a regular executable file that
 * the kernel can run on this CPU. depth counts #! levels; MAX_SCRIPTS
 * means an ELF interpreter, which must be an ELF. */
static int check_file(struct ctx *x, const char *path, const char *what,
		      int depth)
{
	const struct tree_entry *e;
	const char *why = NULL;
	uint8_t h[HEAD];
	bool root;
	ssize_t n;
	int r = resolve(x, path, &e, &root, &why);

	if (r < 0)
		return r;
	if (r > 0)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): %s", path, what, why);
	if (root || e->type == TREE_DIR)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): a folder", path, what);
	if (e->type != TREE_REG)
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): not a regular file",
			       path, what);
	if (!(e->mode & 0111))
		return ek_fail(x->err, EK_EINVAL, "'%s' (%s): not executable "
			       "(mode %04o)", path, what, e->mode & 07777);
	n = tree_entry_pread(e, h, sizeof(h), 0, x->err);
	if (n < 0)
		return (int)n;
	if (n >= 4 && !memcmp(h, "\x7f" "ELF", 4))
		return check_elf(x, e, path, what, h, (size_t)n);
	if (depth < MAX_SCRIPTS && n >= 2 && h[0] == '#' && h[1] == '!')
		return check_script(x, path, what, h, (size_t)n, depth);
	return ek_fail(x->err, EK_EINVAL, "'%s' (%s): %s", path, what,
		       depth == MAX_SCRIPTS ? "not an ELF file" :
		       "neither an ELF executable nor a #! script");
}

static const char *app_path(const struct app_check *c)
{
	const char *path = NULL;

	for (size_t i = 0; i < c->envc; i++)
		if (!strncmp(c->env[i], "PATH=", 5))
			path = c->env[i] + 5;
	return path ? path : APP_DEFAULT_PATH;
}

/* The command as the init runs it: a name with a '/' as it is (relative
 * to the working folder), else the first PATH entry that holds a regular
 * executable file, as execvp tries them. */
static int check_command(struct ctx *x)
{
	const char *cmd = x->c->argv[0], *path = app_path(x->c), *dir;
	struct strbuf cand;
	int r = 1;

	if (strchr(cmd, '/')) {
		char *abs = absolute(x, cmd);

		if (!abs)
			return ek_fail(x->err, EK_ENOMEM, "out of memory");
		r = check_file(x, abs, "the command", 0);
		free(abs);
		return r;
	}
	strbuf_init(&cand);
	for (dir = path;; dir += strcspn(dir, ":") + 1) {
		size_t n = strcspn(dir, ":");
		const struct tree_entry *e;
		const char *why;
		bool root;
		char *abs;

		cand.len = 0;
		strbuf_add(&cand, dir, n);
		if (n)
			strbuf_addch(&cand, '/');
		strbuf_addstr(&cand, cmd);
		abs = strbuf_ok(&cand) ? absolute(x, cand.buf) : NULL;
		if (!abs) {
			r = ek_fail(x->err, EK_ENOMEM, "out of memory");
			break;
		}
		r = resolve(x, abs, &e, &root, &why);
		if (r == 0 && !root && e->type == TREE_REG && (e->mode & 0111))
			r = check_file(x, abs, "the command", 0);
		else if (r == 0)
			r = 1; /* not runnable here: on to the next entry */
		free(abs);
		if (r <= 0 || !dir[n])
			break;
	}
	strbuf_release(&cand);
	if (r == 1)
		r = ek_fail(x->err, EK_EINVAL, "'%s' (the command): no executable "
			    "file of that name in the app's PATH (%s)", cmd, path);
	return r;
}

int app_check(const struct tree *t, const struct app_check *c,
	      struct ek_error *err)
{
	struct ctx x = { .t = t, .c = c, .err = err };
	const struct tree_entry *e;
	const char *why = NULL;
	bool root;
	int r;

	if (c->workdir && *c->workdir) {
		r = resolve(&x, c->workdir, &e, &root, &why);
		if (r < 0)
			return r;
		if (r > 0 || (!root && e->type != TREE_DIR))
			return ek_fail(err, EK_EINVAL, "'%s' (the working folder): "
				       "%s", c->workdir, r > 0 ? why :
				       "not a folder");
	}
	if (c->argc == 0)
		return 0; /* nothing to run: the build says so itself */
	return check_command(&x);
}
