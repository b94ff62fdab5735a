/* console.c: an enclave's serial console, line by line, split into the
 * app's output, the init's messages and the kernel's (console.h). */
#include "base/internal.h"

#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/text.h"
#include "cli.h"
#include "console.h"

/* init/msg.c writes this before every message, and init/init.c ends
 * with the status line; init.h points back here. */
#define INIT_PREFIX "eifkit-init: "
#define STATUS_MARK "app exited with status "
#define PANIC_MARK "Kernel panic - not syncing"

void console_init(struct console *c, enum console_mode mode)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->status = -1;
	c->out_fd = STDOUT_FILENO;
}

static int flush_out(struct console *c)
{
	int r = c->olen ? io_write_full(c->out_fd, c->out, c->olen) : 0;

	c->olen = 0;
	return r < 0 ? -1 : 0;
}

/* App bytes to stdout (not in CONSOLE_ALL, which copies the raw bytes). */
static int emit(struct console *c, const char *s, size_t n)
{
	if (c->mode == CONSOLE_ALL)
		return 0;
	while (n > 0) {
		size_t k = sizeof(c->out) - c->olen;

		if (k == 0 && flush_out(c) < 0)
			return -1;
		k = sizeof(c->out) - c->olen;
		k = n < k ? n : k;
		memcpy(c->out + c->olen, s, k);
		c->olen += k;
		s += k;
		n -= k;
	}
	return 0;
}

/* "[", blanks, digits, ".", digits, "]": the kernel's printk.time stamp.
 * 1: s starts with one; 0: s could be the start of one; -1: no. */
