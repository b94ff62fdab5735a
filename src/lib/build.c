#include "base/internal.h"

#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "build.h"
#include "eif/metadata.h"

int treeopts_init(struct treeopts *o, int argc)
{
	memset(o, 0, sizeof(*o));
	tree_init(&o->tree);
	o->stage.fd = -1;
	o->goarch = "amd64";
	o->inputs = calloc((size_t)argc + 1, sizeof(char *));
	o->env = calloc((size_t)argc + 1, sizeof(char *));
	return o->inputs && o->env ? 0 : -1;
}

void treeopts_release(struct treeopts *o)
{
	for (size_t i = 0; i < o->ninputs; i++)
		free((char *)o->inputs[i]);
	free(o->inputs);
	free(o->env);
	free(o->argv_built);
	free(o->env_built);
	free(o->env_file_buf);
	tree_release(&o->tree);
	scan_opts_release(&o->scan);
	oci_image_release(&o->image);
	stage_close(&o->stage);
}

static int add_input(struct treeopts *o, char kind, const char *arg)
{
	char *s = malloc(strlen(arg) + 3);

	if (!s)
		return 1;
	s[0] = kind;
	s[1] = ':';
	strcpy(s + 2, arg);
	o->inputs[o->ninputs++] = s;
	return 1;
}

int treeopts_option(struct treeopts *o, int c, char *arg)
{
	switch (c) {
	case TO_ROOTFS: return add_input(o, 'd', arg);
	case TO_FILE: return add_input(o, 'f', arg);
	case TO_ENV: o->env[o->nenv++] = arg; return 1;
	case TO_ENV_FILE: o->env_file = arg; return 1;
	case TO_ENTRYPOINT: o->entrypoint = arg; return 1;
	case TO_WORKDIR: o->workdir = arg; return 1;
	case TO_KEEP_OWNERS: o->keep_owners = true; return 1;
	case TO_KEEP_MTIMES: o->keep_mtimes = true; return 1;
	case TO_OCI: return add_input(o, 'o', arg);
	case TO_OCI_ARCHIVE: return add_input(o, 'a', arg);
	case TO_DOCKER_ARCHIVE: return add_input(o, 'k', arg);
	case TO_NITRO_COMPAT: o->nitro_compat = true; return 1;
	}
	return 0;
}

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

static int load_image(struct treeopts *o, const char *in, struct ek_error *err)
{
	static const enum oci_kind kinds[] = { ['o' - 'a'] = OCI_LAYOUT,
		['a' - 'a'] = OCI_ARCHIVE, ['k' - 'a'] = DOCKER_ARCHIVE };
	enum oci_kind kind = kinds[in[0] - 'a'];
	struct blobstore *bs = NULL;
	char *path, *ref;
	int r;

	if (o->have_image)
		return ek_fail(err, EK_EINVAL, "only one container image can be "
			       "given");
	if (split_ref(in + 2, &path, &ref))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r = blobstore_open(kind == OCI_LAYOUT ? 'd' : 't', path, &bs, err);
	if (r == 0)
		r = oci_resolve(bs, kind, ref, o->goarch, &o->image, err);
	o->have_image = r == 0;
	if (r == 0 && o->stage.fd < 0)
		r = stage_open(&o->stage, err);
	for (size_t i = 0; r == 0 && i < o->image.nlayers; i++)
		r = layer_apply(&o->tree, &o->stage, bs, &o->image.layers[i],
				&o->lopts, err);
	blobstore_free(bs);
	free(path);
	free(ref);
	return r;
}

static int scan_inputs(struct treeopts *o, int64_t mtime, struct ek_error *err)
{
	int r = 0;

	o->scan.keep_owners = o->keep_owners;
	o->scan.keep_mtimes = o->keep_mtimes;
	o->scan.mtime = mtime;
	o->lopts.keep_mtimes = o->keep_mtimes;
	o->lopts.mtime = mtime;
	for (size_t i = 0; r == 0 && i < o->ninputs; i++) {
		const char *in = o->inputs[i];

		if (in[0] == 'd')
			r = scan_dir(&o->tree, in + 2, &o->scan, err);
		else if (in[0] == 'f')
			r = scan_file_spec(&o->tree, in + 2, &o->scan, err);
		else
			r = load_image(o, in, err);
	}
	o->scan.xattr_files += o->lopts.xattr_files;
	return r ? r : tree_finish(&o->tree, mtime, err);
}

