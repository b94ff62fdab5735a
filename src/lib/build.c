/* build.c: the build plan (build.h): inputs -> one finished tree, and the
 * app's argv, environment and folder as nitro-cli and docker mean them. */
#include "base/internal.h"

#include <sys/stat.h>

#include <fnmatch.h>
#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "build.h"
#include "image/blobstore.h"

/* Files that package managers and tools fill with the time of the build
 * (or with randomness), so that two builds of one image from the same
 * sources and package versions differ in them. Each is here on evidence
 * (docs/eifkit-build.md, "Making an image reproducible"): dpkg and apt
 * write a timestamp on every line or transaction; ldconfig's aux-cache
 * records the libraries' inode numbers and ctimes; the machine ids are
 * random by definition (machine-id(5), dbus-uuidgen(1)). */
const char *const build_volatile[] = {
	"var/log/dpkg.log",
	"var/log/apt/history.log",
	"var/log/apt/term.log",
	"var/cache/ldconfig/aux-cache",
	"etc/machine-id",
	"var/lib/dbus/machine-id",
};
const size_t build_nvolatile = ARRAY_SIZE(build_volatile);

/* Private to build_plan_run: which entries came from the image (their
 * insertion numbers, tree.h's seq), for the default mtime policy. */
struct run {
	const struct build_plan *p;
	struct build_result *res;
	uint64_t img_lo, img_hi;
	char **pat;              /* normalised --exclude, then build_volatile */
	size_t npat;
	bool *hit;
	bool nomem;
};

/* "PATH[:REF]": the whole string when it names a file; else split at the
 * first ':' whose left side names a file (a REF such as "app:1.0" holds a
 * ':' of its own, a path may too); else at the first ':', as skopeo does. */
static int split_ref(const char *arg, char **path, char **ref)
{
	const char *colon = NULL;

	*ref = NULL;
	if (access(arg, F_OK) != 0) {
		for (const char *c = strchr(arg, ':'); c && !colon;
		     c = strchr(c + 1, ':')) {
			char *p = strndup(arg, (size_t)(c - arg));

			if (!p)
				return -1;
			if (access(p, F_OK) == 0)
				colon = c;
			free(p);
		}
		if (!colon)
			colon = strchr(arg, ':');
	}
	if (!colon || colon == arg || !colon[1]) {
		*path = strdup(arg);
		return *path ? 0 : -1;
	}
	*path = strndup(arg, (size_t)(colon - arg));
	*ref = strdup(colon + 1);
	return *path && *ref ? 0 : -1;
}

static int load_image(const struct build_plan *p, const struct build_input *in,
		      struct run *run, struct ek_error *err)
{
	struct build_result *res = run->res;
	enum oci_kind kind = in->kind == BUILD_OCI_LAYOUT ? OCI_LAYOUT :
			     in->kind == BUILD_OCI_ARCHIVE ? OCI_ARCHIVE :
							     DOCKER_ARCHIVE;
	struct blobstore *bs = NULL;
	char *path, *ref;
	int r;

	if (res->have_image)
		return ek_fail(err, EK_EINVAL, "only one container image can be "
			       "given");
	if (split_ref(in->arg, &path, &ref))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r = blobstore_open(kind == OCI_LAYOUT ? 'd' : 't', path, p->tmpdir,
			   &bs, err);
	if (r == 0)
		r = oci_resolve(bs, kind, ref, p->goarch ? p->goarch : "amd64",
				&res->image, err);
	res->have_image = r == 0;
	if (r == 0 && res->stage.fd < 0)
		r = stage_open(&res->stage, p->tmpdir, err);
	run->img_lo = res->tree.next_seq;
	for (size_t i = 0; r == 0 && i < res->image.nlayers; i++)
		r = layer_apply(&res->tree, &res->stage, bs,
				&res->image.layers[i], &res->lopts, err);
	run->img_hi = res->tree.next_seq;
	blobstore_free(bs);
	free(path);
	free(ref);
	return r;
}

