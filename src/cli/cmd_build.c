/* cmd_build.c: root filesystem folders + kernel + init -> a bootable,
 * reproducible EIF, in one streaming pass: the cpio ramdisks are produced
 * on demand straight into the EIF writer. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "cli.h"
#include "progress.h"
#include "eif/eif.h"
#include "eif/kernel.h"
#include "eif/metadata.h"
#include "eif/sign.h"
#include "extsign.h"
#include "ramdisk/appcheck.h"
#include "ramdisk/layout.h"
#include "treeopts.h"

static const char usage[] =
	"usage: eifkit build -o FILE.eif --kernel FILE [--init FILE] [--nsm FILE]\n"
	"                    [--oci DIR[:REF] | --oci-archive TAR[:REF] | --docker-archive TAR[:REF]]\n"
	"                    [--rootfs DIR ...] [--file SRC:DEST[:MODE] ...] [options]\n"
	"                    [-- COMMAND [ARG ...]]\n";

static const char help[] =
	"usage: eifkit build -o FILE.eif --kernel FILE [--init FILE] [--nsm FILE]\n"
	"                    [--oci DIR[:REF] | --oci-archive TAR[:REF] | --docker-archive TAR[:REF]]\n"
	"                    [--rootfs DIR ...] [--file SRC:DEST[:MODE] ...] [options]\n"
	"                    [-- COMMAND [ARG ...]]\n"
	"\n"
	"Build a bootable EIF from root filesystem folders, a kernel and an init,\n"
	"bit for bit reproducibly, and print its measurements. Ramdisk 0 holds\n"
	"init and nsm.ko (as nitro-cli's does), ramdisk 1 the root filesystem\n"
	"under rootfs/ with the cmd, env and workdir files init reads.\n"
	"\n"
	"  -o, --output FILE          the EIF to write (atomically)\n"
	"  --kernel FILE              bzImage (x86_64) or Image (aarch64)\n"
	"  --kernel-config FILE       .config: OperatingSystem and KernelVersion\n"
	"                             (default: the version in the kernel)\n"
	"  --kernel-format-ok         no warning for a compressed aarch64 kernel\n"
	"  --no-kernel-check          take any bytes as the kernel\n"
	"  --no-app-check             do not check that the command, its ELF or\n"
	"                             #! interpreter and the workdir are there\n"
	"  --cmdline STR              kernel command line (default: nitro-cli's)\n"
	"  --init FILE                the enclave's /init (default: eifkit's own)\n"
	"  --nsm FILE                 nsm.ko, loaded by init (optional)\n"
	"  --blobs DIR                nitro-cli's blob folder: bzImage or Image,\n"
	"                             its .config, cmdline, init, nsm.ko; explicit\n"
	"                             flags win\n"
	"  --oci DIR[:REF]            a container image: an OCI image layout,\n"
	"  --oci-archive TAR[:REF]    an OCI archive,\n"
	"  --docker-archive TAR[:REF] or what docker save writes; REF picks by\n"
	"                             ref name or repo tag, --arch by platform\n"
	"  --nitro-cli-compat         run the image's Cmd, or its Entrypoint if it\n"
	"                             has no Cmd, as nitro-cli does (default:\n"
	"                             Entrypoint followed by Cmd, as docker does)\n"
	"  --rootfs DIR               a root filesystem folder; repeat: later ones\n"
	"                             overlay earlier ones (and an image)\n"
	"  --file SRC:DEST[:MODE]     add one file (MODE octal)\n"
	"  --entrypoint PROG          the command's first word\n"
	"  -- COMMAND [ARG ...]       the words after it (the whole command when\n"
	"                             there is no --entrypoint)\n"
	"  --env KEY=VALUE            an environment variable; repeat\n"
	"  --env-file FILE            KEY=VALUE lines (# comments); --env wins\n"
	"  --workdir DIR              the app's working directory\n"
	"  --keep-owners              keep uid/gid (default 0:0)\n"
	TREEOPTS_HELP_REPRO
	"  --arch x86_64|aarch64      (default x86_64)\n"
	"  --name NAME, --version VER ImageName (default: the name of the first\n"
	"                             image or --rootfs folder), ImageVersion\n"
	"                             (default 1.0)\n"
	"  --metadata FILE            custom metadata JSON\n"
	"  --signing-certificate FILE, --private-key FILE   sign\n"
	CLI_SIGN_HELP
	"  --pcrs FILE                also write the measurements to FILE\n"
	"  --quiet                    no progress line (shown on a terminal\n"
	"                             when the work takes over a second)\n"
	"  -h, --help                 this help\n";

static const char default_cmdline_x86[] =
	"reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux "
	"i8042.nomux i8042.nopnp i8042.dumbkbd random.trust_cpu=on";
static const char default_cmdline_arm[] =
	"reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on "
	"root=/dev/ram0";

enum { O_KERNEL = 256, O_KCONFIG, O_CMDLINE, O_INIT, O_NSM, O_BLOBS, O_ARCH,
       O_NAME, O_VERSION, O_METADATA, O_CERT, O_KEY, O_PCRS, O_KFORMAT_OK,
       O_NO_KCHECK, O_NO_APP_CHECK, O_QUIET };

struct args {
	const char *output, *kernel, *kconfig, *cmdline, *init, *nsm, *blobs;
	const char *arch, *metadata, *cert, *key, *pcrs;
	struct cli_sign_opts sign;
	bool kformat_ok, no_kcheck, no_app_check;
	struct eif_identity id;
	struct treeopts tree;
	char *owned[5]; /* paths made from --blobs */
	bool quiet;
	char *cmdline_buf;
};

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "kernel-config", required_argument, NULL, O_KCONFIG },
		{ "kernel-format-ok", no_argument, NULL, O_KFORMAT_OK },
		{ "no-kernel-check", no_argument, NULL, O_NO_KCHECK },
		{ "no-app-check", no_argument, NULL, O_NO_APP_CHECK },
		{ "kernel_config", required_argument, NULL, O_KCONFIG },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "init", required_argument, NULL, O_INIT },
		{ "nsm", required_argument, NULL, O_NSM },
		{ "blobs", required_argument, NULL, O_BLOBS },
		{ "arch", required_argument, NULL, O_ARCH },
		{ "name", required_argument, NULL, O_NAME },
		{ "version", required_argument, NULL, O_VERSION },
		{ "metadata", required_argument, NULL, O_METADATA },
		{ "signing-certificate", required_argument, NULL, O_CERT },
		{ "private-key", required_argument, NULL, O_KEY },
		{ "pcrs", required_argument, NULL, O_PCRS },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, 'h' },
		TREEOPTS_LONG,
		CLI_SIGN_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *msg;
	int c;

	/* '+': stop at the first word that is not an option; the command
	 * must come after "--" */
	while ((c = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		int t = treeopts_option(&a->tree, c, optarg);

		if (t < 0)
			return usage_error("build", usage, "--mtime '%s': zero, "
					   "keep or clamp", optarg);
		if (t)
			continue;
		switch (c) {
		case 'o': a->output = optarg; break;
		case O_KERNEL: a->kernel = optarg; break;
		case O_KCONFIG: a->kconfig = optarg; break;
		case O_KFORMAT_OK: a->kformat_ok = true; break;
		case O_NO_KCHECK: a->no_kcheck = true; break;
		case O_NO_APP_CHECK: a->no_app_check = true; break;
		case O_CMDLINE: a->cmdline = optarg; break;
		case O_INIT: a->init = optarg; break;
		case O_NSM: a->nsm = optarg; break;
		case O_BLOBS: a->blobs = optarg; break;
		case O_ARCH:
			if (strcmp(optarg, "x86_64") && strcmp(optarg, "aarch64"))
				return usage_error("build", usage, "--arch '%s': "
						   "unknown architecture (x86_64 or aarch64)", optarg);
			a->arch = optarg;
			break;
		case O_NAME: a->id.image_name = optarg; break;
		case O_VERSION: a->id.image_version = optarg; break;
		case O_METADATA: a->metadata = optarg; break;
		case O_CERT: a->cert = optarg; break;
		case O_KEY: a->key = optarg; break;
		case O_PCRS: a->pcrs = optarg; break;
		CLI_SIGN_CASES:
			if ((msg = cli_sign_opt(&a->sign, c, optarg)))
				return usage_error("build", usage, "%s", msg);
			break;
		case O_QUIET: a->quiet = true; break;
		case 'h': return -1;
		default: return option_error("build", usage, c, argv);
		}
	}
	a->tree.plan.cmd = (const char *const *)argv + optind;
	a->tree.plan.ncmd = (size_t)(argc - optind);
	if (optind > 0 && strcmp(argv[optind - 1], "--") && optind < argc)
		return usage_error("build", usage, "unexpected argument '%s' "
				   "(the command goes after --)", argv[optind]);
	if (!a->output)
		return usage_error("build", usage, "--output is required");
	if (!a->kernel && !a->blobs)
		return usage_error("build", usage, "--kernel or --blobs is "
				   "required");
	if ((msg = cli_sign_check(&a->sign, a->cert, a->key)))
		return usage_error("build", usage, "%s", msg);
	return 0;
}

