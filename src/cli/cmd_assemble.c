/* cmd_assemble.c: kernel + cmdline + ramdisk files -> EIF, with the
 * flags of AWS's eif_build and reproducible defaults. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "cli.h"
#include "eif/eif.h"
#include "eif/kernel.h"
#include "eif/metadata.h"
#include "eif/sign.h"

static const char usage[] =
	"usage: eifkit assemble --kernel FILE (--cmdline STR | --cmdline-file FILE)\n"
	"                       --ramdisk FILE [--ramdisk FILE ...] --output FILE [options]\n";

static const char help[] =
	"usage: eifkit assemble --kernel FILE (--cmdline STR | --cmdline-file FILE)\n"
	"                       --ramdisk FILE [--ramdisk FILE ...] --output FILE [options]\n"
	"\n"
	"Write an EIF from a kernel, a command line and ramdisk files, byte for\n"
	"byte as AWS's eif_build does for the same arguments, and print the\n"
	"measurements as nitro-cli build-enclave does.\n"
	"\n"
	"  --kernel FILE              bzImage (x86_64) or Image (aarch64)\n"
	"  --kernel-format-ok         no warning for a compressed aarch64 kernel\n"
	"  --no-kernel-check          take any bytes as the kernel, as eif_build\n"
	"                             does (KernelVersion then defaults to kernel)\n"
	"  --cmdline STR              kernel command line, stored as given\n"
	"  --cmdline-file FILE        command line from a file, surrounding\n"
	"                             whitespace trimmed (as nitro-cli does)\n"
	"  --ramdisk FILE             a ramdisk section; repeat, in order\n"
	"  -o, --output FILE          the EIF to write (atomically)\n"
	"  --arch x86_64|aarch64      header arch flag (default x86_64)\n"
	"  --name NAME                ImageName (default: kernel file name)\n"
	"  --version VER              ImageVersion (default 1.0)\n"
	"  --metadata FILE            custom metadata JSON (at most 4096 bytes)\n"
	"  --build-time RFC3339       BuildTime (default SOURCE_DATE_EPOCH, else\n"
	"                             1970-01-01T00:00:00+00:00)\n"
	"  --build-tool STR           BuildTool (default eifkit)\n"
	"  --build-tool-version STR   BuildToolVersion (default eifkit's version)\n"
	"  --img-os STR               OperatingSystem (default OS)\n"
	"  --img-kernel STR           KernelVersion (default: the version in the\n"
	"                             kernel image)\n"
	"  --kernel-config FILE       derive OperatingSystem and KernelVersion from\n"
	"                             a kernel .config (also --kernel_config);\n"
	"                             explicit --img-os/--img-kernel win\n"
	"  --signing-certificate FILE sign with this PEM certificate ...\n"
	"  --private-key FILE         ... and this PEM EC key (P-256/384/521)\n"
	"  --pcrs FILE                also write the measurements to FILE\n"
	"  -h, --help                 this help\n";

enum { O_KERNEL = 256, O_CMDLINE, O_CMDLINE_FILE, O_RAMDISK, O_ARCH, O_NAME,
       O_VERSION, O_METADATA, O_BUILD_TIME, O_BUILD_TOOL, O_BUILD_TOOL_VER,
       O_IMG_OS, O_IMG_KERNEL, O_KCONFIG, O_CERT, O_KEY, O_PCRS,
       O_KFORMAT_OK, O_NO_KCHECK };

static const struct option options[] = {
	{ "kernel", required_argument, NULL, O_KERNEL },
	{ "cmdline", required_argument, NULL, O_CMDLINE },
	{ "cmdline-file", required_argument, NULL, O_CMDLINE_FILE },
	{ "ramdisk", required_argument, NULL, O_RAMDISK },
	{ "output", required_argument, NULL, 'o' },
	{ "arch", required_argument, NULL, O_ARCH },
	{ "name", required_argument, NULL, O_NAME },
	{ "version", required_argument, NULL, O_VERSION },
	{ "metadata", required_argument, NULL, O_METADATA },
	{ "build-time", required_argument, NULL, O_BUILD_TIME },
	{ "build-tool", required_argument, NULL, O_BUILD_TOOL },
	{ "build-tool-version", required_argument, NULL, O_BUILD_TOOL_VER },
	{ "img-os", required_argument, NULL, O_IMG_OS },
	{ "img-kernel", required_argument, NULL, O_IMG_KERNEL },
	{ "kernel-config", required_argument, NULL, O_KCONFIG },
	{ "kernel-format-ok", no_argument, NULL, O_KFORMAT_OK },
	{ "no-kernel-check", no_argument, NULL, O_NO_KCHECK },
	{ "kernel_config", required_argument, NULL, O_KCONFIG },
	{ "signing-certificate", required_argument, NULL, O_CERT },
	{ "private-key", required_argument, NULL, O_KEY },
	{ "pcrs", required_argument, NULL, O_PCRS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define MAX_RAMDISKS EIF_MAX_SECTIONS

struct args {
	const char *kernel, *cmdline, *cmdline_file, *output, *arch;
	const char *ramdisk[MAX_RAMDISKS + 1];
	unsigned nramdisk;
	const char *cert, *key, *pcrs, *metadata, *kconfig;
	bool kformat_ok, no_kcheck;
	struct eif_identity id;
};

static int parse(int argc, char **argv, struct args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
		switch (c) {
		case O_KERNEL: a->kernel = optarg; break;
		case O_CMDLINE: a->cmdline = optarg; break;
		case O_CMDLINE_FILE: a->cmdline_file = optarg; break;
		case O_RAMDISK:
			/* one more than fits, so the writer reports the limit */
			if (a->nramdisk <= MAX_RAMDISKS)
				a->ramdisk[a->nramdisk++] = optarg;
			break;
		case 'o': a->output = optarg; break;
		case O_ARCH:
			if (strcmp(optarg, "x86_64") && strcmp(optarg, "aarch64"))
				return usage_error("assemble", usage, "--arch '%s': "
						   "unknown architecture (x86_64 or aarch64)", optarg);
			a->arch = optarg;
			break;
		case O_NAME: a->id.image_name = optarg; break;
		case O_VERSION: a->id.image_version = optarg; break;
		case O_METADATA: a->metadata = optarg; break;
		case O_BUILD_TIME: a->id.build_time = optarg; break;
		case O_BUILD_TOOL: a->id.build_tool = optarg; break;
		case O_BUILD_TOOL_VER: a->id.build_tool_version = optarg; break;
		case O_IMG_OS: a->id.operating_system = optarg; break;
		case O_IMG_KERNEL: a->id.kernel_version = optarg; break;
		case O_KCONFIG: a->kconfig = optarg; break;
		case O_KFORMAT_OK: a->kformat_ok = true; break;
		case O_NO_KCHECK: a->no_kcheck = true; break;
		case O_CERT: a->cert = optarg; break;
		case O_KEY: a->key = optarg; break;
		case O_PCRS: a->pcrs = optarg; break;
		case 'h': return -1;
		default: return option_error("assemble", usage, c, argv);
		}
	}
	if (optind < argc)
		return usage_error("assemble", usage, "unexpected argument '%s'",
				   argv[optind]);
	if (!a->kernel || !a->output || !a->nramdisk)
		return usage_error("assemble", usage,
				   "--kernel, --ramdisk and --output are required");
	if (!a->cmdline == !a->cmdline_file)
		return usage_error("assemble", usage,
				   "give one of --cmdline and --cmdline-file");
	if (!a->cert != !a->key)
		return usage_error("assemble", usage, "--signing-certificate and "
				   "--private-key go together");
	return 0;
}

