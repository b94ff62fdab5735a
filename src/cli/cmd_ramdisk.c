/* cmd_ramdisk.c: one deterministic cpio newc ramdisk, on its own. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>

#include "base/io.h"
#include "cli.h"
#include "ramdisk/layout.h"
#include "treeopts.h"

static const char usage[] =
	"usage: eifkit ramdisk --layout system --init FILE [--nsm FILE] -o FILE.cpio\n"
	"       eifkit ramdisk --layout user [tree options] -o FILE.cpio [-- COMMAND ...]\n"
	"       eifkit ramdisk --layout plain [tree options] -o FILE.cpio\n";

static const char help[] =
	"usage: eifkit ramdisk --layout system --init FILE [--nsm FILE] -o FILE.cpio\n"
	"       eifkit ramdisk --layout user [tree options] -o FILE.cpio [-- COMMAND ...]\n"
	"       eifkit ramdisk --layout plain [tree options] -o FILE.cpio\n"
	"\n"
	"Write one uncompressed cpio newc archive, as build writes it into an\n"
	"EIF. system: dev, init and nsm.ko, byte-identical to nitro-cli's for the\n"
	"same files. user: rootfs/ with the tree, and the cmd, env and workdir\n"
	"files. plain: just the tree.\n"
	"\n"
	"tree options (as for build): --rootfs DIR, --file SRC:DEST[:MODE],\n"
	"--entrypoint PROG, --env KEY=VALUE, --env-file FILE, --workdir DIR,\n"
	"--keep-owners, --mtime zero|keep|clamp, --keep-mtimes, --exclude\n"
	"PATTERN, --exclude-volatile, --explain-repro, an image; the command\n"
	"goes after --.\n";

enum { O_LAYOUT = 256, O_INIT, O_NSM };

struct rargs {
	const char *layout, *output, *init, *nsm;
	struct treeopts tree;
};

static int parse(int argc, char **argv, struct rargs *a)
{
	static const struct option options[] = {
		{ "layout", required_argument, NULL, O_LAYOUT },
		{ "output", required_argument, NULL, 'o' },
		{ "init", required_argument, NULL, O_INIT },
		{ "nsm", required_argument, NULL, O_NSM },
		{ "help", no_argument, NULL, 'h' },
		TREEOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		int t = treeopts_option(&a->tree, c, optarg);

		if (t < 0)
			return usage_error("ramdisk", usage, "--mtime '%s': zero, "
					   "keep or clamp", optarg);
		if (t)
			continue;
		switch (c) {
		case O_LAYOUT: a->layout = optarg; break;
		case 'o': a->output = optarg; break;
		case O_INIT: a->init = optarg; break;
		case O_NSM: a->nsm = optarg; break;
		case 'h': return -1;
		default: return option_error("ramdisk", usage, c, argv);
		}
	}
	a->tree.plan.cmd = (const char *const *)argv + optind;
	a->tree.plan.ncmd = (size_t)(argc - optind);
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		return usage_error("ramdisk", usage, "unexpected argument '%s' "
				   "(the command goes after --)", argv[optind]);
	if (!a->output || !a->layout)
		return usage_error("ramdisk", usage, "--layout and --output are "
				   "required");
	if (strcmp(a->layout, "system") && strcmp(a->layout, "user") &&
	    strcmp(a->layout, "plain"))
		return usage_error("ramdisk", usage, "--layout '%s': system, user "
				   "or plain", a->layout);
	if (!strcmp(a->layout, "system") && !a->init)
		return usage_error("ramdisk", usage, "--layout system needs --init");
	return 0;
}

static int write_stream(struct ramdisk *rd, struct io_outfile *out,
			const char *path, struct ek_error *err)
{
	size_t cap = 1u << 18, got;
	uint8_t *buf = malloc(cap);
	int r = buf ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");

	while (r == 0) {
		r = cpio_writer_read(rd->w, buf, cap, &got, err);
		if (r || got == 0)
			break;
		if (io_write_full(out->fd, buf, got) < 0)
			r = ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	}
	free(buf);
	return r;
}

/* Before any work, as build does: the output may be written and is none
 * of the inputs. */
static int check_output(struct rargs *a, struct ek_error *err)
{
	const char *outs[] = { a->output };
	const struct cli_input ins[] = {
		{ "--init", a->init }, { "--nsm", a->nsm },
	};
	int r = cli_check_outputs(outs, 1, ins, ARRAY_SIZE(ins), err);

	return r ? r : build_plan_check_output(&a->tree.plan, a->output, err);
}

static int make(struct rargs *a, struct ek_error *err)
{
	struct ramdisk rd;
	struct build_result res;
	struct io_outfile out;
	int r;

	memset(&rd, 0, sizeof(rd));
	memset(&res, 0, sizeof(res));
	if ((r = check_output(a, err)) ||
	    (r = io_outfile_open(&out, a->output, err)))
		return r;
	if (!strcmp(a->layout, "system"))
		r = ramdisk_system(&rd, a->init, a->nsm, err);
	else if ((r = treeopts_environment(&a->tree, err)) == 0 &&
		 (r = build_plan_run(&a->tree.plan, &res, err)) == 0) {
		treeopts_warn(&a->tree, &res, "ramdisk");
		r = !strcmp(a->layout, "user")
			    ? ramdisk_user(&rd, &res.tree, &res.app,
					   a->tree.plan.mtime, err)
			    : ramdisk_plain(&rd, &res.tree, err);
	}
	if (r == 0)
		r = ramdisk_open(&rd, err);
	if (r == 0)
		r = write_stream(&rd, &out, a->output, err);
	if (r == 0 && strcmp(a->layout, "system"))
		treeopts_warn_xattrs(&res, rd.w, "ramdisk");
	if (r == 0)
		r = io_outfile_commit(&out, err);
	else
		io_outfile_abort(&out);
	ramdisk_release(&rd);
	build_result_release(&res);
	return r;
}

int cmd_ramdisk(int argc, char **argv)
{
	struct rargs a;
	struct ek_error err;
	int r;

	memset(&a, 0, sizeof(a));
	if (treeopts_init(&a.tree, argc)) {
		fprintf(stderr, "eifkit ramdisk: out of memory\n");
		return 1;
	}
	r = parse(argc, argv, &a);
	if (r < 0)
		r = print_help(help);
	else if (r == 0 && make(&a, &err))
		r = report("ramdisk", &err);
	treeopts_release(&a.tree);
	return r;
}