/* A file of the blob folder, if it exists. */
static const char *blob(struct args *a, int slot, const char *name)
{
	struct stat st;

	if (asprintf(&a->owned[slot], "%s/%s", a->blobs, name) < 0) {
		a->owned[slot] = NULL;
		return NULL;
	}
	return stat(a->owned[slot], &st) == 0 ? a->owned[slot] : NULL;
}

static int use_blobs(struct args *a, bool arm, struct ek_error *err)
{
	const char *kname = arm ? "Image" : "bzImage";
	char cfg[16];
	const char *p;
	uint8_t *buf;
	size_t len;
	int r;

	snprintf(cfg, sizeof(cfg), "%s.config", kname);
	if (!a->kernel && !(a->kernel = blob(a, 0, kname)))
		return ek_fail(err, EK_EIO, "'%s': no %s in the blob folder",
			       a->blobs, kname);
	if (!a->kconfig)
		a->kconfig = blob(a, 1, cfg);
	if (!a->init)
		a->init = blob(a, 2, "init");
	if (!a->nsm)
		a->nsm = blob(a, 3, "nsm.ko");
	if (a->cmdline)
		return 0;
	if (!(p = blob(a, 4, "cmdline")))
		return 0;
	r = io_read_small_file(p, 1u << 20, &buf, &len, err);
	if (r)
		return r;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return ek_fail(err, EK_EFORMAT, "'%s': holds a NUL byte, which "
			       "a kernel command line cannot", p);
	}
	/* trimmed as nitro-cli trims it */
	while (len && strchr(" \t\n\v\f\r", buf[len - 1]) && buf[len - 1])
		buf[--len] = '\0';
	a->cmdline_buf = (char *)buf;
	a->cmdline = a->cmdline_buf + strspn(a->cmdline_buf, " \t\n\v\f\r");
	return 0;
}

