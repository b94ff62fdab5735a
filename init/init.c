/* init.c: eifkit's enclave init, PID 1 of a Nitro Enclave.
 *
 * It keeps the contract of AWS's init (AWS-BUILD-AND-INIT.md section 2),
 * so that EIFs built by nitro-cli run with it and EIFs built with it run
 * with AWS's:
 *
 *   1. block every signal; mount devtmpfs on /dev; stdio on /dev/console
 *   2. load /nsm.ko with finit_module when it is there
 *   3. the heartbeat: 0xB7 to vsock CID 3 port 9000 and back (unless the
 *      kernel command line says eifkit.heartbeat=off)
 *   4. read and remove /cmd, /env and (eifkit's) /workdir
 *   5. switch root to /rootfs; devtmpfs, proc, the /dev links, /run, /tmp,
 *      /dev/shm, devpts, sysfs, cgroup v1 per controller
 *   6. bring up lo; start the app in its own session, signals unblocked,
 *      in its workdir, the command looked up in its own PATH
 *   7. reap every child; forward SIGTERM and SIGINT to the app; when the
 *      app ends print "eifkit-init: app exited with status N" and reboot
 *
 * Every failure prints what failed and the errno name, then powers off. */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartbeat.h"
#include "init.h"

#define NSM_PATH "/nsm.ko"
#define CMDLINE_MAX 8192 /* the kernel's own limit is 2048 to 4096 */
#define HB_SWITCH "eifkit.heartbeat="

static void block_signals(void)
{
	sigset_t all;

	if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		die_errno(errno, "sigprocmask");
}

static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		die_errno(errno, "open /dev/console");
	for (int i = 0; i <= 2; i++)
		if (fd != i && dup2(fd, i) < 0)
			die_errno(errno, "dup2 /dev/console to fd %d", i);
	if (fd > 2 && close(fd) < 0)
		die_errno(errno, "close /dev/console");
}

/* The NSM driver, when the system ramdisk has it (kernels from 6.8 have
 * it built in, so an absent one is fine). */
