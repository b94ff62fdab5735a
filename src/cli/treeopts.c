/* treeopts.c: build and ramdisk's tree options -> a build plan. */
#include "base/internal.h"

#include <stdio.h>

#include "cli.h"
#include "eif/metadata.h"
#include "treeopts.h"

int treeopts_init(struct treeopts *o, int argc)
{
	memset(o, 0, sizeof(*o));
	o->inputs = calloc((size_t)argc + 1, sizeof(*o->inputs));
	o->env = calloc((size_t)argc + 1, sizeof(*o->env));
	o->plan.inputs = o->inputs;
	o->plan.env = o->env;
	o->plan.goarch = "amd64";
	return o->inputs && o->env ? 0 : -1;
}

void treeopts_release(struct treeopts *o)
{
	free(o->inputs);
	free(o->env);
	o->inputs = NULL;
	o->env = NULL;
}

static int add_input(struct treeopts *o, enum build_input_kind kind,
		     const char *arg)
{
	o->inputs[o->plan.ninputs].kind = kind;
	o->inputs[o->plan.ninputs++].arg = arg;
	return 1;
}

int treeopts_option(struct treeopts *o, int c, const char *arg)
{
	struct build_plan *p = &o->plan;

	switch (c) {
	case TO_ROOTFS: return add_input(o, BUILD_ROOTFS, arg);
	case TO_FILE: return add_input(o, BUILD_FILE, arg);
	case TO_OCI: return add_input(o, BUILD_OCI_LAYOUT, arg);
	case TO_OCI_ARCHIVE: return add_input(o, BUILD_OCI_ARCHIVE, arg);
	case TO_DOCKER_ARCHIVE: return add_input(o, BUILD_DOCKER_ARCHIVE, arg);
	case TO_ENV: o->env[p->nenv++] = arg; return 1;
	case TO_ENV_FILE: p->env_file = arg; return 1;
	case TO_ENTRYPOINT: p->entrypoint = arg; return 1;
	case TO_WORKDIR: p->workdir = arg; return 1;
	case TO_KEEP_OWNERS: p->keep_owners = true; return 1;
	case TO_KEEP_MTIMES: p->keep_mtimes = true; return 1;
	case TO_NITRO_COMPAT: p->nitro_compat = true; return 1;
	}
	return 0;
}

int treeopts_environment(struct treeopts *o, struct ek_error *err)
{
	int r = cli_source_date_epoch(&o->plan.mtime, err);

	if (r == 0 && o->plan.mtime > (int64_t)TREE_MTIME_MAX)
		r = ek_fail(err, EK_EINVAL, "SOURCE_DATE_EPOCH=%lld: after "
			    "2106-02-07, later than newc's 32-bit mtimes reach",
			    (long long)o->plan.mtime);
	o->plan.tmpdir = cli_tmpdir();
	return r;
}

static bool root_user(const char *u)
{
	return !u || !*u || !strcmp(u, "0") || !strcmp(u, "root") ||
	       !strncmp(u, "0:", 2) || !strncmp(u, "root:", 5);
}

void treeopts_warn(const struct build_result *res, const char *cmd)
{
	if (res->sockets)
		cli_warn(cmd, "skipped %lu socket%s (such as '%s'): a ramdisk "
			 "cannot hold them", res->sockets,
			 res->sockets > 1 ? "s" : "", res->first_socket);
	if (res->xattr_files)
		cli_warn(cmd, "dropped the extended attributes (file "
			 "capabilities, ACLs, SELinux labels) of %lu file%s: "
			 "newc cannot store them", res->xattr_files,
			 res->xattr_files > 1 ? "s" : "");
	if (res->have_image && !root_user(res->image.user))
		cli_warn(cmd, "the image's User is '%s', but the enclave's init "
			 "runs the app as root", res->image.user);
}