/* eifkit's own init for the arch: ../libexec/eifkit/init-ARCH beside an
 * installed binary, or libexec/eifkit/init-ARCH in the build tree. */
static char *default_init(const char *arch)
{
	char exe[4096], *slash, *path = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *const where[] = { "/../libexec/eifkit/init-",
				      "/libexec/eifkit/init-" };
	struct stat st;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		if (asprintf(&path, "%s%s%s", exe, where[i], arch) < 0)
			return NULL;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return path;
		free(path);
	}
	return NULL;
}

static void release(struct args *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(a->owned); i++)
		free(a->owned[i]);
	free(a->cmdline_buf);
	treeopts_release(&a->tree);
}

/* -o and --pcrs: writable, distinct, and none of the inputs. */
static int check_outputs(const struct args *a, struct ek_error *err)
{
	const char *const outs[] = { a->output, a->pcrs };
	const struct cli_input ins[] = {
		{ "--kernel", a->kernel }, { "--kernel-config", a->kconfig },
		{ "--init", a->init }, { "--nsm", a->nsm },
		{ "--blobs", a->blobs }, { "--metadata", a->metadata },
		{ "--signing-certificate", a->cert }, { "--private-key", a->key },
		{ "--pin-file", a->sign.pin_file },
	};
	int r = cli_check_outputs(outs, ARRAY_SIZE(outs), ins, ARRAY_SIZE(ins),
				  err);

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(outs); i++)
		if (outs[i])
			r = build_plan_check_output(&a->tree.plan, outs[i], err);
	return r;
}