/* The inputs' mtimes are read as they are and the policy is applied once
 * the tree is final (apply_mtimes): the report must see both. Only an
 * explicit keep checks the range while scanning, naming the host file. */
static int scan_inputs(struct run *run, struct ek_error *err)
{
	const struct build_plan *p = run->p;
	struct build_result *res = run->res;
	size_t nx = 0;
	int r = 0;

	res->scan.keep_owners = p->keep_owners;
	res->scan.keep_mtimes = true;
	res->scan.mtime_any = p->mtime_policy != BUILD_MTIME_KEEP;
	res->scan.mtime = p->mtime;
	res->lopts.keep_mtimes = true;
	res->lopts.mtime = p->mtime;
	for (size_t i = 0; r == 0 && i < p->ninputs; i++) {
		const struct build_input *in = &p->inputs[i];

		if (in->kind == BUILD_ROOTFS)
			r = scan_dir(&res->tree, in->arg, &res->scan, err);
		else if (in->kind == BUILD_FILE)
			r = scan_file_spec(&res->tree, in->arg, &res->scan, err);
		else
			r = load_image(p, in, run, err);
	}
	res->sockets = res->scan.sockets;
	res->first_socket = res->scan.first_socket;
	res->xattr_files = res->scan.xattr_files + res->lopts.xattr_files;
	for (size_t i = 0; i < res->lopts.xattr_files && nx < 3 && i < 3; i++)
		res->xattr_first[nx++] = res->lopts.xattr_first[i];
	for (size_t i = 0; i < res->scan.xattr_files && nx < 3 && i < 3; i++)
		res->xattr_first[nx++] = res->scan.xattr_first[i];
	return r ? r : tree_finish(&res->tree, p->mtime, err);
}

/* ---- --exclude, --exclude-volatile ---- */

static int prepare_excludes(struct run *run, struct ek_error *err)
{
	const struct build_plan *p = run->p;
	size_t n = p->nexclude + (p->exclude_volatile ? build_nvolatile : 0);

	run->pat = calloc(n + 1, sizeof(*run->pat));
	run->hit = calloc(n + 1, sizeof(*run->hit));
	if (!run->pat || !run->hit)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nexclude; i++) {
		int r = tree_path_normalise(p->exclude[i], &run->pat[i], err);

		if (r) {
			ek_error_prefix(err, "--exclude '%s'", p->exclude[i]);
			return r;
		}
		run->npat++;
	}
	for (size_t i = 0; p->exclude_volatile && i < build_nvolatile; i++)
		if (!(run->pat[run->npat++] = strdup(build_volatile[i])))
			return ek_fail(err, EK_ENOMEM, "out of memory");
	return 0;
}

static bool exclude_drop(const struct tree_entry *e, void *ctx)
{
	struct run *run = ctx;
	struct build_result *res = run->res;
	bool drop = false;
	char **nv, *path;

	for (size_t i = 0; i < run->npat; i++)
		if (fnmatch(run->pat[i], e->path, FNM_PATHNAME) == 0)
			drop = run->hit[i] = true;
	if (!drop)
		return false;
	nv = realloc(res->excluded, (res->nexcluded + 1) * sizeof(*nv));
	if (!nv || asprintf(&path, "/%s", e->path) < 0) {
		if (nv)
			res->excluded = nv;
		run->nomem = true;
		return false;
	}
	res->excluded = nv;
	res->excluded[res->nexcluded++] = path;
	return true;
}

static int apply_excludes(struct run *run, struct ek_error *err)
{
	struct build_result *res = run->res;
	const struct build_plan *p = run->p;

	if (!run->npat)
		return 0;
	if (tree_remove(&res->tree, exclude_drop, run) < 0 || run->nomem)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	res->unmatched = calloc(p->nexclude + 1, sizeof(*res->unmatched));
	if (!res->unmatched)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nexclude; i++)
		if (!run->hit[i])
			res->unmatched[res->nunmatched++] = p->exclude[i];
	return 0;
}

