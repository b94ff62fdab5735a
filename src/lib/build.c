/* build.c: the build plan (build.h): inputs -> one finished tree, and the
 * app's argv, environment and folder as nitro-cli and docker mean them. */
#include "base/internal.h"

#include <sys/stat.h>

#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/json.h"
#include "build.h"
#include "image/blobstore.h"

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
		      struct build_result *res, struct ek_error *err)
{
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
	for (size_t i = 0; r == 0 && i < res->image.nlayers; i++)
		r = layer_apply(&res->tree, &res->stage, bs,
				&res->image.layers[i], &res->lopts, err);
	blobstore_free(bs);
	free(path);
	free(ref);
	return r;
}

static int scan_inputs(const struct build_plan *p, struct build_result *res,
		       struct ek_error *err)
{
	int r = 0;

	res->scan.keep_owners = p->keep_owners;
	res->scan.keep_mtimes = p->keep_mtimes;
	res->scan.mtime = p->mtime;
	res->lopts.keep_mtimes = p->keep_mtimes;
	res->lopts.mtime = p->mtime;
	for (size_t i = 0; r == 0 && i < p->ninputs; i++) {
		const struct build_input *in = &p->inputs[i];

		if (in->kind == BUILD_ROOTFS)
			r = scan_dir(&res->tree, in->arg, &res->scan, err);
		else if (in->kind == BUILD_FILE)
			r = scan_file_spec(&res->tree, in->arg, &res->scan, err);
		else
			r = load_image(p, in, res, err);
	}
	res->sockets = res->scan.sockets;
	res->first_socket = res->scan.first_socket;
	res->xattr_files = res->scan.xattr_files + res->lopts.xattr_files;
	return r ? r : tree_finish(&res->tree, p->mtime, err);
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
	int r;

	memset(res, 0, sizeof(*res));
	tree_init(&res->tree);
	res->stage.fd = -1;
	res->first_socket = "";
	if (p->mtime < 0 || (uint64_t)p->mtime > TREE_MTIME_MAX)
		return ek_fail(err, EK_EINVAL, "mtime %lld: outside newc's "
			       "32-bit mtimes (1970 to 2106-02-07)",
			       (long long)p->mtime);
	if ((r = scan_inputs(p, res, err)) || (r = build_env(p, res, err)) ||
	    (r = build_argv(p, res, err)))
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

int build_docker_info(const struct oci_image *img, struct json_value **ret)
{
	const char *const keys[] = { "Architecture", "ConfigDigest",
				     "ManifestDigest", "Os", "Ref" };
	const char *const vals[] = { img->arch, img->config_digest,
				     img->manifest_digest, img->os, img->ref };
	struct json_value *o = json_new_object();

	for (size_t i = 0; o && i < ARRAY_SIZE(keys); i++)
		if (json_object_push(o, keys[i], vals[i] ? json_new_string(vals[i])
							 : json_new_null())) {
			json_free(o);
			o = NULL;
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