struct job {
	struct build_result tree;
	struct ramdisk sys, user;
	struct strbuf meta;
	struct json_value *custom, *docker;
	struct ek_signer *signer;
	struct cli_out out;
	char *init_owned, *os, *kver;
	int kernel_fd;
	uint64_t ksize;
	struct kernel_info kernel;
	struct eif_wsection sec[5];
	struct eif_write_opts wo;
};

static int prepare(struct args *a, struct job *j, struct ek_error *err)
{
	char time_buf[40], name_buf[256];
	bool arm;
	int r;

	if ((r = cli_parse_arch(a->arch, &j->wo.flags, err)))
		return r;
	arm = j->wo.flags & EIF_FLAG_ARM64;
	a->tree.plan.goarch = arm ? "arm64" : "amd64";
	if ((r = treeopts_environment(&a->tree, err)))
		return r;
	if (a->blobs && (r = use_blobs(a, arm, err)))
		return r;
	if (!a->kernel)
		return ek_fail(err, EK_EINVAL, "no kernel: give --kernel or --blobs");
	if (!a->init && !(a->init = j->init_owned =
			  default_init(arm ? "aarch64" : "x86_64")))
		return ek_fail(err, EK_EINVAL, "no init: give --init (eifkit's "
			       "own init for %s is not installed)",
			       arm ? "aarch64" : "x86_64");
	if (!a->cmdline)
		a->cmdline = arm ? default_cmdline_arm : default_cmdline_x86;
	if ((r = check_outputs(a, err)) ||
	    (r = cli_out_open(&j->out, a->output, a->pcrs, err)))
		return r;
	j->kernel_fd = cli_kernel_open("build", a->kernel, arm, !a->no_kcheck,
				       a->kformat_ok, &j->kernel, &j->ksize, err);
	if (j->kernel_fd < 0)
		return j->kernel_fd;
	if ((a->metadata && (r = metadata_load_custom(a->metadata, &j->custom, err))) ||
	    (r = cli_fill_identity(&a->id, build_default_name(&a->tree.plan,
						name_buf, sizeof(name_buf)),
				   a->kconfig, &j->kernel, time_buf, sizeof(time_buf),
				   &j->os, &j->kver, err)) ||
	    (a->cert && (r = cli_signer_load(&a->sign, a->cert, a->key,
					     &j->signer, err))) ||
	    (r = build_plan_run(&a->tree.plan, &j->tree, err)))
		return r;
	treeopts_warn(&a->tree, &j->tree, "build");
	if (!a->no_app_check) {
		const struct app_check ac = {
			.argv = j->tree.app.argv, .argc = j->tree.app.argc,
			.env = j->tree.app.env, .envc = j->tree.app.envc,
			.workdir = j->tree.app.workdir, .arm64 = arm, .root = "",
		};

		if ((r = app_check(&j->tree.tree, &ac, err)))
			return r;
	}
	if ((r = ramdisk_system(&j->sys, a->init, a->nsm, err)) ||
	    (r = ramdisk_user(&j->user, &j->tree.tree, &j->tree.app,
			      a->tree.plan.mtime, err)) ||
	    (r = ramdisk_open(&j->sys, err)) || (r = ramdisk_open(&j->user, err)))
		return r;
	if ((r = build_docker_info(&j->tree, &j->docker)))
		return ek_fail(err, r, "out of memory");
	a->id.docker_info = j->docker;
	a->id.custom = j->custom;
	metadata_serialize(&a->id, &j->meta);
	if (!strbuf_ok(&j->meta))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	j->sec[0].type = EIF_SEC_KERNEL;
	eif_source_file(&j->sec[0].src, a->kernel, j->kernel_fd, j->ksize);
	j->sec[1].type = EIF_SEC_CMDLINE;
	eif_source_mem(&j->sec[1].src, "cmdline", a->cmdline, strlen(a->cmdline));
	j->sec[2].type = EIF_SEC_METADATA;
	eif_source_mem(&j->sec[2].src, "metadata", j->meta.buf, j->meta.len);
	j->sec[3].type = j->sec[4].type = EIF_SEC_RAMDISK;
	eif_source_mem(&j->sec[3].src, "system ramdisk", NULL, 0);
	j->sec[3].src.read = cpio_writer_read;
	j->sec[3].src.ctx = j->sys.w;
	eif_source_mem(&j->sec[4].src, "user ramdisk", NULL, 0);
	j->sec[4].src.read = cpio_writer_read;
	j->sec[4].src.ctx = j->user.w;
	j->wo.signer = j->signer;
	return 0;
}