/* KEY=VALUE lines of --env-file: blank lines and lines starting with '#'
 * are skipped. Pointers into o->env_file_buf. */
static int read_env_file(struct treeopts *o, char ***lines, size_t *n,
			 struct ek_error *err)
{
	uint8_t *buf;
	size_t len, cap = 0;
	char *p, *save = NULL;
	int r = io_read_small_file(o->env_file, 1u << 20, &buf, &len, err);

	if (r)
		return r;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return ek_fail(err, EK_EFORMAT, "'%s': holds a NUL byte",
			       o->env_file);
	}
	o->env_file_buf = (char *)buf;
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == '\n';
	*lines = calloc(cap + 2, sizeof(char *));
	if (!*lines)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	*n = 0;
	for (p = strtok_r((char *)buf, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save))
		if (*p && *p != '#')
			(*lines)[(*n)++] = p;
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

static int build_env(struct treeopts *o, struct ek_error *err)
{
	char **file_lines = NULL;
	size_t nfile = 0;
	int r = o->env_file ? read_env_file(o, &file_lines, &nfile, err) : 0;

	if (r)
		return r;
	o->env_built = calloc(o->image.env.n + nfile + o->nenv + 1,
			      sizeof(char *));
	if (!o->env_built) {
		free(file_lines);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < o->image.env.n; i++)
		env_set(o->env_built, &o->envc_built, o->image.env.v[i]);
	for (size_t i = 0; i < nfile; i++)
		env_set(o->env_built, &o->envc_built, file_lines[i]);
	for (size_t i = 0; i < o->nenv; i++)
		env_set(o->env_built, &o->envc_built, (char *)o->env[i]);
	free(file_lines);
	return 0;
}

static void push_all(struct treeopts *o, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		o->argv_built[o->argc_built++] = v[i];
}

/* Entrypoint followed by Cmd, as OCI runtimes run an image. --entrypoint
 * replaces the image's Entrypoint and, as with docker run, drops its Cmd;
 * words after -- replace Cmd. --nitro-cli-compat: Cmd if there is one,
 * else Entrypoint, after the same replacements. */
static int build_argv(struct treeopts *o, struct ek_error *err)
{
	const struct oci_strings *ie = &o->image.entrypoint, *ic = &o->image.cmd;
	char *const *ep = o->entrypoint ? (char *const *)&o->entrypoint : ie->v;
	size_t nep = o->entrypoint ? 1 : ie->n;
	char *const *cmd = o->ncmd ? o->cmd : o->entrypoint ? NULL : ic->v;
	size_t ncmd = o->ncmd ? o->ncmd : o->entrypoint ? 0 : ic->n;

	o->argv_built = calloc(nep + ncmd + 1, sizeof(char *));
	if (!o->argv_built)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (o->nitro_compat && ncmd)
		push_all(o, cmd, ncmd);
	else if (o->nitro_compat)
		push_all(o, ep, nep);
	else {
		push_all(o, ep, nep);
		push_all(o, cmd, ncmd);
	}
	return 0;
}

int treeopts_build(struct treeopts *o,
		   struct app_config *app, struct ek_error *err)
{
	int64_t mtime;
	int r = metadata_source_date_epoch(&mtime, err);

	if (r == 0 && mtime > (int64_t)TREE_MTIME_MAX)
		r = ek_fail(err, EK_EINVAL, "SOURCE_DATE_EPOCH=%lld: after "
			    "2106-02-07, later than newc's 32-bit mtimes reach",
			    (long long)mtime);
	if (r || (r = scan_inputs(o, mtime, err)))
		return r;
	if ((r = build_env(o, err)) || (r = build_argv(o, err)))
		return r;
	app->argv = (const char *const *)o->argv_built;
	app->argc = o->argc_built;
	app->env = (const char *const *)o->env_built;
	app->envc = o->envc_built;
	app->workdir = o->workdir;
	if (!app->workdir && o->image.workdir && *o->image.workdir)
		app->workdir = o->image.workdir;
	return 0;
}