/* ---- mtimes and the reproducibility report ---- */

static bool from_image(const struct run *run, const struct tree_entry *e)
{
	return e->seq >= run->img_lo && e->seq < run->img_hi;
}

static int64_t new_mtime(const struct run *run, const struct tree_entry *e)
{
	const struct build_plan *p = run->p;
	enum build_mtime m = p->mtime_policy;

	if (m == BUILD_MTIME_DEFAULT)
		m = from_image(run, e) ? BUILD_MTIME_CLAMP : BUILD_MTIME_ZERO;
	if (m == BUILD_MTIME_ZERO)
		return p->mtime;
	if (m == BUILD_MTIME_CLAMP && p->have_epoch && e->mtime > p->mtime)
		return p->mtime;
	return e->mtime;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* The source of D/__pycache__/M.TAG.pyc: D/M.py (PEP 3147). Python 3
 * ignores a legacy D/M.pyc while D/M.py exists, so those are not looked
 * at. */
static struct tree_entry *pyc_source(const struct tree *t, const char *pyc)
{
	const char *base = strrchr(pyc, '/');
	size_t dlen = base ? (size_t)(base - pyc) : 0;
	const char *name = base ? base + 1 : pyc;
	struct tree_entry *src;
	char *path;

	if (dlen < 11 || strncmp(pyc + dlen - 11, "__pycache__", 11) ||
	    (dlen > 11 && pyc[dlen - 12] != '/'))
		return NULL;
	dlen = dlen > 11 ? dlen - 12 : 0;
	if (asprintf(&path, "%.*s%s%.*s.py", (int)dlen, pyc, dlen ? "/" : "",
		     (int)strcspn(name, "."), name) < 0)
		return NULL;
	src = tree_find(t, path);
	free(path);
	return src && src->type == TREE_REG ? src : NULL;
}

/* A timestamp-based .pyc (PEP 552 flags 0) records its source's mtime and
 * size; it is stale-to-be when it matches the source as it is in the input
 * and the policy changes that mtime: Python would recompile it at every
 * boot, into RAM. */
static bool pyc_goes_stale(const struct run *run, const struct tree_entry *e,
			   struct build_note *n)
{
	size_t len = strlen(e->path);
	struct tree_entry *src;
	struct ek_error ignored;
	uint8_t h[16];

	if (e->type != TREE_REG || len < 4 || strcmp(e->path + len - 4, ".pyc") ||
	    e->size < sizeof(h))
		return false;
	src = pyc_source(&run->res->tree, e->path);
	if (!src)
		return false;
	n->was = src->mtime;
	n->now = new_mtime(run, src);
	if ((uint32_t)n->was == (uint32_t)n->now)
		return false;
	if (tree_entry_pread(e, h, sizeof(h), 0, &ignored) != (ssize_t)sizeof(h))
		return false;
	if (h[2] != '\r' || h[3] != '\n' || le32(h + 4) != 0 ||
	    le32(h + 8) != (uint32_t)n->was || le32(h + 12) != (uint32_t)src->size)
		return false;
	n->kind = BUILD_NOTE_PYC;
	n->path = e->path;
	n->source = src->path;
	return true;
}

static bool is_volatile(const char *path)
{
	for (size_t i = 0; i < build_nvolatile; i++)
		if (fnmatch(build_volatile[i], path, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static int report(struct run *run, struct ek_error *err)
{
	struct build_result *res = run->res;
	size_t cap = 0;

	for (size_t i = 0; i < res->tree.n; i++) {
		const struct tree_entry *e = &res->tree.e[i];
		struct build_note n;

		memset(&n, 0, sizeof(n));
		if (!run->p->exclude_volatile && is_volatile(e->path)) {
			n.kind = BUILD_NOTE_VOLATILE;
			n.path = e->path;
		} else if (!pyc_goes_stale(run, e, &n)) {
			continue;
		}
		if (res->nnotes == cap) {
			struct build_note *nv = ek_grow(res->notes, res->nnotes,
							&cap, sizeof(*nv), 16);

			if (!nv)
				return ek_fail(err, EK_ENOMEM, "out of memory");
			res->notes = nv;
		}
		res->notes[res->nnotes++] = n;
	}
	return 0;
}

static int apply_mtimes(struct run *run, struct ek_error *err)
{
	struct tree *t = &run->res->tree;

	for (size_t i = 0; i < t->n; i++) {
		struct tree_entry *e = &t->e[i];

		e->mtime = new_mtime(run, e);
		if (e->mtime >= 0 && e->mtime <= (int64_t)TREE_MTIME_MAX)
			continue;
		if (e->src)
			return ek_fail(err, EK_EFORMAT, "'%s': mtime %lld is "
				       "outside what newc holds (0 to %llu)",
				       e->src, (long long)e->mtime,
				       (unsigned long long)TREE_MTIME_MAX);
		return ek_fail(err, EK_EFORMAT, "'/%s': mtime %lld is outside "
			       "what newc holds (0 to %llu)", e->path,
			       (long long)e->mtime,
			       (unsigned long long)TREE_MTIME_MAX);
	}
	return 0;
}

static void run_release(struct run *run)
{
	for (size_t i = 0; run->pat && i < run->npat; i++)
		free(run->pat[i]);
	free(run->pat);
	free(run->hit);
}

/* KEY=VALUE lines of the env file: blank lines and lines starting with
 * '#' are skipped. Pointers into res->env_file_buf. */
static int read_env_file(const char *path, struct build_result *res,
			 char ***lines, size_t *n, struct ek_error *err)
{
	uint8_t *buf;
	size_t len, cap = 0;
	char *l, *save = NULL;
	int r = io_read_small_file(path, 1u << 20, &buf, &len, err);

	if (r)
		return r;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return ek_fail(err, EK_EFORMAT, "'%s': holds a NUL byte", path);
	}
	res->env_file_buf = (char *)buf;
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == '\n';
	*lines = calloc(cap + 2, sizeof(char *));
	if (!*lines)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	*n = 0;
	for (l = strtok_r((char *)buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		if (*l && *l != '#')
			(*lines)[(*n)++] = l;
	return 0;
}

/* Later KEY=... replaces an earlier one in place. */
static void env_set(char **env, size_t *n, char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

	for (size_t i = 0; i < *n; i++)
		if (!strncmp(env[i], kv, klen) && env[i][klen] == '=') {
			env[i] = kv;
			return;
		}
	env[(*n)++] = kv;
}

static int build_env(const struct build_plan *p, struct build_result *res,
		     struct ek_error *err)
{
	const struct oci_strings *ie = &res->image.env;
	char **file_lines = NULL;
	size_t nfile = 0;
	int r = p->env_file ? read_env_file(p->env_file, res, &file_lines,
					    &nfile, err) : 0;

	if (r)
		return r;
	res->envv = calloc(ie->n + nfile + p->nenv + 1, sizeof(char *));
	if (!res->envv) {
		free(file_lines);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < ie->n; i++)
		env_set(res->envv, &res->app.envc, ie->v[i]);
	for (size_t i = 0; i < nfile; i++)
		env_set(res->envv, &res->app.envc, file_lines[i]);
	for (size_t i = 0; i < p->nenv; i++)
		env_set(res->envv, &res->app.envc, (char *)p->env[i]);
	free(file_lines);
	return 0;
}

static void push_all(struct build_result *res, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		res->argv[res->app.argc++] = v[i];
}

/* Entrypoint followed by Cmd, as OCI runtimes run an image. An entrypoint
 * in the plan replaces the image's Entrypoint and, as with docker run,
 * drops its Cmd; the plan's cmd replaces Cmd. nitro_compat: Cmd if there
 * is one, else Entrypoint, after the same replacements. */
static int build_argv(const struct build_plan *p, struct build_result *res,
		      struct ek_error *err)
{
	const struct oci_strings *ie = &res->image.entrypoint;
	const struct oci_strings *ic = &res->image.cmd;
	char *const *ep = p->entrypoint ? (char *const *)&p->entrypoint : ie->v;
	size_t nep = p->entrypoint ? 1 : ie->n;
	char *const *cmd = p->ncmd ? (char *const *)p->cmd :
			   p->entrypoint ? NULL : ic->v;
	size_t ncmd = p->ncmd ? p->ncmd : p->entrypoint ? 0 : ic->n;

	res->argv = calloc(nep + ncmd + 1, sizeof(char *));
	if (!res->argv)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (p->nitro_compat && ncmd)
		push_all(res, cmd, ncmd);
	else if (p->nitro_compat)
		push_all(res, ep, nep);
	else {
		push_all(res, ep, nep);
		push_all(res, cmd, ncmd);
	}
	return 0;
}

/* What init would fail on at boot, refused now: an empty first word or
 * working directory. */
static int check_app(const struct build_plan *p, const struct app_config *app,
		     struct ek_error *err)
{
	if (p->entrypoint && !*p->entrypoint)
		return ek_fail(err, EK_EINVAL, "--entrypoint: empty");
	if (p->workdir && !*p->workdir)
		return ek_fail(err, EK_EINVAL, "--workdir: empty");
	if (app->argc && !*app->argv[0])
		return ek_fail(err, EK_EINVAL, "the command's first word is "
			       "empty");
	return 0;
}

int build_plan_run(const struct build_plan *p, struct build_result *res,
		   struct ek_error *err)
{
	struct run run = { .p = p, .res = res };
	int r;

	memset(res, 0, sizeof(*res));
	tree_init(&res->tree);
	res->stage.fd = -1;
	res->first_socket = "";
	if (p->mtime < 0 || (uint64_t)p->mtime > TREE_MTIME_MAX)
		return ek_fail(err, EK_EINVAL, "mtime %lld: outside newc's "
			       "32-bit mtimes (1970 to 2106-02-07)",
			       (long long)p->mtime);
	r = prepare_excludes(&run, err);
	if (r == 0)
		r = scan_inputs(&run, err);
	if (r == 0)
		r = apply_excludes(&run, err);
	if (r == 0)
		r = report(&run, err);
	if (r == 0)
		r = apply_mtimes(&run, err);
	run_release(&run);
	if (r || (r = build_env(p, res, err)) || (r = build_argv(p, res, err)))
		return r;
	res->app.argv = (const char *const *)res->argv;
	res->app.env = (const char *const *)res->envv;
	res->app.workdir = p->workdir;
	if (!res->app.workdir && res->image.workdir && *res->image.workdir)
		res->app.workdir = res->image.workdir;
	return check_app(p, &res->app, err);
}

void build_result_release(struct build_result *res)
{
	for (size_t i = 0; i < res->nexcluded; i++)
		free(res->excluded[i]);
	free(res->excluded);
	free(res->unmatched);
	free(res->notes);
	res->excluded = NULL;
	res->unmatched = NULL;
	res->notes = NULL;
	res->nexcluded = res->nunmatched = res->nnotes = 0;
	free(res->argv);
	free(res->envv);
	free(res->env_file_buf);
	tree_release(&res->tree);
	scan_opts_release(&res->scan);
	oci_image_release(&res->image);
	stage_close(&res->stage);
	res->argv = res->envv = NULL;
	res->env_file_buf = NULL;
}

const char *build_default_name(const struct build_plan *p, char *buf,
			       size_t size)
{
	for (size_t i = 0; i < p->ninputs; i++) {
		const char *d = p->inputs[i].arg;
		size_t len;

		if (p->inputs[i].kind == BUILD_FILE)
			continue;
		len = strlen(d);
		while (len > 1 && d[len - 1] == '/')
			len--;
		snprintf(buf, size, "%.*s", (int)len, d);
		d = strrchr(buf, '/');
		if (d && d[1])
			memmove(buf, d + 1, strlen(d + 1) + 1);
		if (strcmp(buf, ".") && strcmp(buf, "..") && strcmp(buf, "/"))
			return buf;
	}
	return "enclave";
}

/* The excluded paths as JSON strings: serde_json (nitro-cli's reader)
 * takes only UTF-8, and a name can be any bytes, so each is escaped as
 * eifkit's messages escape names (spaces kept). */
static struct json_value *excluded_json(const struct build_result *res)
{
	struct json_value *a = json_new_array();

	for (size_t i = 0; a && i < res->nexcluded; i++) {
		struct strbuf sb;
		bool bad;

		strbuf_init(&sb);
		text_escape(&sb, res->excluded[i], strlen(res->excluded[i]),
			    TEXT_KEEP_SPACES);
		bad = !strbuf_ok(&sb) || json_array_push(a, json_new_string(sb.buf));
		strbuf_release(&sb);
		if (bad) {
			json_free(a);
			a = NULL;
		}
	}
	return a;
}

int build_docker_info(const struct build_result *res, struct json_value **ret)
{
	const struct oci_image *img = &res->image;
	/* serde's order: bytewise sorted keys */
	const char *const keys[] = { "Architecture", "ConfigDigest", "Excluded",
				     "ManifestDigest", "Os", "Ref" };
	const char *const vals[] = { img->arch, img->config_digest, NULL,
				     img->manifest_digest, img->os, img->ref };
	struct json_value *o;

	*ret = NULL;
	if (!res->have_image && !res->nexcluded)
		return 0;
	o = json_new_object();
	for (size_t i = 0; o && i < ARRAY_SIZE(keys); i++) {
		struct json_value *v;

		if (i == 2 && !res->nexcluded)
			continue;
		if (i != 2 && !res->have_image)
			continue;
		v = i == 2 ? excluded_json(res) :
		    vals[i] ? json_new_string(vals[i]) : json_new_null();
		if (json_object_push(o, keys[i], v)) {
			json_free(o);
			o = NULL;
		}
	}
	*ret = o;
	return o ? 0 : EK_ENOMEM;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int build_plan_check_output(const struct build_plan *p, const char *out,
			    struct ek_error *err)
{
	static const char *const what[] = {
		[BUILD_ROOTFS] = "--rootfs", [BUILD_FILE] = "--file",
		[BUILD_OCI_LAYOUT] = "--oci", [BUILD_OCI_ARCHIVE] = "--oci-archive",
		[BUILD_DOCKER_ARCHIVE] = "--docker-archive",
	};
	int r = p->env_file ? io_check_not_input(out, p->env_file,
						 "--env-file", err) : 0;

	for (size_t i = 0; r == 0 && i < p->ninputs; i++) {
		const struct build_input *in = &p->inputs[i];
		char *path = NULL, *ref = NULL;

		if (in->kind == BUILD_ROOTFS) {
			r = io_check_not_input(out, in->arg, what[in->kind], err);
			continue;
		}
		if (in->kind == BUILD_FILE) /* SRC is up to the first ':' */
			path = strndup(in->arg, strcspn(in->arg, ":"));
		else if (split_ref(in->arg, &path, &ref))
			path = NULL;
		if (!path)
			r = ek_fail(err, EK_ENOMEM, "out of memory");
		else if (!is_dir(path)) /* a folder here fails later, clearer */
			r = io_check_not_input(out, path, what[in->kind], err);
		free(path);
		free(ref);
	}
	return r;
}
