/* cmd_run.c: boot an EIF on this machine under QEMU, show what its app
 * prints, and exit with the app's exit status (docs/eifkit-run.md).
 * qemu.c starts the guest; console.c reads its console. */
#include "base/internal.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "console.h"
#include "qemu.h"

static const char usage[] =
	"usage: eifkit run [--console | --quiet] [--json] [--memory MIB] [--cpus N]\n"
	"                  [--timeout SECONDS] [--kernel FILE]\n"
	"                  [--accel auto|kvm|tcg] FILE.eif\n";
static const char help[] =
	"usage: eifkit run [--console | --quiet] [--json] [--memory MIB] [--cpus N]\n"
	"                  [--timeout SECONDS] [--kernel FILE]\n"
	"                  [--accel auto|kvm|tcg] FILE.eif\n"
	"\n"
	"Boot an EIF on this machine under QEMU (KVM when /dev/kvm is usable):\n"
	"its kernel, its ramdisks concatenated as the initrd, its cmdline plus\n"
	"the serial console and eifkit.heartbeat=off. The app's output goes to\n"
	"stdout, the init's messages to stderr; the exit status is the app's,\n"
	"as eifkit's init reports it.\n"
	"\n"
	"  --console          the whole console on stdout, kernel log included\n"
	"  --json             the app's output to stderr instead, and on stdout\n"
	"                     {\"ExitStatus\", \"Accel\", \"Error\"} at the end\n"
	"  --quiet            only the app's output: no status line, no init\n"
	"                     messages (errors are still reported)\n"
	"  --memory MIB       guest memory (default: the EIF's, at least 4x its size)\n"
	"  --cpus N           guest CPUs (default: the EIF's)\n"
	"  --timeout SECONDS  stop QEMU after this long and fail (default: none)\n"
	"  --kernel FILE      boot this kernel instead of the EIF's\n"
	"  --accel MODE       kvm, tcg (emulation) or auto: KVM when /dev/kvm\n"
	"                     opens and the EIF is this machine's arch (default)\n"
	"  -h, --help         this help\n";