/* The command line bytes: as given, or from a file with surrounding
 * whitespace trimmed. Interior NULs cannot be stored (EIF-FORMAT.md 4). */
static int load_cmdline(const struct args *a, struct strbuf *out,
			struct ek_error *err)
{
	uint8_t *buf;
	size_t len, start = 0;
	int ret;

	if (a->cmdline) {
		strbuf_addstr(out, a->cmdline);
		return 0;
	}
	ret = io_read_small_file(a->cmdline_file, 1u << 20, &buf, &len, err);
	if (ret)
		return ret;
	while (start < len && strchr(" \t\n\v\f\r", buf[start]) && buf[start])
		start++;
	while (len > start && strchr(" \t\n\v\f\r", buf[len - 1]) && buf[len - 1])
		len--;
	if (memchr(buf + start, '\0', len - start))
		ret = ek_fail(err, EK_EFORMAT, "'%s': the command line holds a "
			      "NUL byte", a->cmdline_file);
	else
		strbuf_add(out, buf + start, len - start);
	free(buf);
	return ret;
}

struct inputs {
	int fd[MAX_RAMDISKS + 2];
	unsigned nfd;
	struct eif_wsection sec[MAX_RAMDISKS + 4];
	unsigned nsec;
};

/* The kernel must be a regular file; a ramdisk may come from a pipe
 * (read to its end, at most EIF_STREAM_MAX bytes). */
static int add_file(struct inputs *in, uint16_t type, const char *path,
		    struct ek_error *err)
{
	uint64_t size;
	int fd = io_open_input(path, type == EIF_SEC_RAMDISK ? IO_INPUT_PIPE : 0,
			       &size, err);

	if (fd < 0)
		return fd;
	in->fd[in->nfd++] = fd;
	in->sec[in->nsec].type = type;
	eif_source_file(&in->sec[in->nsec++].src, path, fd,
			size == UINT64_MAX ? EIF_LEN_TO_EOF : size);
	return 0;
}

