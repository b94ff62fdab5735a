/* cmd_diff.c: say why two EIFs, or two cpio archives, differ. Exit
 * status as diff(1): 0 identical, 1 different, 2 trouble. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "diff/diff.h"

static const char usage[] =
	"usage: eifkit diff [--json] [--max-entries N] OLD NEW\n";
static const char help[] =
	"usage: eifkit diff [--json] [--max-entries N] OLD NEW\n"
	"\n"
	"Compare two EIFs, or two cpio newc archives, and say why they differ.\n"
	"The first line says it all, for example\n"
	"  PCR0 and PCR2 differ: ramdisk 1 (user): 3 files changed, 1 added; metadata: BuildTime\n"
	"then the details: the PCRs, the header fields, the sections (size and\n"
	"SHA-384) and which PCRs each moves, the cmdline, the metadata key by\n"
	"key, the signing certificates, and each ramdisk entry by entry, paired\n"
	"by path (added, removed, changed with what changed, moved), with the\n"
	"cmd, env and workdir files shown as argv, environment and folder.\n"
	"Names and strings from the files are escaped as eifkit ls escapes them.\n"
	"\n"
	"Exit status: 0 identical, 1 different, 2 usage error or a file that\n"
	"cannot be read or is malformed (the error names it).\n"
	"\n"
	"  --json            one JSON object with every entry (schema in\n"
	"                    docs/eifkit-diff.md)\n"
	"  --max-entries N   show at most N entries per ramdisk in the text\n"
	"                    report (default 100; 0: counts only)\n"
	"  -h, --help        this help\n";

static int to_stdout(void *ctx, const char *s, size_t len, struct ek_error *err)
{
	(void)ctx;
	if (fwrite(s, 1, len, stdout) != len)
		return ek_fail_errno(err, EK_EIO, errno, "stdout");
	return 0;
}

static int parse_count(const char *s, size_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > SIZE_MAX)
		return -1;
	*ret = (size_t)v;
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "max-entries", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct diff_result *r = NULL;
	struct ek_error err;
	size_t max = 100;
	int c, json = 0, ret;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help);
		if (c == 'j')
			json = 1;
		else if (c == 'm' && parse_count(optarg, &max) == 0)
			continue;
		else if (c == 'm')
			return usage_error("diff", usage, "--max-entries: '%s' is "
					   "not a count", optarg);
		else
			return option_error("diff", usage, c, argv);
	}
	if (argc - optind != 2)
		return usage_error("diff", usage, "give two files");
	ret = diff_files(argv[optind], argv[optind + 1], &r, &err);
	if (!ret)
		ret = json ? diff_write_json(r, to_stdout, NULL, &err) :
		      diff_write_text(r, max, to_stdout, NULL, &err);
	if (ret) {
		fflush(stdout);
		report("diff", &err);
		diff_free(r);
		return 2;
	}
	ret = r->identical ? 0 : 1;
	diff_free(r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "eifkit diff: cannot write to stdout\n");
		return 2;
	}
	return ret;
}