struct run_opts {
	struct qemu_opts q;
	unsigned long long timeout;  /* seconds, 0: none */
	enum console_mode mode;
	bool json;
	const char *path;
};

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

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A KVM guest shows its first kernel lines well within a second. One
 * that shows nothing for this long is not running (nested KVM can stop
 * a guest right after the kernel's setup code, with no error). */
#define KVM_SILENCE_MS 10000

enum pump_end { PUMP_EOF, PUMP_TIMEOUT, PUMP_STDOUT, PUMP_SILENT };

/* The console into c until QEMU closes it, the deadline (when not 0),
 * stdout fails (errno set) or, with watch, the guest is silent for
 * KVM_SILENCE_MS from the start. */
static int pump(int fd, long long deadline, bool watch, struct console *c)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long silent = watch ? now_ms() + KVM_SILENCE_MS : 0;
	long long t, until, left;
	char buf[65536];
	ssize_t n;
	int r;

	for (;;) {
		t = now_ms();
		if (silent && c->bytes)
			silent = 0;
		if (deadline && deadline <= t)
			return PUMP_TIMEOUT;
		if (silent && silent <= t)
			return PUMP_SILENT;
		until = silent && (!deadline || silent < deadline) ? silent : deadline;
		left = until ? until - t : -1;
		r = poll(&pfd, 1, left < 0 ? -1 : left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno != EINTR)
			break; /* poll itself failing: treat as the end */
		if (r <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (console_feed(c, buf, (size_t)n) < 0)
			return PUMP_STDOUT;
	}
	return console_end(c) < 0 ? PUMP_STDOUT : PUMP_EOF;
}

/* One QEMU run: the console until it ends or the deadline. Returns an
 * enum pump_end (*st: QEMU's wait status), or a negative ek_code when
 * QEMU could not be started. */
static int run_qemu(struct qemu *q, const struct run_opts *o,
		    long long deadline, struct console *c, int *st,
		    struct ek_error *err)
{
	int r = qemu_start(q, &o->q, err);

	if (r)
		return r;
	r = pump(q->out, deadline, q->kvm && q->watch, c);
	if (r != PUMP_EOF)
		qemu_kill();
	*st = qemu_wait(q);
	return r;
}

static bool failed(int st)
{
	return st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

/* The one line that says the boot is emulated, and how long it takes. */
enum { FELL_BACK_NOT, FELL_BACK_FAILED, FELL_BACK_SILENT };

static void say_emulated(const struct qemu *q, const struct run_opts *o,
			 int fell_back)
{
	if (o->mode == CONSOLE_QUIET)
		return;
	if (fell_back == FELL_BACK_SILENT)
		fprintf(stderr, "eifkit run: the KVM guest showed nothing in %d s; "
			"emulating, boot takes ~%us (--accel tcg skips KVM)\n",
			KVM_SILENCE_MS / 1000, qemu_boot_estimate(q));
	else if (fell_back)
		fprintf(stderr, "eifkit run: %s failed under KVM before the guest "
			"started; emulating, boot takes ~%us (--accel tcg skips "
			"KVM)\n", q->qemu, qemu_boot_estimate(q));
	else if (!strcmp(o->q.accel, "tcg"))
		fprintf(stderr, "eifkit run: emulating (--accel tcg), boot takes "
			"~%us\n", qemu_boot_estimate(q));
	else
		fprintf(stderr, "eifkit run: no KVM%s: emulating, boot takes ~%us\n",
			q->foreign ? " for another architecture" : "",
			qemu_boot_estimate(q));
}

/* Why there is no exit status, in one line. */
static int no_status(const struct qemu *q, const struct run_opts *o,
		     const struct console *c, int st, struct ek_error *err)
{
	if (failed(st))
		return ek_fail(err, EK_EIO, "'%s': %s failed (%s %d)", o->path,
			       q->qemu, st >= 0 && WIFSIGNALED(st) ?
			       "signal" : "exit status", st < 0 ? -1 :
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	if (c->panic[0])
		return ek_fail(err, EK_EIO, "'%s': the kernel stopped: %s "
			       "(--console shows its log)", o->path, c->panic);
	if (c->last_init[0] && o->mode != CONSOLE_APP)
		return ek_fail(err, EK_EIO, "'%s': the init stopped before the "
			       "app's exit status: %s", o->path, c->last_init);
	if (c->last_init[0])
		return ek_fail(err, EK_EIO, "'%s': the init stopped before the "
			       "app's exit status (its message is above)", o->path);
	return ek_fail(err, EK_EIO, "'%s': the console showed no exit status "
		       "(eifkit's init prints one: another init, or it failed; "
		       "--console shows the kernel's log)", o->path);
}

/* Boot, pass the app's output through, and turn what happened into our
 * exit status (*status_ret: the app's). With --accel auto, a guest that
 * shows nothing under KVM, because QEMU failed or for KVM_SILENCE_MS
 * (nested KVM that does not work), is run again, emulated. */
static int boot(struct qemu *q, const struct run_opts *o, int *status_ret,
		struct ek_error *err)
{
	long long deadline = o->timeout ? now_ms() + (long long)o->timeout * 1000 : 0;
	struct console c;
	int r, st = 0;

	console_init(&c, o->mode);
	if (o->json)
		c.out_fd = STDERR_FILENO; /* stdout is for the summary */
	if (!q->kvm)
		say_emulated(q, o, FELL_BACK_NOT);
	r = run_qemu(q, o, deadline, &c, &st, err);
	if (q->watch && !c.bytes &&
	    (r == PUMP_SILENT || (r == PUMP_EOF && failed(st)))) {
		q->kvm = false;
		say_emulated(q, o, r == PUMP_SILENT ? FELL_BACK_SILENT :
			     FELL_BACK_FAILED);
		r = run_qemu(q, o, deadline, &c, &st, err);
	}
	if (r < 0)
		return r;
	if (r == PUMP_TIMEOUT)
		return ek_fail(err, EK_EIO, "'%s': timed out after %llu s; QEMU "
			       "stopped", o->path, o->timeout);
	if (r == PUMP_STDOUT)
		return ek_fail_errno(err, EK_EIO, errno, "stdout");
	if (c.status < 0)
		return no_status(q, o, &c, st, err);
	*status_ret = c.status;
	return 0;
}

/* run --json: {"ExitStatus": N or null, "Accel": "kvm" or "tcg",
 * "Error": null or the message}, for scripts; the app's own output went
 * to stderr. */
static int print_summary(const int *status, bool kvm, const char *error)
{
	struct json_value *o = json_new_object();
	int r = !o ||
		json_object_push(o, "ExitStatus", status ?
				 json_new_u64((uint64_t)*status) : json_new_null()) ||
		json_object_push(o, "Accel", json_new_string(kvm ? "kvm" : "tcg")) ||
		json_object_push(o, "Error", error ? json_new_string(error)
						   : json_new_null());

	if (!r)
		r = print_json(o);
	json_free(o);
	return r || fflush(stdout) != 0;
}

#define PARSED_HELP (-1)

/* 0, PARSED_HELP (help printed) or 2 (usage error, printed). */
static int parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option options[] = {
		{ "console", no_argument, NULL, 'C' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "accel", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool console = false, quiet = false;
	int c, ret = 0;

	memset(o, 0, sizeof(*o));
	o->q.accel = "auto";
	while (!ret && (c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help) == 0 ? PARSED_HELP : 1;
		else if (c == 'C')
			console = true;
		else if (c == 'q')
			quiet = true;
		else if (c == 'j')
			o->json = true;
		else if (c == 'm')
			ret = parse_num("--memory", optarg, 64, 1ULL << 24, &o->q.mem_mib);
		else if (c == 'c')
			ret = parse_num("--cpus", optarg, 1, 255, &o->q.cpus);
		else if (c == 't')
			ret = parse_num("--timeout", optarg, 0, 1ULL << 30, &o->timeout);
		else if (c == 'k')
			o->q.kernel = optarg;
		else if (c == 'a' && (!strcmp(optarg, "auto") ||
				      !strcmp(optarg, "kvm") || !strcmp(optarg, "tcg")))
			o->q.accel = optarg;
		else if (c == 'a')
			ret = usage_error("run", usage, "--accel: '%s' is not auto, "
					  "kvm or tcg", optarg);
		else
			ret = option_error("run", usage, c, argv);
	}
	if (!ret && console && quiet)
		ret = usage_error("run", usage, "give --console or --quiet, not both");
	if (!ret && argc - optind != 1)
		ret = usage_error("run", usage, "give one EIF file");
	if (ret)
		return ret;
	o->path = argv[optind];
	o->mode = console ? CONSOLE_ALL : quiet ? CONSOLE_QUIET : CONSOLE_APP;
	o->q.hide_kernel = !console;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct qemu q;
	struct ek_error err;
	int ret, status = 0;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret == PARSED_HELP ? 0 : ret;
	memset(&q, 0, sizeof(q));
	q.kfd = q.ifd = q.out = -1;
	/* a signal that ends eifkit (main.c) ends its QEMU too */
	cli_at_signal(qemu_kill);
	ret = qemu_prepare(&q, o.path, &o.q, &err);
	if (!ret)
		ret = boot(&q, &o, &status, &err);
	qemu_release(&q);
	if (o.json && print_summary(ret ? NULL : &status, q.kvm,
				    ret ? err.msg : NULL))
		fprintf(stderr, "eifkit run: cannot write to stdout\n");
	if (ret)
		return report("run", &err);
	return status;
}
