/* qemu.c: the QEMU side of `eifkit run`: which machine, what it boots,
 * its command line, and the process (docs/eifkit-run.md). */
#include "base/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/io.h"
#include "cli.h"
#include "qemu.h"

#define CMDLINE_MAX (64u << 10)
#define CMDLINE_EXTRA 128
#define COPY_CHUNK (1u << 20)
#define MIB (1ULL << 20)
#define QEMU_ARGS_MAX 32

static volatile pid_t running_pid;

/* A file with no name, gone when its last descriptor closes, on every
 * exit path; QEMU opens it as /proc/self/fd/N. */
static int tmp_open(struct ek_error *err)
{
	const char *dir = cli_tmpdir();
	char *tmpl;
	int fd;

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
static int extract(struct qemu *q, bool want_kernel, struct ek_error *err)
{
	const struct eif_image *img = &q->img;
	uint8_t *buf = malloc(COPY_CHUNK);
	int ret = 0;

	if (!buf)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	q->ifd = tmp_open(err);
	if (q->ifd < 0)
		ret = q->ifd;
	if (!ret && want_kernel) {
		q->kfd = tmp_open(err);
		ret = q->kfd < 0 ? q->kfd : copy_section(img, img->kernel,
							 q->kfd, buf, err);
	}
	for (unsigned i = 0; !ret && i < img->nsec; i++)
		if (img->sec[i].type == EIF_SEC_RAMDISK) {
			ret = copy_section(img, i, q->ifd, buf, err);
			q->initrd_size += img->sec[i].size;
		}
	free(buf);
	return ret;
}

/* The EIF's cmdline (trailing NULs and blanks dropped), the console of
 * QEMU's machine and the heartbeat switch; with hide_kernel, the
 * timestamps that tell the kernel's lines from the app's (console.h) and,
 * unless KVM is being tried (whose first lines show that the guest runs),
 * the log level that keeps the kernel's messages off the console,
 * emergencies excepted: nothing then breaks into the app's lines, and an
 * emulated boot does not spend time on a log nobody sees. Caller frees. */
static char *make_cmdline(const struct qemu *q, bool hide_kernel,
			  struct ek_error *err)
{
	const struct eif_image *img = &q->img;
	uint64_t size = img->sec[img->cmdline].size;
	size_t len;
	char *s;

	if (size > CMDLINE_MAX) {
		ek_fail(err, EK_ELIMIT, "'%s': cmdline of %llu bytes", img->name,
			(unsigned long long)size);
		return NULL;
	}
	len = (size_t)size;
	s = malloc(len + CMDLINE_EXTRA);
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
	snprintf(s + len, CMDLINE_EXTRA, "%sconsole=%s eifkit.heartbeat=off%s%s",
		 len ? " " : "", q->console,
		 hide_kernel && !q->watch ? " loglevel=1" : "",
		 hide_kernel ? " printk.time=1" : "");
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

static void pick_machine(struct qemu *q, const char *accel)
{
	struct utsname u;
	int fd;

	q->arm64 = q->img.hdr.flags & EIF_FLAG_ARM64;
	q->qemu = q->arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
	q->package = q->arm64 ? "qemu-system-arm" : "qemu-system-x86";
	q->console = q->arm64 ? "ttyAMA0" : "ttyS0";
	q->kvm = !strcmp(accel, "kvm");
	q->foreign = uname(&u) != 0 ||
		     strcmp(u.machine, q->arm64 ? "aarch64" : "x86_64");
	if (!strcmp(accel, "auto") && !q->foreign) {
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		q->kvm = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
}

int qemu_prepare(struct qemu *q, const char *path, const struct qemu_opts *o,
		 struct ek_error *err)
{
	unsigned long long mem = o->mem_mib, min4x;
	int ret;

	ret = eif_open(path, &q->img, EIF_READ_NOHASH, err);
	if (ret)
		return ret;
	if (o->kernel) {
		ret = io_open_input(o->kernel, 0, NULL, err);
		if (ret < 0)
			return ret;
		close(ret);
	}
	pick_machine(q, o->accel);
	if (!on_path(q->qemu))
		return ek_fail(err, EK_EINVAL, "%s is not on PATH (Debian and "
			       "Ubuntu: apt-get install %s)", q->qemu,
			       q->package);
	/* The kernel unpacks the ramdisks into memory: nitro-cli asks
	 * for 4x the EIF's size too. */
	min4x = (q->img.file_size * 4 + MIB - 1) / MIB;
	if (!mem)
		mem = q->img.hdr.default_mem / MIB > min4x ?
		      q->img.hdr.default_mem / MIB : min4x;
	snprintf(q->mem, sizeof(q->mem), "%llu", mem < 64 ? 64 : mem);
	snprintf(q->smp, sizeof(q->smp), "%llu",
		 o->cpus ? o->cpus : q->img.hdr.default_cpus ?
		 (unsigned long long)q->img.hdr.default_cpus : 1);
	q->watch = q->kvm && !strcmp(o->accel, "auto");
	q->cmdline = make_cmdline(q, o->hide_kernel, err);
	if (!q->cmdline)
		return err->code;
	ret = extract(q, !o->kernel, err);
	if (ret)
		return ret;
	snprintf(q->kpath, sizeof(q->kpath), "/proc/self/fd/%d", q->kfd);
	snprintf(q->ipath, sizeof(q->ipath), "/proc/self/fd/%d", q->ifd);
	return 0;
}

static void qemu_argv(const struct qemu *q, const struct qemu_opts *o,
		      const char **av)
{
	size_t n = 0;

	av[n++] = q->qemu;
	if (q->arm64) {
		av[n++] = "-M";
		av[n++] = q->kvm ? "virt,gic-version=host" : "virt";
	}
	av[n++] = "-accel";
	av[n++] = q->kvm ? "kvm" : "tcg";
	av[n++] = "-cpu";
	av[n++] = q->kvm ? "host" : q->arm64 ? "cortex-a57" : "max";
	av[n++] = "-m";
	av[n++] = q->mem;
	av[n++] = "-smp";
	av[n++] = q->smp;
	av[n++] = "-nodefaults";
	av[n++] = "-no-user-config";
	av[n++] = "-display";
	av[n++] = "none";
	av[n++] = "-no-reboot";
	av[n++] = "-serial";
	av[n++] = "stdio";
	av[n++] = "-kernel";
	av[n++] = o->kernel ? o->kernel : q->kpath;
	av[n++] = "-initrd";
	av[n++] = q->ipath;
	av[n++] = "-append";
	av[n++] = q->cmdline;
	av[n] = NULL;
}

int qemu_start(struct qemu *q, const struct qemu_opts *o, struct ek_error *err)
{
	const char *av[QEMU_ARGS_MAX];
	int p[2], nul;

	qemu_argv(q, o, av);
	if (pipe2(p, O_CLOEXEC) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "pipe");
	q->pid = fork();
	if (q->pid < 0) {
		close(p[0]);
		close(p[1]);
		return ek_fail_errno(err, EK_EIO, errno, "fork");
	}
	if (q->pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		execvp(av[0], (char *const *)av);
		fprintf(stderr, "eifkit run: %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	running_pid = q->pid;
	close(p[1]);
	q->out = p[0];
	return 0;
}

void qemu_kill(void)
{
	if (running_pid > 0)
		kill(running_pid, SIGKILL);
}

int qemu_wait(struct qemu *q)
{
	int st;

	if (q->out >= 0)
		close(q->out);
	q->out = -1;
	while (waitpid(q->pid, &st, 0) < 0)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	running_pid = 0;
	q->pid = 0;
	return st;
}

/*
 * How long an emulated boot takes, to tell the user before a wait with
 * nothing to see. Measured (eifkit run --accel tcg --quiet of the README's
 * busybox EIF, Debian 12's 6.1 kernels, QEMU 7.2, 2-core AMD EPYC host):
 * about 4.5 s to the app on x86_64 (-cpu max) and 2.5 s on aarch64
 * (cortex-a57), plus about 0.005 s per MiB of initrd (a 200 MiB one
 * added 0.8 s). A busy machine is slower: the sum is scaled by 1 + the
 * load average per CPU, at most 3x. Only an estimate, for the status
 * line: nothing waits on it.
 */
#define BOOT_S_X86_64 4.5
#define BOOT_S_AARCH64 2.5
#define BOOT_S_PER_MIB 0.005

unsigned qemu_boot_estimate(const struct qemu *q)
{
	double s = q->arm64 ? BOOT_S_AARCH64 : BOOT_S_X86_64;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double load, k = 1.0;

	s += BOOT_S_PER_MIB * (double)(q->initrd_size >> 20);
	if (ncpu > 0 && getloadavg(&load, 1) == 1)
		k += load / (double)ncpu;
	s *= k > 3.0 ? 3.0 : k;
	return s < 1.0 ? 1 : (unsigned)(s + 0.5);
}

void qemu_release(struct qemu *q)
{
	if (q->kfd >= 0)
		close(q->kfd);
	if (q->ifd >= 0)
		close(q->ifd);
	if (q->out >= 0)
		close(q->out);
	q->kfd = q->ifd = q->out = -1;
	free(q->cmdline);
	q->cmdline = NULL;
	eif_image_release(&q->img);
}
