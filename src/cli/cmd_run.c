/* cmd_run.c: boot an EIF on this machine under QEMU, its console on
 * stdout, and exit with the app's exit status (docs/eifkit-run.md). */
#include "base/internal.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/io.h"
#include "cli.h"
#include "eif/eif.h"

static const char usage[] =
	"usage: eifkit run [--memory MIB] [--cpus N] [--timeout SECONDS]\n"
	"                  [--kernel FILE] [--accel auto|kvm|tcg] FILE.eif\n";
static const char help[] =
	"usage: eifkit run [--memory MIB] [--cpus N] [--timeout SECONDS]\n"
	"                  [--kernel FILE] [--accel auto|kvm|tcg] FILE.eif\n"
	"\n"
	"Boot an EIF on this machine under QEMU (KVM when /dev/kvm is usable):\n"
	"its kernel, its ramdisks concatenated as the initrd, its cmdline plus\n"
	"the serial console and eifkit.heartbeat=off. The console goes to\n"
	"stdout; the exit status is the app's, as eifkit's init reports it.\n"
	"\n"
	"  --memory MIB       guest memory (default: the EIF's, at least 4x its size)\n"
	"  --cpus N           guest CPUs (default: the EIF's)\n"
	"  --timeout SECONDS  stop QEMU after this long and fail (default: none)\n"
	"  --kernel FILE      boot this kernel instead of the EIF's\n"
	"  --accel MODE       kvm, tcg (emulation) or auto: KVM when /dev/kvm\n"
	"                     opens and the EIF is this machine's arch (default)\n"
	"  -h, --help         this help\n";

#define STATUS_MARK "eifkit-init: app exited with status "
#define LINE_MAX_SCAN 256
#define CMDLINE_MAX (64u << 10)
#define COPY_CHUNK (1u << 20)
#define MIB (1ULL << 20)

struct run_opts {
	unsigned long long mem_mib;  /* 0: from the EIF */
	unsigned long long cpus;     /* 0: from the EIF */
	unsigned long long timeout;  /* seconds, 0: none */
	const char *kernel;          /* NULL: the EIF's */
	const char *accel;           /* "auto", "kvm" or "tcg" */
	const char *path;
};

struct guest {
	const char *qemu, *package, *console;
	bool arm64, kvm;
};

/* The app's status from the console: lines are scanned as they pass. */
struct scan {
	char line[LINE_MAX_SCAN];
	size_t len;
	bool overflow;
	int status; /* -1 until seen */
	unsigned long long bytes;
};

static volatile pid_t qemu_pid;

static void on_signal(int sig)
{
	if (qemu_pid > 0)
		kill(qemu_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int parse_num(const char *opt, const char *s, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *out < min || *out > max)
		return usage_error("run", usage, "%s: '%s' is not a number from "
				   "%llu to %llu", opt, s, min, max);
	return 0;
}

static void scan_line(struct scan *sc)
{
	const char *p = sc->line + sizeof(STATUS_MARK) - 1;
	int v = 0;

	if (sc->len < sizeof(STATUS_MARK) ||
	    memcmp(sc->line, STATUS_MARK, sizeof(STATUS_MARK) - 1))
		return;
	if (*p < '0' || *p > '9')
		return;
	for (; *p >= '0' && *p <= '9' && v < 1000; p++)
		v = v * 10 + (*p - '0');
	if (v <= 255)
		sc->status = v;
}

static void scan_bytes(struct scan *sc, const char *buf, size_t n)
{
	sc->bytes += n;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			sc->line[sc->len] = '\0';
			if (!sc->overflow)
				scan_line(sc);
			sc->len = 0;
			sc->overflow = false;
		} else if (buf[i] != '\r') {
			if (sc->len < sizeof(sc->line) - 1)
				sc->line[sc->len++] = buf[i];
			else
				sc->overflow = true;
		}
	}
}

/* A file with no name, gone when its last descriptor closes, on every
 * exit path; QEMU opens it as /proc/self/fd/N. */
static int tmp_open(struct ek_error *err)
{
	const char *dir = getenv("TMPDIR");
	char *tmpl;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : ek_fail_errno(err, EK_EIO, errno,
				"temporary file in '%s'", dir);
	if (asprintf(&tmpl, "%s/eifkit-run.XXXXXX", dir) < 0)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	fd = mkstemp(tmpl);
	if (fd < 0)
		ek_fail_errno(err, EK_EIO, errno, "temporary file in '%s'", dir);
	else
		unlink(tmpl);
	free(tmpl);
	return fd >= 0 ? fd : EK_EIO;
}

