#include "internal.h"

#include <stdio.h>

#include "io.h"
#include "metadata.h"
#include "treeopts.h"

int treeopts_init(struct treeopts *o, int argc)
{
	memset(o, 0, sizeof(*o));
	tree_init(&o->tree);
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
	}
	return 0;
}

static int scan_inputs(struct treeopts *o, int64_t mtime, struct ek_error *err)
{
	int r = 0;

	o->scan.keep_owners = o->keep_owners;
	o->scan.keep_mtimes = o->keep_mtimes;
	o->scan.mtime = mtime;
	for (size_t i = 0; r == 0 && i < o->ninputs; i++) {
		if (o->inputs[i][0] == 'd')
			r = scan_dir(&o->tree, o->inputs[i] + 2, &o->scan, err);
		else
			r = scan_file_spec(&o->tree, o->inputs[i] + 2, &o->scan, err);
	}
	return r ? r : tree_finish(&o->tree, mtime, err);
}

static void warn_dropped(const struct treeopts *o, const char *cmd)
{
	if (o->scan.sockets)
		fprintf(stderr, "eifkit %s: warning: skipped %lu socket%s (such "
			"as '%s'): a ramdisk cannot hold them\n", cmd,
			o->scan.sockets, o->scan.sockets > 1 ? "s" : "",
			o->scan.first_socket);
	if (o->scan.xattr_files)
		fprintf(stderr, "eifkit %s: warning: dropped the extended "
			"attributes (file capabilities, ACLs, SELinux labels) of "
			"%lu file%s: newc cannot store them\n", cmd,
			o->scan.xattr_files, o->scan.xattr_files > 1 ? "s" : "");
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
	o->env_built = calloc(nfile + o->nenv + 1, sizeof(char *));
	if (!o->env_built) {
		free(file_lines);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nfile; i++)
		env_set(o->env_built, &o->envc_built, file_lines[i]);
	for (size_t i = 0; i < o->nenv; i++)
		env_set(o->env_built, &o->envc_built, (char *)o->env[i]);
	free(file_lines);
	return 0;
}

static int build_argv(struct treeopts *o, struct ek_error *err)
{
	o->argv_built = calloc(o->ncmd + 2, sizeof(char *));
	if (!o->argv_built)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (o->entrypoint)
		o->argv_built[o->argc_built++] = (char *)o->entrypoint;
	for (size_t i = 0; i < o->ncmd; i++)
		o->argv_built[o->argc_built++] = o->cmd[i];
	return 0;
}

int treeopts_build(struct treeopts *o, const char *cmd_name,
		   struct app_config *app, struct ek_error *err)
{
	int64_t mtime;
	int r = metadata_source_date_epoch(&mtime, err);

	if (r || (r = scan_inputs(o, mtime, err)))
		return r;
	warn_dropped(o, cmd_name);
	if ((r = build_env(o, err)) || (r = build_argv(o, err)))
		return r;
	app->argv = (const char *const *)o->argv_built;
	app->argc = o->argc_built;
	app->env = (const char *const *)o->env_built;
	app->envc = o->envc_built;
	app->workdir = o->workdir;
	return 0;
}
