/* msg.c: the init's console messages and its two ways to stop.
 *
 * Every message is one line, "eifkit-init: ...", written to stderr (the
 * console) with one write(2) so that lines from init and the app do not
 * interleave mid-line. A fatal error names what failed and the errno
 * name first ("mount /proc: ENODEV (No such device)"), then powers off:
 * init must never exit, since the kernel panics when PID 1 does.
 *
 * The prefix and init.c's "app exited with status N" are a contract with
 * `eifkit run` (src/cli/console.h), which tells the init's lines from the
 * app's by them and takes the status as its own exit status. */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#define MSG_MAX 1024
#define PREFIX "eifkit-init: "

#define E(n) [n] = #n
static const char *const errno_names[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
	E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES),
	E(EFAULT), E(ENOTBLK), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV),
	E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY),
	E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK),
	E(EPIPE), E(EDOM), E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK),
	E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENOMSG), E(ENODATA), E(ETIME),
	E(ENOLINK), E(EPROTO), E(EBADMSG), E(EOVERFLOW), E(ELIBBAD),
	E(EILSEQ), E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE),
	E(ENOPROTOOPT), E(EPROTONOSUPPORT), E(ESOCKTNOSUPPORT), E(EOPNOTSUPP),
	E(EPFNOSUPPORT), E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL),
	E(ENETDOWN), E(ENETUNREACH), E(ENETRESET), E(ECONNABORTED),
	E(ECONNRESET), E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ESHUTDOWN),
	E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTDOWN), E(EHOSTUNREACH),
	E(EALREADY), E(EINPROGRESS), E(ESTALE), E(EDQUOT), E(ECANCELED),
	E(ENOKEY), E(EKEYEXPIRED), E(EKEYREVOKED), E(EKEYREJECTED),
};
#undef E

const char *errno_name(int err)
{
	if (err > 0 && (size_t)err < ARRAY_SIZE(errno_names))
		return errno_names[err];
	return NULL;
}

/* Write all of buf to stderr; a console that fails leaves us nothing
 * better to do, so the result is deliberately not acted on. */
static void put(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* prefix + fmt + (": ENAME (strerror)" when err) + "\n" */
static void vemit(int err, const char *fmt, va_list ap)
{
	char buf[MSG_MAX];
	size_t len = sizeof(PREFIX) - 1;
	const char *name = errno_name(err);
	int n;

	memcpy(buf, PREFIX, len);
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	len = n < 0 ? len : len + (size_t)n;
	if (err && len < sizeof(buf)) {
		n = name ? snprintf(buf + len, sizeof(buf) - len, ": %s (%s)",
				    name, strerror(err))
			 : snprintf(buf + len, sizeof(buf) - len, ": E%d (%s)",
				    err, strerror(err));
		len = n < 0 ? len : len + (size_t)n;
	}
	if (len > sizeof(buf) - 1) /* truncated: keep the newline */
		len = sizeof(buf) - 1;
	buf[len++] = '\n';
	put(buf, len);
}

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(0, fmt, ap);
	va_end(ap);
}

void warn_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(err, fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(0, fmt, ap);
	va_end(ap);
	shut_down(RB_POWER_OFF);
}

void die_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(err, fmt, ap);
	va_end(ap);
	shut_down(RB_POWER_OFF);
}

/* Bounded, unlike tcdrain(): a console nobody reads must not stop the
 * enclave from ending. Not a tty (ENOTTY, EINVAL): nothing to wait for. */
void drain_console(void)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int queued;

	for (int i = 0; i < 100; i++) {
		if (ioctl(STDERR_FILENO, TIOCOUTQ, &queued) < 0 || queued <= 0)
			return;
		nanosleep(&tick, NULL);
	}
}

void shut_down(int how)
{
	drain_console();
	if (reboot(how) < 0)
		warn_errno(errno, "reboot");
	/* Still here: never return, because PID 1 exiting panics the
	 * kernel, which with panic=N reboots it N seconds later anyway. */
	for (;;)
		pause();
}
