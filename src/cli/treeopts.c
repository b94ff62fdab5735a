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
	o->exclude = calloc((size_t)argc + 1, sizeof(*o->exclude));
	o->plan.inputs = o->inputs;
	o->plan.env = o->env;
	o->plan.exclude = o->exclude;
	o->plan.goarch = "amd64";
	return o->inputs && o->env && o->exclude ? 0 : -1;
}

void treeopts_release(struct treeopts *o)
{
	free(o->inputs);
	free(o->env);
	free(o->exclude);
	o->inputs = NULL;
	o->env = NULL;
	o->exclude = NULL;
}

static int add_input(struct treeopts *o, enum build_input_kind kind,
		     const char *arg)
{
	o->inputs[o->plan.ninputs].kind = kind;
	o->inputs[o->plan.ninputs++].arg = arg;
	return 1;
}

static int mtime_policy(struct build_plan *p, const char *arg)
{
	if (!strcmp(arg, "zero"))
		p->mtime_policy = BUILD_MTIME_ZERO;
	else if (!strcmp(arg, "keep"))
		p->mtime_policy = BUILD_MTIME_KEEP;
	else if (!strcmp(arg, "clamp"))
		p->mtime_policy = BUILD_MTIME_CLAMP;
	else
		return -1;
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
	case TO_KEEP_MTIMES: p->mtime_policy = BUILD_MTIME_KEEP; return 1;
	case TO_MTIME: return mtime_policy(p, arg);
	case TO_EXCLUDE: o->exclude[p->nexclude++] = arg; return 1;
	case TO_EXCLUDE_VOLATILE: p->exclude_volatile = true; return 1;
	case TO_EXPLAIN_REPRO: o->explain = true; return 1;
	case TO_NITRO_COMPAT: p->nitro_compat = true; return 1;
	}
	return 0;
}

int treeopts_environment(struct treeopts *o, struct ek_error *err)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int r = cli_source_date_epoch(&o->plan.mtime, err);

	o->plan.have_epoch = sde && *sde;
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

/* "'a', 'b', 'c', ..." for the first few of n names. */
static void examples(char *buf, size_t size, const char *const *v, size_t nv,
		     unsigned long n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nv && v[i] && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s'%s'",
					i ? ", " : "", v[i]);
	if (n > nv && len < size)
		snprintf(buf + len, size - len, ", ...");
}

static const char *const fix_volatile = "--exclude-volatile, or delete "
	"it when building the image";
static const char *const fix_pyc = "--mtime keep (or clamp with the "
	"SOURCE_DATE_EPOCH the image was built with), or compile hash-based "
	"(py_compile does when SOURCE_DATE_EPOCH is set; or python3 -m "
	"compileall --invalidation-mode checked-hash)";

static void explain(const struct build_result *res, const char *cmd)
{
	if (!res->nnotes)
		cli_warn(cmd, "repro: nothing found that looks build-time "
			 "dependent");
	for (size_t i = 0; i < res->nnotes; i++) {
		const struct build_note *n = &res->notes[i];

		if (n->kind == BUILD_NOTE_VOLATILE)
			cli_warn(cmd, "repro: '/%s': filled with build-time "
				 "data by a package manager or tool; fix: %s",
				 n->path, fix_volatile);
		else
			cli_warn(cmd, "repro: '/%s': a timestamp-based .pyc of "
				 "'/%s', whose mtime %lld becomes %lld, so "
				 "Python recompiles it at every boot; fix: %s",
				 n->path, n->source, (long long)n->was,
				 (long long)n->now, fix_pyc);
	}
	for (size_t i = 0; i < res->nexcluded; i++)
		cli_warn(cmd, "repro: '%s': excluded", res->excluded[i]);
}

/* How many notes of kind there are, and the first three of them as
 * "'/path', ..." in ex. */
static unsigned long notes_of(const struct build_result *res,
			      enum build_note_kind kind, char *ex, size_t size)
{
	char paths[3][300];
	const char *v[3];
	unsigned long n = 0;

	for (size_t i = 0; i < res->nnotes; i++) {
		if (res->notes[i].kind != kind)
			continue;
		if (n < 3) {
			snprintf(paths[n], sizeof(paths[n]), "/%s",
				 res->notes[i].path);
			v[n] = paths[n];
		}
		n++;
	}
	examples(ex, size, v, n < 3 ? n : 3, n);
	return n;
}

/* The short form: one line per kind, with the first few paths. */
static void summary(const struct build_result *res, const char *cmd)
{
	char ex[1024];
	unsigned long n = notes_of(res, BUILD_NOTE_VOLATILE, ex, sizeof(ex));

	if (n)
		cli_warn(cmd, "%lu file%s hold%s build-time data, so rebuilds "
			 "of the image differ (%s); fix: --exclude-volatile, or "
			 "delete %s when building the image; --explain-repro "
			 "lists them", n, n > 1 ? "s" : "", n > 1 ? "" : "s", ex,
			 n > 1 ? "them" : "it");
	n = notes_of(res, BUILD_NOTE_PYC, ex, sizeof(ex));
	if (n)
		cli_warn(cmd, "%lu timestamp-based .pyc file%s will be stale in "
			 "the enclave (%s): the mtime policy changes their "
			 "sources' mtimes, so Python recompiles them at every "
			 "boot; fix: %s; --explain-repro lists them", n,
			 n > 1 ? "s" : "", ex, fix_pyc);
}

void treeopts_warn(const struct treeopts *o, const struct build_result *res,
		   const char *cmd)
{
	if (res->sockets)
		cli_warn(cmd, "skipped %lu socket%s (such as '%s'): a ramdisk "
			 "cannot hold them", res->sockets,
			 res->sockets > 1 ? "s" : "", res->first_socket);
	for (size_t i = 0; i < res->nunmatched; i++)
		cli_warn(cmd, "--exclude '%s': matches nothing",
			 res->unmatched[i]);
	if (o->explain)
		explain(res, cmd);
	else
		summary(res, cmd);
	if (res->have_image && !root_user(res->image.user))
		cli_warn(cmd, "the image's User is '%s', but the enclave's init "
			 "runs the app as root", res->image.user);
}

void treeopts_warn_xattrs(const struct build_result *res,
			  const struct cpio_writer *w, const char *cmd)
{
	const char *wfirst[CPIO_XATTR_FIRST], *first[3] = { NULL };
	unsigned long nw = w ? cpio_writer_xattrs(w, wfirst) : 0;
	unsigned long n = res->xattr_files + nw;
	size_t nx = 0;
	char ex[1024];

	for (size_t i = 0; i < res->xattr_files && nx < 3 && i < 3; i++)
		first[nx++] = res->xattr_first[i];
	for (size_t i = 0; i < nw && nx < 3 && i < CPIO_XATTR_FIRST; i++)
		first[nx++] = wfirst[i];
	examples(ex, sizeof(ex), first, nx, n);
	if (n)
		cli_warn(cmd, "dropped the extended attributes (file "
			 "capabilities, ACLs, SELinux labels) of %lu file%s "
			 "(%s): newc cannot store them", n, n > 1 ? "s" : "",
			 ex);
}