/* The kernel, checked (cli_kernel_open), as the first section. */
static int open_kernel(const struct args *a, struct inputs *in,
		       struct kernel_info *ki, struct ek_error *err)
{
	uint64_t size;
	int fd = cli_kernel_open("assemble", a->kernel, a->arch &&
				 !strcmp(a->arch, "aarch64"), !a->no_kcheck,
				 a->kformat_ok, ki, &size, err);

	if (fd < 0)
		return fd;
	in->fd[in->nfd++] = fd;
	in->sec[in->nsec].type = EIF_SEC_KERNEL;
	eif_source_file(&in->sec[in->nsec++].src, a->kernel, fd, size);
	return 0;
}

static int open_inputs(const struct args *a, struct inputs *in,
		       const struct strbuf *cmdline, const struct strbuf *meta,
		       struct ek_error *err)
{
	int ret;

	in->sec[in->nsec].type = EIF_SEC_CMDLINE;
	eif_source_mem(&in->sec[in->nsec++].src, "cmdline", cmdline->buf,
		       cmdline->len);
	in->sec[in->nsec].type = EIF_SEC_METADATA;
	eif_source_mem(&in->sec[in->nsec++].src, "metadata", meta->buf,
		       meta->len);
	for (unsigned i = 0; i < a->nramdisk; i++)
		if ((ret = add_file(in, EIF_SEC_RAMDISK, a->ramdisk[i], err)))
			return ret;
	return 0;
}

/* -o and --pcrs: writable, distinct, and none of the inputs. */
static int check_outputs(const struct args *a, struct ek_error *err)
{
	const char *const outs[] = { a->output, a->pcrs };
	struct cli_input ins[MAX_RAMDISKS + 8] = {
		{ "--kernel", a->kernel }, { "--kernel-config", a->kconfig },
		{ "--cmdline-file", a->cmdline_file },
		{ "--metadata", a->metadata },
		{ "--signing-certificate", a->cert }, { "--private-key", a->key },
	};
	size_t n = 6;

	for (unsigned i = 0; i < a->nramdisk; i++)
		ins[n++] = (struct cli_input){ "--ramdisk", a->ramdisk[i] };
	return cli_check_outputs(outs, ARRAY_SIZE(outs), ins, n, err);
}

static int assemble(struct args *a, struct ek_error *err)
{
	struct json_value *custom = NULL;
	struct ek_signer *signer = NULL;
	struct strbuf cmdline, meta;
	struct inputs in = { .nfd = 0 };
	struct eif_write_opts wo = { 0 };
	struct eif_write_result res;
	struct cli_out out = { .eif.fd = -1, .pcrs.fd = -1 };
	char time_buf[40], *os = NULL, *kver = NULL;
	struct kernel_info ki;
	int ret;

	strbuf_init(&cmdline);
	strbuf_init(&meta);
	if ((ret = check_outputs(a, err)) ||
	    (ret = cli_out_open(&out, a->output, a->pcrs, err)) ||
	    (ret = cli_parse_arch(a->arch, &wo.flags, err)) ||
	    (ret = open_kernel(a, &in, &ki, err)) ||
	    (ret = load_cmdline(a, &cmdline, err)) ||
	    (a->metadata && (ret = metadata_load_custom(a->metadata, &custom, err))) ||
	    (ret = cli_fill_identity(&a->id, cli_base_name(a->kernel), a->kconfig,
				       &ki, time_buf, sizeof(time_buf), &os, &kver, err)) ||
	    (a->cert && (ret = signer_load(a->cert, a->key, &signer, err))))
		goto out;
	a->id.custom = custom;
	metadata_serialize(&a->id, &meta);
	if (!strbuf_ok(&meta) || !strbuf_ok(&cmdline)) {
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
		goto out;
	}
	if ((ret = open_inputs(a, &in, &cmdline, &meta, err)))
		goto out;
	wo.signer = signer;
	ret = eif_write(out.eif.fd, a->output, in.sec, in.nsec, &wo, &res, err);
	if (ret == 0)
		ret = cli_out_finish(&out, &res, err);
out:
	cli_out_abort(&out);
	for (unsigned i = 0; i < in.nfd; i++)
		close(in.fd[i]);
	signer_free(signer);
	json_free(custom);
	strbuf_release(&cmdline);
	strbuf_release(&meta);
	free(os);
	free(kver);
	return ret;
}

int cmd_assemble(int argc, char **argv)
{
	struct args a;
	struct ek_error err;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = parse(argc, argv, &a);
	if (ret < 0)
		return print_help(help);
	if (ret)
		return ret;
	if (assemble(&a, &err))
		return report("assemble", &err);
	return 0;
}