/* Append section i's data to fd. */
static int copy_section(const struct eif_image *img, unsigned i, int fd,
			uint8_t *buf, struct ek_error *err)
{
	uint64_t off = img->sec[i].offset + EIF_SEC_HDR_SIZE;
	uint64_t left = img->sec[i].size;
	size_t n;

	while (left > 0) {
		n = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		if (io_pread_full(img->fd, buf, n, off) != (ssize_t)n)
			return ek_fail_errno(err, EK_EIO, errno ? errno : EIO,
					     "'%s'", img->name);
		if (io_write_full(fd, buf, n) < 0)
			return ek_fail_errno(err, EK_EIO, errno,
					     "temporary file");
		off += n;
		left -= n;
	}
	return 0;
}

/* The kernel (unless one is given) and the ramdisks, concatenated in
 * order, into two nameless temporary files. */
static int extract(const struct eif_image *img, bool want_kernel,
		   int *kfd, int *ifd, struct ek_error *err)
{
	uint8_t *buf = malloc(COPY_CHUNK);
	int ret = 0;

	if (!buf)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	*ifd = tmp_open(err);
	if (*ifd < 0)
		ret = *ifd;
	if (!ret && want_kernel) {
		*kfd = tmp_open(err);
		ret = *kfd < 0 ? *kfd : copy_section(img, img->kernel, *kfd,
						     buf, err);
	}
	for (unsigned i = 0; !ret && i < img->nsec; i++)
		if (img->sec[i].type == EIF_SEC_RAMDISK)
			ret = copy_section(img, i, *ifd, buf, err);
	free(buf);
	return ret;
}

/* The EIF's cmdline (trailing NULs and blanks dropped), the console of
 * QEMU's machine and the heartbeat switch. Caller frees. */
static char *make_cmdline(const struct eif_image *img, const struct guest *g,
			  struct ek_error *err)
{
	uint64_t size = img->sec[img->cmdline].size;
	size_t len;
	char *s;

	if (size > CMDLINE_MAX) {
		ek_fail(err, EK_ELIMIT, "'%s': cmdline of %llu bytes", img->name,
			(unsigned long long)size);
		return NULL;
	}
	len = (size_t)size;
	s = malloc(len + 64);
	if (!s) {
		ek_fail(err, EK_ENOMEM, "out of memory");
		return NULL;
	}
	if (io_pread_full(img->fd, s, len, img->sec[img->cmdline].offset +
			  EIF_SEC_HDR_SIZE) != (ssize_t)len) {
		ek_fail_errno(err, EK_EIO, errno ? errno : EIO, "'%s'", img->name);
		free(s);
		return NULL;
	}
	while (len > 0 && (s[len - 1] == '\0' || s[len - 1] == ' ' ||
			   s[len - 1] == '\n'))
		len--;
	if (memchr(s, '\0', len)) {
		ek_fail(err, EK_EFORMAT, "'%s': the cmdline holds a NUL byte",
			img->name);
		free(s);
		return NULL;
	}
	snprintf(s + len, 64, "%sconsole=%s eifkit.heartbeat=off",
		 len ? " " : "", g->console);
	return s;
}

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH"), *end;
	char buf[4096];

	for (; path && *path; path = *end ? end + 1 : end) {
		end = strchrnul(path, ':');
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - path),
			     path, prog) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

static void pick_guest(const struct eif_image *img, const char *accel,
		       struct guest *g)
{
	struct utsname u;
	int fd;