static void load_nsm(void)
{
	int fd = open(NSM_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return;
	if (fd < 0)
		die_errno(errno, "open %s", NSM_PATH);
	if (syscall(SYS_finit_module, fd, "", 0) < 0) {
		if (errno != EEXIST)
			die_errno(errno, "finit_module %s", NSM_PATH);
		say("%s: a module of that name is already loaded", NSM_PATH);
	}
	if (close(fd) < 0)
		die_errno(errno, "close %s", NSM_PATH);
	if (unlink(NSM_PATH) < 0)
		warn_errno(errno, "unlink %s", NSM_PATH);
}

/* eifkit.heartbeat=off|on on the kernel command line; the last one wins
 * and it is on by default. */
static int heartbeat_wanted(void)
{
	static char cmdline[CMDLINE_MAX];
	const size_t plen = sizeof(HB_SWITCH) - 1;
	int on = 1;
	size_t len;

	read_kernel_cmdline(cmdline, sizeof(cmdline));
	for (char *w = cmdline; *w; w += len) {
		w += strspn(w, " \t\n");
		len = strcspn(w, " \t\n");
		if (len < plen || strncmp(w, HB_SWITCH, plen))
			continue;
		if (len == plen + 3 && !strncmp(w + plen, "off", 3))
			on = 0;
		else if (len == plen + 2 && !strncmp(w + plen, "on", 2))
			on = 1;
		else
			say("ignoring %.*s: give on or off", (int)len, w);
	}
	return on;
}

static void send_heartbeat(void)
{
	struct hb_result r;

	if (heartbeat(HEARTBEAT_CID, HEARTBEAT_PORT, &r) == 0)
		return;
	if (r.step == HB_EOF)
		die("heartbeat: vsock %d:%d closed without a reply",
		    HEARTBEAT_CID, HEARTBEAT_PORT);
	if (r.step == HB_REPLY)
		die("heartbeat: vsock %d:%d replied 0x%02x, not 0x%02x",
		    HEARTBEAT_CID, HEARTBEAT_PORT, r.reply, HEARTBEAT_BYTE);
	say("no heartbeat: outside a Nitro Enclave, boot with "
	    "eifkit.heartbeat=off");
	die_errno(r.err, "heartbeat: %s vsock %d:%d", hb_step_name(r.step),
		  HEARTBEAT_CID, HEARTBEAT_PORT);
}

/* lo up: the kernel gives it 127.0.0.1 and ::1 by itself. A kernel
 * without IPv4 has no lo to speak of, which is only worth a warning. */
static void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		warn_errno(errno, "socket(AF_INET): lo stays down");
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die_errno(errno, "SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die_errno(errno, "SIOCSIFFLAGS lo");
	if (close(fd) < 0)
		die_errno(errno, "close socket");
}

static void enter_workdir(const struct config *c)
{
	if (c->workdir && chdir(c->workdir) < 0)
		die_errno(errno, "chdir to the workdir %s", c->workdir);
}

/* In the child: a session of its own, signals as a new process has them,
 * then the command. 127 when it is not found, 126 when it cannot run. */
static _Noreturn void run_app(const struct config *c)
{
	const char *path;
	sigset_t none;
	int err;

	if (setsid() < 0)
		warn_errno(errno, "setsid");
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		warn_errno(errno, "sigprocmask");
	exec_in_path(c->argv, c->envp, &path);
	err = errno;
	if (path)
		warn_errno(err, "exec %s (PATH=%s)", c->argv[0], path);
	else
		warn_errno(err, "exec %s", c->argv[0]);
	_exit(err == ENOENT ? 127 : 126);
}

static pid_t start_app(const struct config *c)
{
	pid_t pid = fork();

	if (pid < 0)
		die_errno(errno, "fork");
	if (pid == 0)
		run_app(c);
	return pid;
}

/* Reap every child that has ended; 1 when the app was one of them. */
static int reap(pid_t app, int *status)
{
	int found = 0, st;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno == ECHILD)
			return found;
		if (pid < 0)
			die_errno(errno, "waitpid");
		if (pid == 0)
			return found;
		if (pid == app) {
			*status = st;
			found = 1;
		}
	}
}

/* Wait for the app, with every signal still blocked: SIGCHLD means reap,
 * SIGTERM and SIGINT go on to the app. Returns its wait status. */
static int supervise(pid_t app)
{
	sigset_t set;
	int sig, status = 0;

	if (sigemptyset(&set) < 0 || sigaddset(&set, SIGCHLD) < 0 ||
	    sigaddset(&set, SIGTERM) < 0 || sigaddset(&set, SIGINT) < 0)
		die_errno(errno, "sigaddset");
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig < 0 && errno == EINTR)
			continue;
		if (sig < 0)
			die_errno(errno, "sigwaitinfo");
		if (sig == SIGCHLD) {
			if (reap(app, &status))
				return status;
			continue;
		}
		say("passing %s on to the app", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		if (kill(app, sig) < 0 && errno != ESRCH)
			warn_errno(errno, "kill %d", (int)app);
	}
}

static void report_status(int st)
{
	if (WIFEXITED(st))
		say("app exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		say("app exited with status %d (killed by signal %d: %s)",
		    128 + WTERMSIG(st), WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		say("app exited with wait status 0x%x", st);
}

int main(void)
{
	struct config cfg;
	pid_t app;

	block_signals();
	mount_devtmpfs();
	open_console();
	load_nsm();
	if (heartbeat_wanted())
		send_heartbeat();
	config_load(&cfg);
	switch_root("/rootfs");
	mount_devtmpfs();
	mount_all();
	loopback_up();
	enter_workdir(&cfg);
	app = start_app(&cfg);
	report_status(supervise(app));
	shut_down(RB_AUTOBOOT);
}
