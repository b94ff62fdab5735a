/* extsign_cmd.c: --signer 'COMMAND ARGS', a program that signs a digest.
 *
 * The command line is split on spaces and tabs and run with execvp, no
 * shell: what the user wrote is what runs. Characters a shell would
 * interpret (quotes, $, `, ;, |, &, <, >, globs, backslash) are refused
 * rather than passed on literally, so a line written for a shell fails at
 * once instead of running differently; such a signer is a script.
 *
 * The child gets the digest on stdin and pipes for stdout and stderr;
 * nothing else of eifkit's is open in it (close_range), so it can never
 * write into the EIF or eifkit's own output. It runs in its own process
 * group so that at the timeout, or when a signal ends eifkit, the whole
 * group (a script and what it started) is killed, and it is always
 * waited for: no zombie, no orphan left running by a timeout. */
#define _GNU_SOURCE
#include "base/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdio.h>
#include "cli.h"
#include "eif/sign.h"
#include "extsign.h"

#define SIGNER_ARGS_MAX 64
#define SIGNER_STDERR_MAX 4096

struct cmd_signer {
	char *line;  /* split in place: argv points into it */
	char *argv[SIGNER_ARGS_MAX + 1];
	unsigned timeout_s;
};

static volatile pid_t running_pgid; /* for the signal handler */

static void kill_running(void)
{
	pid_t pg = running_pgid;

	if (pg > 0)
		kill(-pg, SIGKILL);
}

const char *cmd_signer_check(const char *line)
{
	static const char shell_chars[] = "'\"\\$`;|&<>()*?[]{}\n\r";
	const char *p = line;

	if (strpbrk(line, shell_chars))
		return "--signer: the command is split on spaces and run without "
		       "a shell; quotes, $, ;, |, &, <, >, globs and backslashes "
		       "are refused (put such a command in a script)";
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return "--signer: empty command";
	return NULL;
}