static int stamp(const char *s, size_t len)
{
	size_t i = 1, d;

	if (len == 0)
		return 0;
	if (s[0] != '[')
		return -1;
	while (i < len && s[i] == ' ')
		i++;
	for (d = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	if (i == len)
		return 0;
	if (!d || s[i++] != '.')
		return -1;
	for (d = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	if (i == len)
		return 0;
	return d && s[i] == ']' ? 1 : -1;
}

/* The kind of the line whose first len bytes are s; LINE_NEW while its
 * first bytes could still be either mark. complete: that is the line. */
static enum line_kind classify(const char *s, size_t len, bool complete)
{
	const size_t plen = sizeof(INIT_PREFIX) - 1;
	int ts = stamp(s, len);
	bool init_maybe = !memcmp(s, INIT_PREFIX, len < plen ? len : plen);

	if (ts == 1)
		return LINE_KERNEL;
	if (init_maybe && len >= plen)
		return LINE_INIT;
	if (!complete && len < CONSOLE_HEAD && (ts == 0 || init_maybe))
		return LINE_NEW;
	return LINE_APP;
}

static void init_line(struct console *c)
{
	const char *msg = c->line + sizeof(INIT_PREFIX) - 1;
	const char *p = msg + sizeof(STATUS_MARK) - 1;
	char esc[CONSOLE_LINE * 4];
	int v = 0;

	if (!strncmp(msg, STATUS_MARK, sizeof(STATUS_MARK) - 1) &&
	    *p >= '0' && *p <= '9' && c->len < sizeof(c->line) - 1) {
		for (; *p >= '0' && *p <= '9' && v < 1000; p++)
			v = v * 10 + (*p - '0');
		if (v <= 255)
			c->status = v;
		return;
	}
	snprintf(c->last_init, sizeof(c->last_init), "%s", msg);
	if (c->mode != CONSOLE_APP)
		return;
	/* the guest's bytes: escaped as every message is (the app's own
	 * output is not: it is the app's) */
	text_escape_fixed(esc, sizeof(esc), c->line, c->len,
			  TEXT_KEEP_SPACES | TEXT_KEEP_BACKSLASH);
	fprintf(stderr, "%s\n", esc);
}

static void kernel_line(struct console *c)
{
	const char *p = strstr(c->line, PANIC_MARK);

	if (p && !c->panic[0])
		snprintf(c->panic, sizeof(c->panic), "%s", p);
}

/* A byte of an app line. The init's prefix is looked for in it too: an
 * app whose output does not end in a newline leaves the init's status
 * line at the end of its own last line. */
static int app_byte(struct console *c, char b)
{
	const size_t plen = sizeof(INIT_PREFIX) - 1;
	int r = 0;

	if (b == INIT_PREFIX[c->held]) {
		if (++c->held < plen)
			return 0;
		c->held = 0;
		c->kind = LINE_INIT;
		memcpy(c->line, INIT_PREFIX, plen);
		c->len = plen;
		return flush_out(c);
	}
	if (c->held) {
		/* no character of the prefix starts it again */
		r = emit(c, INIT_PREFIX, c->held);
		c->held = 0;
		if (b == INIT_PREFIX[0]) {
			c->held = 1;
			return r;
		}
	}
	return r ? r : emit(c, &b, 1);
}

/* The line's first bytes turned out to be the app's. */
static int app_head(struct console *c)
{
	char head[CONSOLE_HEAD];
	size_t n = c->len;
	int r = 0;

	memcpy(head, c->line, n);
	c->kind = LINE_APP;
	c->len = 0;
	for (size_t i = 0; !r && i < n; i++) {
		if (c->kind == LINE_APP)
			r = app_byte(c, head[i]);
		else /* the init's prefix began inside the head */
			c->line[c->len++] = head[i];
	}
	return r;
}

static int app_held(struct console *c)
{
	int r = c->held ? emit(c, INIT_PREFIX, c->held) : 0;

	c->held = 0;
	return r;
}

static int end_line(struct console *c)
{
	int r = 0;

	if (c->kind == LINE_NEW && classify(c->line, c->len, true) == LINE_APP)
		r = app_head(c);
	else if (c->kind == LINE_NEW)
		c->kind = classify(c->line, c->len, true);
	c->line[c->len] = '\0';
	if (r) {
		return r;
	} else if (c->kind == LINE_APP) {
		r = app_held(c);
		r = r ? r : emit(c, "\n", 1);
	} else if (c->kind == LINE_INIT) {
		/* keep the order of stdout and stderr */
		r = flush_out(c);
		init_line(c);
	} else {
		kernel_line(c);
	}
	c->kind = LINE_NEW;
	c->len = 0;
	return r;
}

static int byte_in(struct console *c, char b)
{
	if (b == '\n')
		return end_line(c);
	if (c->kind == LINE_APP)
		return app_byte(c, b);
	if (c->len < sizeof(c->line) - 1)
		c->line[c->len++] = b;
	if (c->kind != LINE_NEW)
		return 0;
	if (classify(c->line, c->len, false) == LINE_APP)
		return app_head(c);
	c->kind = classify(c->line, c->len, false);
	return 0;
}

int console_feed(struct console *c, const char *buf, size_t n)
{
	c->bytes += n;
	if (c->mode == CONSOLE_ALL &&
	    io_write_full(c->out_fd, buf, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* the serial line ends lines in CR LF: LF is enough */
		if (c->cr) {
			c->cr = false;
			if (buf[i] != '\n' && byte_in(c, '\r') < 0)
				return -1;
		}
		if (buf[i] == '\r') {
			c->cr = true;
			continue;
		}
		if (byte_in(c, buf[i]) < 0)
			return -1;
	}
	return flush_out(c);
}

int console_end(struct console *c)
{
	if (c->cr && byte_in(c, '\r') < 0)
		return -1;
	c->cr = false;
	if (c->kind == LINE_NEW && c->len &&
	    classify(c->line, c->len, true) == LINE_APP && app_head(c) < 0)
		return -1;
	if (c->kind == LINE_NEW && c->len)
		c->kind = classify(c->line, c->len, true);
	if (c->kind == LINE_APP && app_held(c) < 0)
		return -1;
	/* an app line without its newline stays without one */
	if ((c->kind == LINE_INIT || c->kind == LINE_KERNEL) && end_line(c) < 0)
		return -1;
	c->kind = LINE_NEW;
	c->len = 0;
	return flush_out(c);
}