/* About the bytes of a ramdisk, for the progress line: headers, names
 * and data (padding and the trailer aside). */
static uint64_t ramdisk_estimate(const struct ramdisk *rd)
{
	uint64_t t = 0;

	for (size_t i = 0; i < rd->n; i++)
		t += 110 + strlen(rd->members[i].prefix) +
		     strlen(rd->members[i].e->path) + 1 + rd->members[i].e->size;
	return t;
}

static int build(struct args *a, struct ek_error *err)
{
	struct job j;
	struct eif_write_result res;
	struct progress pr;
	int r;

	memset(&j, 0, sizeof(j));
	j.kernel_fd = -1;
	j.out.eif.fd = j.out.pcrs.fd = -1;
	strbuf_init(&j.meta);
	r = prepare(a, &j, err);
	if (r == 0) {
		progress_start(&pr, "build", a->quiet, progress_total(j.sec, 5,
			       ramdisk_estimate(&j.sys) + ramdisk_estimate(&j.user)),
			       &j.wo);
		r = eif_write(j.out.eif.fd, a->output, j.sec, 5, &j.wo, &res, err);
		progress_end(&pr);
	}
	if (r == 0) {
		treeopts_warn_xattrs(&j.tree, j.user.w, "build");
		r = cli_out_finish(&j.out, &res, err);
	}
	cli_out_abort(&j.out);
	if (j.kernel_fd >= 0)
		close(j.kernel_fd);
	ramdisk_release(&j.sys);
	ramdisk_release(&j.user);
	build_result_release(&j.tree);
	strbuf_release(&j.meta);
	json_free(j.custom);
	json_free(j.docker);
	signer_free(j.signer);
	free(j.init_owned);
	free(j.os);
	free(j.kver);
	return r;
}

int cmd_build(int argc, char **argv)
{
	struct args a;
	struct ek_error err;
	int r;

	memset(&a, 0, sizeof(a));
	if (treeopts_init(&a.tree, argc)) {
		fprintf(stderr, "eifkit build: out of memory\n");
		return 1;
	}
	r = parse(argc, argv, &a);
	if (r < 0)
		r = print_help(help);
	else if (r == 0 && build(&a, &err))
		r = report("build", &err);
	release(&a);
	return r;
}