	g->arm64 = img->hdr.flags & EIF_FLAG_ARM64;
	g->qemu = g->arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
	g->package = g->arm64 ? "qemu-system-arm" : "qemu-system-x86";
	g->console = g->arm64 ? "ttyAMA0" : "ttyS0";
	g->kvm = !strcmp(accel, "kvm");
	if (!strcmp(accel, "auto") && uname(&u) == 0 &&
	    !strcmp(u.machine, g->arm64 ? "aarch64" : "x86_64")) {
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		g->kvm = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
}

struct boot {
	struct eif_image img;
	struct guest g;
	int kfd, ifd, out;     /* temporaries; QEMU's console pipe */
	char *cmdline;
	pid_t pid;
	char kpath[32], ipath[32], mem[32], smp[32];
};

#define QEMU_ARGS_MAX 32

static void qemu_argv(struct boot *b, const struct run_opts *o,
		      const char **av)
{
	size_t n = 0;

	av[n++] = b->g.qemu;
	if (b->g.arm64) {
		av[n++] = "-M";
		av[n++] = b->g.kvm ? "virt,gic-version=host" : "virt";
	}
	av[n++] = "-accel";
	av[n++] = b->g.kvm ? "kvm" : "tcg";
	av[n++] = "-cpu";
	av[n++] = b->g.kvm ? "host" : b->g.arm64 ? "cortex-a57" : "max";
	av[n++] = "-m";
	av[n++] = b->mem;
	av[n++] = "-smp";
	av[n++] = b->smp;
	av[n++] = "-nodefaults";
	av[n++] = "-no-user-config";
	av[n++] = "-display";
	av[n++] = "none";
	av[n++] = "-no-reboot";
	av[n++] = "-serial";
	av[n++] = "stdio";
	av[n++] = "-kernel";
	av[n++] = o->kernel ? o->kernel : b->kpath;
	av[n++] = "-initrd";
	av[n++] = b->ipath;
	av[n++] = "-append";
	av[n++] = b->cmdline;
	av[n] = NULL;
}

/* QEMU with stdin from /dev/null and stdout into a pipe we read. */
static int spawn(struct boot *b, const char **av, struct ek_error *err)
{
	int p[2], nul;

	if (pipe2(p, O_CLOEXEC) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "pipe");
	b->pid = fork();
	if (b->pid < 0) {
		close(p[0]);
		close(p[1]);
		return ek_fail_errno(err, EK_EIO, errno, "fork");
	}
	if (b->pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		execvp(av[0], (char *const *)av);
		fprintf(stderr, "eifkit run: %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	qemu_pid = b->pid;
	close(p[1]);
	b->out = p[0];
	return 0;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

enum pump_end { PUMP_EOF, PUMP_TIMEOUT, PUMP_STDOUT };

/* Console to stdout until QEMU closes it, the deadline (when not 0) or
 * stdout fails (errno set). */
static int pump(int fd, long long deadline, struct scan *sc)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[65536];
	long long left;
	ssize_t n;
	int r;

	for (;;) {
		left = deadline ? deadline - now_ms() : -1;
		if (deadline && left <= 0)
			return PUMP_TIMEOUT;
		r = poll(&pfd, 1, left < 0 ? -1 : left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return PUMP_EOF;
		if (io_write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
			return PUMP_STDOUT;
		scan_bytes(sc, buf, (size_t)n);
	}
}

static int wait_qemu(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	qemu_pid = 0;
	return st;
}

static int prepare(struct boot *b, const struct run_opts *o,
		   struct ek_error *err)
{
	unsigned long long mem = o->mem_mib, min4x;
	int ret;

	ret = eif_open(o->path, &b->img, EIF_READ_NOHASH, err);
	if (ret)
		return ret;
	if (o->kernel) {
		ret = io_open_input(o->kernel, 0, NULL, err);
		if (ret < 0)
			return ret;
		close(ret);
	}
	pick_guest(&b->img, o->accel, &b->g);
	if (!on_path(b->g.qemu))
		return ek_fail(err, EK_EINVAL, "%s is not on PATH (Debian and "
			       "Ubuntu: apt-get install %s)", b->g.qemu,
			       b->g.package);
	min4x = (b->img.file_size * 4 + MIB - 1) / MIB;
	if (!mem)
		mem = b->img.hdr.default_mem / MIB > min4x ?
		      b->img.hdr.default_mem / MIB : min4x;
	snprintf(b->mem, sizeof(b->mem), "%llu", mem < 64 ? 64 : mem);
	snprintf(b->smp, sizeof(b->smp), "%llu",
		 o->cpus ? o->cpus : b->img.hdr.default_cpus ?
		 (unsigned long long)b->img.hdr.default_cpus : 1);
	b->cmdline = make_cmdline(&b->img, &b->g, err);
	if (!b->cmdline)
		return err->code;
	ret = extract(&b->img, !o->kernel, &b->kfd, &b->ifd, err);
	if (ret)
		return ret;
	snprintf(b->kpath, sizeof(b->kpath), "/proc/self/fd/%d", b->kfd);
	snprintf(b->ipath, sizeof(b->ipath), "/proc/self/fd/%d", b->ifd);
	return 0;
}

static void release(struct boot *b)
{
	if (b->kfd >= 0)
		close(b->kfd);
	if (b->ifd >= 0)
		close(b->ifd);
	if (b->out >= 0)
		close(b->out);
	b->kfd = b->ifd = b->out = -1;
	free(b->cmdline);
	b->cmdline = NULL;
	eif_image_release(&b->img);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* One QEMU run: console to stdout until it ends or the deadline.
 * Returns an enum pump_end (*st: QEMU's wait status), or a negative
 * ek_code when QEMU could not be started. */
static int run_qemu(struct boot *b, const struct run_opts *o,
		    long long deadline, struct scan *sc, int *st,
		    struct ek_error *err)
{
	const char *av[QEMU_ARGS_MAX];
	int r;

	qemu_argv(b, o, av);
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "eifkit run: booting %s: %s, %s, %s MiB, %s CPUs\n",
			o->path, b->g.qemu, b->g.kvm ? "KVM" : "emulated",
			b->mem, b->smp);
	r = spawn(b, av, err);
	if (r)
		return r;
	r = pump(b->out, deadline, sc);
	if (r != PUMP_EOF)
		kill(b->pid, SIGKILL);
	*st = wait_qemu(b->pid);
	close(b->out);
	b->out = -1;
	return r;
}

static bool failed(int st)
{
	return st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

/* Boot, pass the console through, and turn what happened into our exit
 * status: the app's, or 1 with a message. With --accel auto, a QEMU that
 * fails under KVM before the guest prints a byte (nested KVM that does
 * not work) is run again, emulated. */
static int boot(struct boot *b, const struct run_opts *o, struct ek_error *err)
{
	long long deadline = o->timeout ? now_ms() + (long long)o->timeout * 1000 : 0;
	struct scan sc = { .status = -1 };
	int r, st = 0;

	catch_signals();
	r = run_qemu(b, o, deadline, &sc, &st, err);
	if (r == PUMP_EOF && b->g.kvm && !strcmp(o->accel, "auto") && !sc.bytes &&
	    failed(st)) {
		fprintf(stderr, "eifkit run: %s failed under KVM before the guest "
			"started; emulating instead (--accel tcg)\n", b->g.qemu);
		b->g.kvm = false;
		r = run_qemu(b, o, deadline, &sc, &st, err);
	}
	if (r < 0)
		return r;
	if (r == PUMP_TIMEOUT)
		return ek_fail(err, EK_EIO, "'%s': timed out after %llu s; QEMU "
			       "stopped", o->path, o->timeout);
	if (r == PUMP_STDOUT)
		return ek_fail_errno(err, EK_EIO, errno, "stdout");
	if (sc.status >= 0)
		return sc.status;
	if (failed(st))
		return ek_fail(err, EK_EIO, "'%s': %s failed (%s %d)", o->path,
			       b->g.qemu, st >= 0 && WIFSIGNALED(st) ?
			       "signal" : "exit status", st < 0 ? -1 :
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return ek_fail(err, EK_EIO, "'%s': the console showed no exit status "
		       "(eifkit's init prints one: another init, or it failed)",
		       o->path);
}

#define PARSED_HELP (-1)

/* 0, PARSED_HELP (help printed) or 2 (usage error, printed). */
static int parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option options[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "accel", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;

	memset(o, 0, sizeof(*o));
	o->accel = "auto";
	while (!ret && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help) == 0 ? PARSED_HELP : 1;
		else if (c == 'm')
			ret = parse_num("--memory", optarg, 64, 1ULL << 24, &o->mem_mib);
		else if (c == 'c')
			ret = parse_num("--cpus", optarg, 1, 255, &o->cpus);
		else if (c == 't')
			ret = parse_num("--timeout", optarg, 0, 1ULL << 30, &o->timeout);
		else if (c == 'k')
			o->kernel = optarg;
		else if (c == 'a' && (!strcmp(optarg, "auto") ||
				      !strcmp(optarg, "kvm") || !strcmp(optarg, "tcg")))
			o->accel = optarg;
		else if (c == 'a')
			ret = usage_error("run", usage, "--accel: '%s' is not auto, "
					  "kvm or tcg", optarg);
		else
			ret = option_error("run", usage, c, argv);
	}
	if (!ret && argc - optind != 1)
		ret = usage_error("run", usage, "give one EIF file");
	if (!ret)
		o->path = argv[optind];
	return ret;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct boot b;
	struct ek_error err;
	int ret;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret == PARSED_HELP ? 0 : ret;
	memset(&b, 0, sizeof(b));
	b.kfd = b.ifd = b.out = -1;
	ret = prepare(&b, &o, &err);
	if (!ret)
		ret = boot(&b, &o, &err);
	release(&b);
	if (ret < 0)
		return report("run", &err);
	return ret;
}