static int split(struct cmd_signer *c)
{
	unsigned n = 0;
	char *p = c->line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (n == SIGNER_ARGS_MAX)
			return -1;
		c->argv[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	c->argv[n] = NULL;
	return n ? 0 : -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child, after fork: its own group, the three pipes as 0-2,
 * nothing else open, default signal state; status_fd (close-on-exec)
 * gets errno if exec fails. Only async-signal-safe calls. */
static void __attribute__((noreturn))
child(const struct cmd_signer *c, int in, int out, int errfd, int status_fd)
{
	sigset_t none;
	int e;

	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* a pipe may already be 0-2 if eifkit was started with them closed;
	 * dup2 onto itself keeps close-on-exec, hence the F_SETFDs */
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0 ||
	    dup2(status_fd, 3) < 0 || fcntl(0, F_SETFD, 0) < 0 ||
	    fcntl(1, F_SETFD, 0) < 0 || fcntl(2, F_SETFD, 0) < 0 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	close_range(4, ~0U, 0);
	execvp(c->argv[0], c->argv);
fail:
	e = errno;
	if (write(3, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Write the digest without dying of SIGPIPE if the child has already
 * exited: its exit status says what went wrong. */
static void feed(int fd, const uint8_t *d, size_t len)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0, 0 };

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	if (write(fd, d, len) < 0 && errno == EPIPE)
		sigtimedwait(&pipe_set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

struct capture {
	uint8_t *buf;
	size_t max, len;
	bool overflow;
};

static void take(int fd, struct capture *cap, int *open_fds, int *fdp)
{
	uint8_t tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(fd);
		*fdp = -1;
		(*open_fds)--;
		return;
	}
	if ((size_t)n > cap->max - cap->len) {
		cap->overflow = true;
		n = (ssize_t)(cap->max - cap->len);
	}
	memcpy(cap->buf + cap->len, tmp, (size_t)n);
	cap->len += (size_t)n;
}

/* Read stdout and stderr to their ends, then reap the child; false if
 * the deadline passed first (the caller kills it). */
static bool collect(pid_t pid, int out, int errfd, struct capture *o,
		    struct capture *e, int64_t deadline, int *status)
{
	int fds[2] = { out, errfd }, open_fds = 2;

	while (open_fds > 0) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 },
				       { fds[1], POLLIN, 0 } };
		int64_t left = deadline - now_ms();

		if (left <= 0)
			goto late;
		if (poll(p, 2, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			goto late;
		if (fds[0] >= 0 && p[0].revents)
			take(fds[0], o, &open_fds, &fds[0]);
		if (fds[1] >= 0 && p[1].revents)
			take(fds[1], e, &open_fds, &fds[1]);
	}
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		struct timespec ms10 = { 0, 10 * 1000 * 1000 };

		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR) {
			*status = -1; /* cannot happen: our own child */
			return true;
		}
		if (now_ms() >= deadline)
			break;
		nanosleep(&ms10, NULL);
	}
late:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return false;
}

/* The last non-empty line of the child's stderr, for the message. */
static void last_line(const struct capture *e, char *out, size_t size)
{
	size_t end = e->len, start;

	while (end > 0 && (e->buf[end - 1] == '\n' || e->buf[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && e->buf[start - 1] != '\n')
		start--;
	if (end - start >= size)
		end = start + size - 1;
	memcpy(out, e->buf + start, end - start);
	out[end - start] = '\0';
}

static int exit_error(const struct cmd_signer *c, int status,
		      const struct capture *e, struct ek_error *err)
{
	char line[200], why[64];

	last_line(e, line, sizeof(line));
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exited with status %d",
			 WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "was killed by signal %d",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return ek_fail(err, EK_ECRYPTO, "signer '%s' %s%s%s", c->argv[0], why,
		       line[0] ? ": " : "", line);
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

static int run_signer(void *ctx, const uint8_t *digest, size_t dlen,
		      uint8_t *sig, size_t sig_max, size_t *sig_len,
		      struct ek_error *err)
{
	const struct cmd_signer *c = ctx;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, ep[2] = { -1, -1 },
	    st[2] = { -1, -1 }, status = 0, exec_errno = 0;
	uint8_t ebuf[SIGNER_STDERR_MAX];
	struct capture o = { sig, sig_max, 0, false };
	struct capture e = { ebuf, sizeof(ebuf), 0, false };
	int64_t deadline = now_ms() + (int64_t)c->timeout_s * 1000;
	pid_t pid;
	bool done;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    pipe2(ep, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
		int rc = ek_fail_errno(err, EK_EIO, errno, "signer '%s': pipe",
				       c->argv[0]);

		close_pair(in);
		close_pair(out);
		close_pair(ep);
		close_pair(st);
		return rc;
	}
	cli_at_signal(kill_running);
	/* an ignored SIGCHLD (inherited) would reap the child for us and
	 * hide its exit status */
	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid == 0)
		child(c, in[0], out[1], ep[1], st[1]);
	close(in[0]);
	close(out[1]);
	close(ep[1]);
	close(st[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		close(ep[0]);
		close(st[0]);
		return ek_fail_errno(err, EK_EIO, errno, "signer '%s': fork",
				     c->argv[0]);
	}
	setpgid(pid, pid); /* also here: no race with a kill before exec */
	running_pgid = pid;
	if (read(st[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0; /* EOF: exec succeeded */
	close(st[0]);
	feed(in[1], digest, dlen);
	close(in[1]);
	done = collect(pid, out[0], ep[0], &o, &e, deadline, &status);
	if (!done) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	running_pgid = 0;
	if (exec_errno)
		return ek_fail_errno(err, EK_EINVAL, exec_errno,
				     "signer '%s': cannot run it", c->argv[0]);
	if (!done)
		return ek_fail(err, EK_ECRYPTO, "signer '%s' did not finish in "
			       "%u s (--signer-timeout): killed",
			       c->argv[0], c->timeout_s);
	if (status == -1)
		return ek_fail_errno(err, EK_EIO, ECHILD, "signer '%s': waitpid",
				     c->argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return exit_error(c, status, &e, err);
	if (o.overflow)
		return ek_fail(err, EK_ECRYPTO, "signer '%s' printed more than "
			       "%zu bytes: not a signature",
			       c->argv[0], sig_max);
	*sig_len = o.len;
	return 0;
}

static void release(void *ctx)
{
	struct cmd_signer *c = ctx;

	if (c)
		free(c->line);
	free(c);
}

int cmd_signer_load(const char *cert, const char *line, unsigned timeout_s,
		    struct ek_signer **ret, struct ek_error *err)
{
	struct cmd_signer *c = calloc(1, sizeof(*c));
	char what[300];

	if (!c || !(c->line = strdup(line))) {
		free(c);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	if (split(c)) {
		release(c);
		return ek_fail(err, EK_EINVAL, "--signer: an empty command or "
			       "more than %d words", SIGNER_ARGS_MAX);
	}
	c->timeout_s = timeout_s;
	snprintf(what, sizeof(what), "signer '%s'", c->argv[0]);
	return signer_load_external(cert, run_signer, release, c, what, ret,
				    err);
}
